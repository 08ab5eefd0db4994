"""Split Documents into Chunks: Markdown-header aware, then recursive with Korean sentence endings."""

import hashlib
import logging
from datetime import datetime, timezone

from rag.types import Chunk, Document

log = logging.getLogger(__name__)
HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
# Korean prose ends sentences with 다./요./까? before a space; keep the ending with its sentence.
SEPARATORS = ["\n## ", "\n### ", "\n\n", "\n", "다. ", "요. ", ". ", "? ", "! ", ", ", " ", ""]
MIN_SECTION = 80  # a smaller header section (a lone title line) is merged into the next one


def chunk_document(doc: Document, *, size: int, overlap: int, ingested_at: str | None = None) -> list[Chunk]:
    """Chunks of one document; a document no longer than `size` stays one chunk."""
    ingested_at = ingested_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    if len(doc.text) <= size:
        pieces = [("", doc.text)]
    else:
        pieces = _split(doc.text, size=size, overlap=overlap)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    asked = section_questions(doc, [section for section, _ in pieces])
    for index, (section, text) in enumerate(pieces):
        questions = asked.get(index, [])
        key = "\x00".join([doc.doc_id, doc.title, section, text, *questions])  # what the vector is made of
        seen[key] = seen.get(key, 0) + 1  # identical pieces in one document still get distinct ids
        chunk_id = hashlib.sha256(f"{key}\x00{seen[key]}".encode()).hexdigest()[:32]
        chunks.append(
            Chunk(
                chunk_id=chunk_id, doc_id=doc.doc_id, text=text, title=doc.title, source=doc.source,
                doc_type=doc.doc_type, category=doc.category, section=section, version=doc.version,
                updated=doc.updated, aliases=doc.aliases, questions=questions, chunk_index=index, ingested_at=ingested_at,
                content_hash=hashlib.sha256(text.encode()).hexdigest()[:16],
            )
        )
    return chunks


def section_questions(doc: Document, sections: list[str]) -> dict[int, list[str]]:
    """Which piece carries which questions: the document's on the first piece, a section's on the first piece of
    that section. A key names a heading whole or by its start up to a space or a full stop (`G14-4` for
    "G14-4. 반론 처리: …"); a key that names no heading puts its questions on the first piece, with a warning."""
    asked: dict[int, list[str]] = {0: list(doc.questions)} if doc.questions else {}
    if len(sections) == 1:  # one chunk answers everything its document does
        return {0: [*doc.questions, *(q for qs in doc.section_questions.values() for q in qs)]}
    for key, questions in doc.section_questions.items():
        index = next((i for i, section in enumerate(sections)
                      if section == key or (section.startswith(key) and section[len(key):][:1] in (" ", "."))), None)
        if index is None:
            log.warning("%s: questions for section %r, which has no heading of that name; they go with the "
                        "document's first chunk", doc.source, key)
            index = 0
        asked.setdefault(index, []).extend(questions)
    return asked


def _split(text: str, *, size: int, overlap: int) -> list[tuple[str, str]]:
    from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

    sections = MarkdownHeaderTextSplitter(HEADERS, strip_headers=False).split_text(text)
    merged: list[tuple[str, str]] = []
    carry = ""
    for part in sections:
        body = (carry + "\n\n" + part.page_content).strip() if carry else part.page_content.strip()
        heading = part.metadata.get("h3") or part.metadata.get("h2") or part.metadata.get("h1") or ""
        if len(body) < MIN_SECTION:
            carry = body
            continue
        carry = ""
        merged.append((heading, body))
    if carry:
        if merged:
            heading, body = merged[-1]
            merged[-1] = (heading, body + "\n\n" + carry)
        else:
            merged.append(("", carry))
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=min(overlap, size // 2), separators=SEPARATORS, keep_separator="end"
    )
    pieces: list[tuple[str, str]] = []
    for heading, body in merged:
        if len(body) <= size:
            pieces.append((heading, body))
        else:
            pieces.extend((heading, piece.strip()) for piece in splitter.split_text(body) if piece.strip())
    return pieces
