"""Citations: sources numbered [1]..[k], markers checked against what was retrieved, quotes found in the chunks."""

import re

from pydantic import BaseModel

from rag.keyword import tokenize
from rag.types import Chunk, Hit

MARKER = re.compile(r"\[(\d{1,2})\]")
SENTENCE_END = re.compile(r"(?<=[.?!…])[\"'”’)\]]*\s+|\n+")
MIN_SENTENCE = 8


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


def sentence_spans(text: str) -> list[Span]:
    """Sentences and list items of a chunk with their exact offsets; headings and very short bits are skipped."""
    spans: list[Span] = []
    pos = 0
    for piece in SENTENCE_END.split(text):
        start = text.find(piece, pos) if piece else -1
        if start < 0:
            continue
        pos = start + len(piece)
        stripped = piece.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        # drop list bullets and the quotes of example lines, keep the words exactly as written
        offset = len(body) - len(body.lstrip("-*•> \"“'"))
        body = body[offset:]
        if len(body) < MIN_SENTENCE:
            continue
        begin = start + lead + offset
        spans.append(Span(start=begin, end=begin + len(body), text=body))
    return spans


def best_quote(claim: str, chunk: Chunk) -> str:
    """The chunk sentence that shares the most content words with `claim` (the whole chunk start if none)."""
    words = set(tokenize(claim))
    best, best_score = None, 0.0
    for span in sentence_spans(chunk.text):
        if span.text in claim or claim in span.text:
            return span.text
        shared = len(words & set(tokenize(span.text)))
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


def renumber(text: str, used: list[int]) -> str:
    """Renumber markers by order of first use, so the first source cited is always [1]."""
    mapping = {old: new for new, old in enumerate(used, start=1)}
    return MARKER.sub(lambda m: f"[{mapping[int(m.group(1))]}]" if int(m.group(1)) in mapping else "", text)


def claims_citing(text: str, n: int) -> str:
    """The sentences of `text` that carry marker [n], for finding the quote that supports them."""
    sentences = re.split(r"(?<=[.?!])\s+|\n+", text)
    return " ".join(s for s in sentences if f"[{n}]" in s) or text


def build_citations(text: str, hits: list[Hit], used: list[int]) -> list[Citation]:
    """Citation records for the used source numbers (1-based positions in `hits`), numbered by first use."""
    out = []
    for new, old in enumerate(used, start=1):
        hit = hits[old - 1]
        chunk = hit.chunk
        out.append(Citation(n=new, chunk_id=chunk.chunk_id, title=chunk.title, source=chunk.source,
                            doc_type=chunk.doc_type, category=chunk.category, version=chunk.version,
                            updated=chunk.updated, score=round(hit.score, 4),
                            quote=best_quote(MARKER.sub("", claims_citing(text, old)), chunk)))
    return out
