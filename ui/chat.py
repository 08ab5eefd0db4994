"""The 질문하기 tab: streamed cited answers, the source panel, follow-up questions, per-stage latency."""

import logging
from typing import Iterator

from rag.answer import Answer
from rag.errors import PartnersError
from ui import messages as M
from ui.render import error_box, esc, korean_error, sources_panel, with_chips

log = logging.getLogger(__name__)


def answer_html(answer: Answer, prefix: str) -> str:
    """A grounded answer with chips; a refusal in its own style with related terms to try; small talk's reply plain."""
    if answer.small_talk:
        return f'<div class="answer small-talk">{esc(answer.answer)}</div>'
    if not answer.grounded:
        hint = ""
        if answer.suggestions:
            hint = f'<div class="refusal-hint">{esc(M.REFUSED_HINT)}: {esc(" · ".join(answer.suggestions))}</div>'
        return (f'{understood(answer)}<div class="refusal"><b>{esc(M.REFUSED_TITLE)}</b><br>'
                f'{esc(answer.answer)}{hint}</div>')
    titles = {c.n: c.title for c in answer.citations}
    notice = f'<div class="notice">{esc(answer.notice)}</div>' if answer.notice else ""
    return f'{understood(answer)}{notice}<div class="answer">{with_chips(answer.answer, prefix, titles)}</div>'


def understood(answer: Answer) -> str:
    """The names read as meant ("헤지환급금 → 해지환급금") and the chat turn as the LLM rewrote it to stand alone,
    shown above the answer so the partner can tell a misreading at once; nothing when the turn was searched as
    typed."""
    lines = []
    if answer.respelled:
        fixes = ", ".join(f"{said} → {meant}" for said, meant in answer.respelled.items())
        lines.append(f'<div class="understood">{esc(M.RESPELLED)}: {esc(fixes)}</div>')
    if answer.rewritten and answer.rewritten.strip() != answer.question.strip():
        lines.append(f'<div class="understood">{esc(M.UNDERSTOOD)}: {esc(answer.rewritten)}</div>')
    return "".join(lines)


def latency_line(timings: dict[str, float]) -> str:
    line = M.LATENCY.format(retrieve=timings.get("retrieve", 0.0), generate=timings.get("generate", 0.0),
                            total=timings.get("total", 0.0))
    return M.LATENCY_CONDENSE.format(condense=timings["condense"]) + line if "condense" in timings else line


class ChatHandler:
    """Gradio callbacks of the chat tab; `services` is rag.service.Services (or a test double with the same calls)."""

    def __init__(self, services) -> None:
        self.services = services

    def respond(self, question: str, history: list | None, turns: list | None) -> Iterator[tuple]:
        """Yields (question box, chat history, source panel, latency line, turns) while the answer streams."""
        history, turns = list(history or []), list(turns or [])
        prefix = f"a{len(turns)}"
        history.append({"role": "user", "content": esc(question or "")})
        history.append({"role": "assistant", "content": esc(M.GENERATING)})
        previous = [t["question"] for t in turns if t.get("question")]
        panel, latency, asked = sources_panel([], {}, prefix), "", None
        yield "", history, panel, latency, turns
        try:
            text = ""
            for event in self.services.ask_stream(question, history=previous):
                if isinstance(event, Answer):
                    asked = event
                    break
                text += event
                history[-1] = {"role": "assistant", "content": esc(text)}
                yield "", history, panel, latency, turns
            if asked is None:
                raise PartnersError("ask_stream ended without an answer")
            history[-1] = {"role": "assistant", "content": answer_html(asked, prefix)}
            chunks = self.services.retriever.index.docstore.get_chunks([c.chunk_id for c in asked.citations])
            panel = (sources_panel(asked.citations, chunks, prefix) if asked.grounded or asked.small_talk
                     else _refusal_panel(asked))
            latency = latency_line(asked.timings_ms)
        except Exception as exc:  # a partner sees Korean text, never a stack trace; the log keeps the details
            if not isinstance(exc, PartnersError):
                log.exception("question failed")
            history[-1] = {"role": "assistant", "content": error_box(korean_error(exc))}
        turns.append({"question": asked.question if asked else None, "panel": panel, "latency": latency})
        yield "", history, panel, latency, turns

    def select(self, turns: list | None, index) -> tuple[str, str]:
        """Clicking an earlier message shows that answer's sources again."""
        turns = list(turns or [])
        position = index[0] if isinstance(index, (list, tuple)) else index
        if not turns or position is None:
            return sources_panel([], {}, "a"), ""
        turn = turns[min(int(position) // 2, len(turns) - 1)]
        return turn["panel"], turn["latency"]

    @staticmethod
    def clear() -> tuple:
        return [], sources_panel([], {}, "a0"), "", []


def _refusal_panel(answer: Answer) -> str:
    terms = "".join(f"<li>{esc(t)}</li>" for t in answer.suggestions)
    hint = f"<p>{esc(M.REFUSED_HINT)}</p><ul>{terms}</ul>" if terms else ""
    return f'<div class="sources refused"><h4>{esc(M.REFUSED_TITLE)}</h4>{hint}</div>'
