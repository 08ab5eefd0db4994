"""A small local HTTP server that speaks the OpenAI chat-completions API (streaming too), scripted per request."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedOpenAIServer:
    """Each request takes the next queued behaviour (the last one repeats):
    {"text": str, "status": int, "delay": seconds before answering, "chunk_delay": seconds between stream pieces,
    "responder": callable(request body) -> reply text (instead of "text"; e.g. JSON computed from the prompt)}.
    Requests are recorded (path and JSON body)."""

    def __init__(self) -> None:
        self.behaviours: list[dict] = [{"text": "기본 응답입니다 [1]"}]
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                return None

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "body": body})
                    behaviour = server.behaviours.pop(0) if len(server.behaviours) > 1 else server.behaviours[0]
                time.sleep(behaviour.get("delay", 0))
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found"}})
                status = behaviour.get("status", 200)
                if status != 200:
                    return self._json(status, {"error": {"message": f"scripted {status}", "type": "server_error"}})
                responder = behaviour.get("responder")
                text = responder(body) if responder is not None else behaviour.get("text", "")
                if body.get("stream"):
                    return self._stream(body.get("model", "m"), text, behaviour.get("chunk_delay", 0))
                return self._json(200, {
                    "id": "cmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, model, text, chunk_delay):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = [text[i : i + 8] for i in range(0, len(text), 8)] or [""]
                try:
                    for i, piece in enumerate(pieces):
                        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                        self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model,
                                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                        time.sleep(chunk_delay)
                    self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model,
                                 "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)
                self.close_connection = True

            def _event(self, payload):
                self.wfile.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "ScriptedOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *behaviours: dict) -> None:
        with self._lock:
            self.behaviours = list(behaviours)
            self.requests.clear()

    @property
    def chat_requests(self) -> int:
        return sum(r["path"].endswith("/chat/completions") for r in self.requests)
