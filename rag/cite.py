"""Citations: sources numbered [1]..[k], markers checked against what was retrieved, quotes found in the chunks."""

import re

from pydantic import BaseModel

from rag.keyword import token_set, tokenize
from rag.types import Chunk, Hit

MARKER = re.compile(r"\[(\d{1,2})\]")
SENTENCE_END = re.compile(r"(?<=[.?!…])[\"'”’)\]]*\s+")
LINE = re.compile(r"[^\n]+")
MIN_SENTENCE = 8
SPEAKER = re.compile(r"^\s*(설계사|FC|파트너|상담사|고객|손님)\s*[:：]\s*", re.M)  # a line of a dialogue
PARTNER_NAMES = {"설계사", "FC", "파트너", "상담사"}
WRAPPING = {('"', '"'), ("“", "”")}
MYTH = re.compile(r"^오해\s*:\s*(.+?)\s*→\s*(?:사실\s*:\s*)?(.+)$", re.S)  # a term document's "오해: … → 사실: …"


class Span(BaseModel):
    """A sentence of a chunk: `chunk.text[start:end] == text`."""

    start: int
    end: int
    text: str


class Citation(BaseModel):
    n: int
    chunk_id: str
    title: str
    source: str
    doc_type: str = ""
    category: str = ""
    version: str = ""
    updated: str = ""
    score: float = 0.0
    quote: str  # an exact substring of the chunk's text

    @classmethod
    def of(cls, n: int, chunk: Chunk, quote: str, score: float = 1.0) -> "Citation":
        """Citation [n] of `chunk`, with what a reader needs to open it."""
        return cls(n=n, chunk_id=chunk.chunk_id, title=chunk.title, source=chunk.source, doc_type=chunk.doc_type,
                   category=chunk.category, version=chunk.version, updated=chunk.updated, score=round(score, 4),
                   quote=quote)


def sentence_spans(text: str) -> list[Span]:
    """Sentences and list items of a chunk with their exact offsets; headings (whole lines, "### G08-4. …" included)
    and very short bits are skipped."""
    spans: list[Span] = []
    for line in LINE.finditer(text):
        if line.group().lstrip().startswith("#"):
            continue
        pos = line.start()
        for piece in SENTENCE_END.split(line.group()):
            start = text.find(piece, pos) if piece else -1
            if start < 0:
                continue
            pos = start + len(piece)
            body = piece.strip()
            if not body:
                continue
            lead = len(piece) - len(piece.lstrip())
            # drop list bullets and the quotes of example lines, keep the words exactly as written
            offset = len(body) - len(body.lstrip("-*•> "))
            offset += len(unmatched_opening(body[offset:]))
            body = body[offset:]
            body = body[:len(body) - len(unmatched_closing(body))]
            if len(body) > 2 and (body[0], body[-1]) in WRAPPING and body[0] not in body[1:-1]:
                offset, body = offset + 1, body[1:-1]  # a whole line in quotes: an example of what to say
            if len(body) < MIN_SENTENCE:
                continue
            begin = start + lead + offset
            spans.append(Span(start=begin, end=begin + len(body), text=body))
    return spans


def unmatched_opening(body: str) -> str:
    """The quote mark starting `body` when it opens a quote that closes after it (an example line's first sentence)."""
    if body[:1] == '"' and body.count('"') % 2 == 1:
        return '"'
    if body[:1] in "“‘" and body.count("”" if body[0] == "“" else "’") == 0:
        return body[0]
    return ""


def unmatched_closing(body: str) -> str:
    """The quote marks ending `body` that close a quote opened before it ('…고려하셔야 해요."' ends an example)."""
    tail = body[len(body.rstrip("\"”’")):]
    if not tail:
        return ""
    opened = body.count("“") + body.count("‘") + body[:len(body) - len(tail)].count('"')
    return tail if opened % 2 == 0 and "“" not in body else ""


