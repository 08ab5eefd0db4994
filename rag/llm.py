"""OpenAI-compatible chat client (llama-index OpenAILike) with streaming, timeouts, retries, a circuit breaker and a cache."""

import logging
import time
from typing import Iterator

from rag.errors import ConfigError, PartnersError
from rag.llm_cache import LLMCache, NullCache, cache_key

log = logging.getLogger(__name__)
MIN_CALL = 0.2  # seconds: less is not worth a request


class LLMUnavailableError(PartnersError):
    """The model did not answer in time (or is failing); callers fall back to the extractive answer."""

    code = "llm_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The language model is unavailable ({reason}). The extractive answer is shown instead; "
                         "check PARTNERS_LLM_BASE_URL and that the server is running.")
        self.reason = reason


def _transient(exc: BaseException) -> bool:
    """Worth retrying: connection problems, timeouts, 429 and 5xx; not 4xx such as a wrong key or model."""
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


class OpenAICompatibleLLM:
    """Streams chat completions; the whole call (retries included) stays within `timeout` seconds."""

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None, timeout: float = 20.0,
                 retries: int = 2, cache: LLMCache | None = None, breaker_failures: int = 3,
                 breaker_reset: float = 30.0) -> None:
        import pybreaker
        from llama_index.llms.openai_like import OpenAILike

        self.model = model
        self.name = f"openai:{model}"
        self.timeout = timeout
        self.retries = retries
        self.cache = cache or NullCache()
        self.breaker = pybreaker.CircuitBreaker(fail_max=breaker_failures, reset_timeout=breaker_reset,
                                                exclude=[lambda e: not _transient(e)])
        self._client = OpenAILike(model=model, api_base=base_url, api_key=api_key or "not-needed",
                                  is_chat_model=True, max_retries=0, timeout=timeout / (retries + 1),
                                  temperature=0.1)

    def stream(self, messages: list[dict[str, str]], *, prompt_version: str,
               deadline: float | None = None) -> Iterator[str]:
        """Text pieces of the reply. Raises LLMUnavailableError on timeout, repeated failure or an open breaker.

        `deadline` (`time.monotonic()`): an earlier end than `timeout` from now, when this call shares one budget with
        an earlier one (a chat turn's rewrite and its answer, `rag.answer.ask_stream`)."""
        import pybreaker

        key = cache_key(self.model, prompt_version, messages)
        cached = self.cache.get(key)
        if cached is not None:
            yield cached
            return
        deadline = min(time.monotonic() + self.timeout, deadline or float("inf"))
        if deadline - time.monotonic() < MIN_CALL:
            raise LLMUnavailableError(f"no time left of the {self.timeout:g} s this turn may wait for the model")
        try:
            first, rest = self.breaker.call(self._open, messages, deadline)
        except pybreaker.CircuitBreakerError as exc:
            raise LLMUnavailableError("circuit open after repeated failures") from exc
        except Exception as exc:
            raise LLMUnavailableError(_describe(exc)) from exc
        pieces = [first]
        yield first
        try:
            for response in rest:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no complete answer within {self.timeout:g} s")
                piece = response.delta or ""
                if piece:
                    pieces.append(piece)
                    yield piece
        except Exception as exc:
            try:
                self.breaker.call(_reraise, exc)
            except Exception:
                pass
            raise LLMUnavailableError(_describe(exc)) from exc
        self.cache.set(key, "".join(pieces))

    def _open(self, messages: list[dict[str, str]], deadline: float):
        """Start the stream and wait for its first piece, retrying transient failures with backoff."""
        from llama_index.core.llms import ChatMessage
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_before_delay, wait_exponential

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        remaining = max(deadline - time.monotonic(), 0.1)
        for attempt in Retrying(stop=stop_after_attempt(self.retries + 1) | stop_before_delay(remaining),
                                wait=wait_exponential(multiplier=0.2, max=2.0),
                                retry=retry_if_exception(_transient), reraise=True):
            with attempt:
                # each attempt waits at most its share of the timeout, and never past the deadline
                wait = min(self.timeout / (self.retries + 1), deadline - time.monotonic())
                stream = self._client.stream_chat(chat, timeout=max(wait, MIN_CALL))
                for response in stream:
                    if response.delta:
                        return response.delta, stream
                return "", iter(())
        raise TimeoutError("no attempt made")  # unreachable: Retrying re-raises the last error


def _reraise(exc: BaseException) -> None:
    raise exc


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    return f"HTTP {status}" if status else f"{exc.__class__.__name__}: {exc}"[:200]


def build_llm(settings) -> OpenAICompatibleLLM:
    """The configured `openai:<model>` client with its cache."""
    from rag.llm_cache import open_cache

    model = settings.llm.split(":", 1)[1]
    if not settings.llm_base_url and not settings.llm_api_key:
        raise ConfigError(f"PARTNERS_LLM={settings.llm} needs PARTNERS_LLM_BASE_URL (vLLM, Ollama: "
                          "http://127.0.0.1:11434/v1) or PARTNERS_LLM_API_KEY for OpenAI.")
    return OpenAICompatibleLLM(model, base_url=settings.llm_base_url, api_key=settings.llm_api_key,
                               timeout=settings.llm_timeout, retries=settings.llm_retries,
                               cache=open_cache(settings.llm_cache, settings.data_dir))
