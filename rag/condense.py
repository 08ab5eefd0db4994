"""With an LLM configured, a chat turn is first rewritten into a question that stands alone (condense-question), and
that question is what is searched: "중간에 깨면 얼마 받아요?" after a 종신보험 question becomes "종신보험을 중간에
해지하면 얼마를 돌려받나요?". The offline rules of `rag.answer.contextualize` cannot fill in an aspect like that.

The rewrite is only a search query: it is checked (one line, a question's length, not an answer) and the turn is then
grounded, refused or answered exactly as any question is. When the model is down or says something unusable, the
offline rules take over.
"""

import logging
import re

from rag.prompt import load_prompt

log = logging.getLogger(__name__)
HISTORY_TURNS = 3  # the previous questions the model sees, newest last
LEAD = re.compile(r"^\s*(?:[-*•]\s*|(?:바꾼|재작성한|다시 쓴)\s*질문\s*[:：]\s*|마지막 질문\s*[:：]\s*)+")
QUOTES = "\"'“”‘’「」『』`"
HANGUL = re.compile(r"[가-힣]")


class Condenser:
    """Rewrites a chat turn with the configured LLM (`OpenAICompatibleLLM`), through the versioned `condense` prompt;
    the LLM's cache, retries, timeout and circuit breaker apply."""

    def __init__(self, llm, max_chars: int = 2000) -> None:
        self.llm = llm
        self.prompt = load_prompt("condense")
        self.max_chars = max_chars

    @property
    def timeout(self) -> float:
        """Seconds the model may take for a turn, the rewrite and the answer together."""
        return self.llm.timeout

    @property
    def label(self) -> str:
        """Who rewrites, as eval runs record it: `openai:<model> condense@1.0`."""
        return f"{self.llm.name} {self.prompt.ref}"

    def rewrite(self, question: str, history: list[str], *, deadline: float | None = None) -> str | None:
        """The turn as a question that stands alone, or None when there is no history or the model's text is not
        one. Raises `LLMUnavailableError` when the model is down or too slow (`deadline`: see
        `OpenAICompatibleLLM.stream`)."""
        previous = [q.strip() for q in history if q and q.strip()][-HISTORY_TURNS:]
        if not previous:
            return None
        messages = self.prompt.render(history=previous, question=question)
        text = "".join(self.llm.stream(messages, prompt_version=self.prompt.ref, deadline=deadline))
        rewritten = clean(text)
        if rewritten is None or len(rewritten) > min(self.max_chars, 3 * len(question) + 200):
            log.warning("condense: unusable rewrite %r of %r; the offline follow-up rules are used", text[:200],
                        question)
            return None
        return rewritten


def clean(text: str) -> str | None:
    """The rewritten question from the model's text: its first non-empty line, without a "바꾼 질문:" lead, bullets
    or quotes; None when nothing Korean is left or the text reads as an answer with source numbers."""
    line = next((line for line in (text or "").splitlines() if line.strip()), "")
    line = LEAD.sub("", line).strip().strip(QUOTES).strip()
    if not HANGUL.search(line) or re.search(r"\[\d+\]", line):
        return None
    return line
