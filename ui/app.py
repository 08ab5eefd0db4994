"""Gradio app: built by build_app() (tests drive it), launched by launch() on loopback."""

import html
import logging
import time

from rag.errors import IndexNotFoundError
from rag.settings import Settings
from ui import messages as M

log = logging.getLogger(__name__)
MAX_QUESTION = 2000


def answer_question(retriever, question: str, k: int = 5) -> str:
    """Markdown for one question: the retrieved passages with numbered sources (HTML in text is escaped)."""
    question = (question or "").strip()
    if not question:
        return M.EMPTY_QUESTION
    if len(question) > MAX_QUESTION:
        return M.QUESTION_TOO_LONG.format(limit=MAX_QUESTION, length=len(question))
    started = time.perf_counter()
    result = retriever.search(question, k=k)
    total_ms = (time.perf_counter() - started) * 1000
    if not result.hits:
        return M.NO_RESULTS
    lines = [f"**{M.SOURCES_HEADING}**", ""]
    for hit in result.hits:
        chunk = hit.chunk
        snippet = html.escape(" ".join(chunk.text.split())[:300])
        lines.append(f"[{hit.rank}] **{html.escape(chunk.title)}** · `{html.escape(chunk.source)}` "
                     f"· 관련도 {hit.score:.3f}\n\n> {snippet}\n")
    t = result.timings_ms
    lines.append(M.LATENCY.format(retrieve=t.get("total", 0.0), total=total_ms))
    return "\n".join(lines)


def build_app(retriever):
    """The Blocks app around an already-loaded retriever (models and indexes load once, before the first question)."""
    import gradio as gr

    with gr.Blocks(title=M.TITLE) as app:
        gr.Markdown(f"# {M.TITLE}\n{M.SUBTITLE}")
        chat = gr.Chatbot(label=M.CHAT_LABEL, height=520, elem_id="chat")
        with gr.Row():
            box = gr.Textbox(placeholder=M.INPUT_PLACEHOLDER, show_label=False, scale=8, elem_id="question")
            send = gr.Button(M.SEND, variant="primary", scale=1, elem_id="send")
        gr.Examples(M.EXAMPLES, inputs=box)
        handler = make_respond(retriever)
        box.submit(handler, [box, chat], [box, chat])
        send.click(handler, [box, chat], [box, chat])
    app.queue(default_concurrency_limit=4)
    return app


def make_respond(retriever):
    """The chat event handler: (question, history) -> ("", history with the exchange appended)."""

    def respond(question, history):
        history = list(history or [])
        try:
            reply = answer_question(retriever, question)
        except IndexNotFoundError:
            reply = M.INDEX_MISSING
        except Exception:  # a partner sees a Korean message, never a stack trace; the log keeps the details
            log.exception("question failed")
            reply = M.INTERNAL_ERROR
        history += [{"role": "user", "content": html.escape(question or "")},
                    {"role": "assistant", "content": reply}]
        return "", history

    return respond


def launch(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860) -> None:
    from rag.embed import get_embedder
    from rag.index import Index
    from rag.retrieve import Retriever

    retriever = Retriever(Index(settings), get_embedder(settings.embedder))
    retriever.search("보험", k=1)  # load Kiwi, BM25 and Chroma before the first partner arrives
    build_app(retriever).launch(server_name=host, server_port=port, share=False, show_error=False)
