"""Answer generators behind one Protocol: `extractive` (offline, default) and `openai:<model>` (any compatible server)."""

import re
from typing import Iterator, Protocol

from rag.cite import PARTNER_NAMES, SPEAKER, Span, sentence_spans, speaker
from rag.errors import UnknownBackendError
from rag.keyword import tokenize
from rag.prompt import Prompt, load_prompt
from rag.retrieve import chunk_label
from rag.types import Hit

VALID_FORMS = ["extractive", "openai:<model>"]
BACKGROUND_SECTIONS = {"상황"}
BAD_EXAMPLE = ("나쁜 예", "잘못된 예")  # a guideline's example of what not to say
DEFINITION_CUE = re.compile(r"뭐|뭔|무슨|뜻|의미|개념|이란|란\b|차이|이름|부르")
HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.M)


class Generator(Protocol):
    """Writes an answer from numbered sources: every claim carries `[n]`, n = the source's 1-based position."""

    name: str
    prompt_version: str

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        """Pieces of the answer as they are produced."""
        ...


class ExtractiveGenerator:
    """Composes the answer from the sources' best sentences, each followed by its `[n]`; adds no words of its own."""

    name = "extractive"
    prompt_version = "extractive@1.0"

    def __init__(self, max_sentences: int = 3, max_chars: int = 420, sources: int = 4) -> None:
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.sources = sources

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        picked = self.pick(question, hits)
        for i, (n, sentence) in enumerate(picked):
            yield ("" if i == 0 else " ") + f"{sentence} [{n}]"

    def pick(self, question: str, hits: list[Hit]) -> list[tuple[int, str]]:
        """(source number, sentence) pairs, best first: query-word overlap, source rank, definitions first."""
        words = set(tokenize(question))
        wants_definition = bool(DEFINITION_CUE.search(question))
        scored: list[tuple[float, int, int, str]] = []
        for n, hit in enumerate(hits[: self.sources], start=1):
            chunk = hit.chunk
            named = chunk.title in question or any(a and a in question for a in chunk.aliases)
            for position, span in enumerate(sentence_spans(chunk.text)):
                sentence = answer_part(chunk.text, span)
                if not sentence:
                    continue
                tokens = set(tokenize(sentence))
                overlap = len(words & tokens) / (len(words) ** 0.5 * max(len(tokens), 1) ** 0.25 or 1)
                score = overlap + 0.3 / n
                if (chunk.doc_type == "term" and chunk.chunk_index == 0 and position == 0
                        and (named or n == 1 or (wants_definition and n == 2))):
                    score += 0.6  # a term's first sentence is its definition
                scored.append((score, n, position, sentence))
        scored.sort(key=lambda s: (-s[0], s[1], s[2]))
        picked: list[tuple[int, str]] = []
        length = 0
        for score, n, _, sentence in scored:
            if len(picked) >= self.max_sentences or (picked and score <= 0.3 / self.sources):
                break
            if length + len(sentence) > self.max_chars and picked:
                continue
            if any(sentence in s or s in sentence for _, s in picked):
                continue
            picked.append((n, sentence))
            length += len(sentence)
        return picked


def section(text: str, position: int) -> str:
    """The heading of the chunk section that holds `position` ("" before any heading)."""
    headings = HEADING.findall(text, 0, position)
    return headings[-1].strip() if headings else ""


def answer_part(text: str, span: Span) -> str | None:
    """What of a chunk sentence can stand in an answer, word for word. A customer's line never does (it is a
    question or an objection), nor a guideline's bad example, nor a script's setting (it tells the situation, not
    what to do in it); of "오해: … → 사실: …" only the correction stands; of a partner's line, what is said."""
    sentence = span.text
    if section(text, span.start) in BACKGROUND_SECTIONS:
        return None
    line = text[text.rfind("\n", 0, span.start) + 1:span.end].lstrip("-*•> ")
    if line.startswith(BAD_EXAMPLE):
        return None
    who = speaker(text, span.start)
    if who is not None and who not in PARTNER_NAMES:
        return None
    if sentence.startswith("오해:"):
        fact = sentence.find("사실:")
        return sentence[fact + len("사실:"):].strip() or None if fact >= 0 else None
    said = SPEAKER.match(sentence)
    return sentence[said.end():].strip() or None if said else sentence


class LLMGenerator:
    """An LLM writes the answer from the versioned `answer` prompt; citations are checked by the caller."""

    def __init__(self, llm, prompt: Prompt | None = None) -> None:
        self.llm = llm
        self.prompt = prompt or load_prompt("answer")
        self.name = llm.name
        self.prompt_version = self.prompt.ref

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        messages = self.prompt.render(question=question, sources=numbered_sources(hits))
        yield from self.llm.stream(messages, prompt_version=self.prompt_version)


def numbered_sources(hits: list[Hit]) -> list[dict]:
    """What a prompt shows: `[n] 해지환급금 (corpus/terms/해지환급금.md, v1)` and the chunk text."""
    return [{"n": n, "label": chunk_label(h.chunk), "text": h.chunk.text} for n, h in enumerate(hits, start=1)]


def get_generator(settings) -> Generator:
    """`extractive` or `openai:<model>` (with PARTNERS_LLM_BASE_URL / PARTNERS_LLM_API_KEY)."""
    spec = settings.llm.strip()
    if spec == "extractive":
        return ExtractiveGenerator()
    if spec.startswith("openai:") and spec[len("openai:"):]:
        from rag.llm import build_llm

        return LLMGenerator(build_llm(settings))
    raise UnknownBackendError("PARTNERS_LLM", spec, VALID_FORMS)