def split_myth(sentence: str) -> tuple[str, str] | None:
    """(myth, correction) of a "오해: … → 사실: …" sentence, None for any other sentence."""
    found = MYTH.match(sentence.strip())
    return (found.group(1).strip(), found.group(2).strip()) if found else None


def speaker(text: str, position: int) -> str | None:
    """Who says the line of `text` that holds `position` (설계사, 고객 …), None outside a dialogue line."""
    match = SPEAKER.match(text, text.rfind("\n", 0, position) + 1)
    return match.group(1) if match else None


def best_quote(claim: str, chunk: Chunk) -> str:
    """The claim itself when the chunk holds it word for word, else the chunk sentence that shares the most content
    words with it (the whole chunk start if none)."""
    claim = claim.strip()
    if len(claim) >= MIN_SENTENCE and claim in chunk.text:
        return claim
    words = set(tokenize(claim))
    best, best_score = None, 0.0
    for span in sentence_spans(chunk.text):
        if span.text in claim or claim in span.text:
            return span.text
        shared = len(words & token_set(span.text))
        score = shared / (len(words) or 1)
        if score > best_score:
            best, best_score = span, score
    if best is not None:
        return best.text
    spans = sentence_spans(chunk.text)
    return spans[0].text if spans else chunk.text[:200]


def check_citations(text: str, n_sources: int) -> tuple[str, list[int]]:
    """Remove markers that name no retrieved source; returns the cleaned text and the valid numbers in order of use."""
    used: list[int] = []

    def keep(match: re.Match) -> str:
        n = int(match.group(1))
        if 1 <= n <= n_sources:
            if n not in used:
                used.append(n)
            return match.group(0)
        return ""

    cleaned = MARKER.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,?!])", r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), used


LEADING_MARKERS = re.compile(r"(?:\s*\[\d{1,2}\])+")
CLAIM_END = re.compile(r"(?:(?<=[.?!…])|(?<=[.?!…][\"'”’)]))\s+|\n+")  # '… 있어요." [1]' ends a claim too


def claim_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each claim: a sentence with the markers that follow it ("…이다. [1] 다음 문장" gives [1] to the
    first sentence, not the next one)."""
    spans: list[list[int]] = []
    pos = 0
    for match in CLAIM_END.finditer(text):
        spans.append([pos, match.start()])
        pos = match.end()
    spans.append([pos, len(text)])
    for before, span in zip(spans, spans[1:]):
        lead = LEADING_MARKERS.match(text, span[0])
        if lead:
            before[1] = span[0] = lead.end()
    out = []
    for start, end in spans:
        piece = text[start:end]
        if piece.strip():
            out.append((start + len(piece) - len(piece.lstrip()), end))
    return out


def cite_claims(text: str, hits: list[Hit]) -> tuple[str, list[Citation]]:
    """Renumber checked markers by first use and build their citations. A number stands for one span of one source:
    each claim gets the quote of its source that supports it, so two claims citing different sentences of the same
    chunk get two numbers, each opening its own quote. `text` must have passed `check_citations`."""
    numbers: dict[tuple[int, str], int] = {}
    citations: list[Citation] = []
    out: list[str] = []
    pos = 0
    for start, end in claim_spans(text):
        claim = MARKER.sub("", text[start:end]).strip()
        seen: set[int] = set()

        def number(match: re.Match) -> str:
            hit = hits[int(match.group(1)) - 1]
            quote = best_quote(claim, hit.chunk)
            key = (int(match.group(1)), quote)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(Citation.of(numbers[key], hit.chunk, quote, hit.score))
            n = numbers[key]
            if n in seen:  # "[1][1]" or two markers of one quote in a claim: cite it once
                return ""
            seen.add(n)
            return f"[{n}]"

        out.append(text[pos:start])
        out.append(MARKER.sub(number, text[start:end]))
        pos = end
    out.append(text[pos:])
    cleaned = re.sub(r"[ \t]+([.,?!])", r"\1", "".join(out))
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), citations
