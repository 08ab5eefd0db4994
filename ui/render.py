"""HTML for the app: citation chips, the source panel, highlighted spans. All text is escaped before it is marked up."""

import html
import re

from rag.cite import MARKER, Citation
from rag.errors import IndexNotFoundError, IngestLockedError, InputValidationError, PartnersError
from rag.types import Chunk
from ui import messages as M

CONTEXT_CHARS = 120  # characters shown either side of a quote in the panel's excerpt
GROUPED_CONTEXT = 30  # the same, in an entry that quotes its chunk more than once
HEADING_LINE = re.compile(r"^#{1,6}[ \t]+(.+)$", re.M)  # a Markdown heading line of a chunk ("## 정의")


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def chip(prefix: str, n: int, title: str = "") -> str:
    """A clickable `[n]` linking to the panel entry `#<prefix>-<n>`; the page script opens it (the chat's HTML
    sanitizer keeps `href` and `class`, not `data-*`). Nothing for 0: a finding whose guideline is not in the index."""
    if n < 1:
        return ""
    return f'<a class="cite-chip" href="#{esc(prefix)}-{n}" title="{esc(title)}">{n}</a>'


def with_chips(text: str, prefix: str, titles: dict[int, str] | None = None) -> str:
    """Escaped text whose `[n]` markers are chips."""
    titles = titles or {}
    return MARKER.sub(lambda m: chip(prefix, int(m.group(1)), titles.get(int(m.group(1)), "")), esc(text))


def headings(marked: str) -> str:
    """Escaped, marked chunk text with its Markdown heading lines shown as headings, not as "## 정의". A quote never
    holds a heading (headings are not sentences), so no <mark> is cut."""
    return HEADING_LINE.sub(r'<span class="cite-heading">\1</span>', marked)


def highlight(text: str, *quotes: str) -> str:
    """Escaped text with the first occurrence of each quote in <mark> (quotes that overlap a marked one are skipped)."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        at = text.find(quote) if quote else -1
        if at >= 0 and not any(at < end and start < at + len(quote) for start, end in spans):
            spans.append((at, at + len(quote)))
    out, pos = [], 0
    for start, end in sorted(spans):
        out += [esc(text[pos:start]), f"<mark>{esc(text[start:end])}</mark>"]
        pos = end
    return headings("".join(out) + esc(text[pos:]))


def excerpt(text: str, quote: str, width: int = CONTEXT_CHARS) -> str:
    """The quote highlighted with a little context either side (the panel entry's preview). The context starts at a
    line or a word and stops at one: "G10-2. 감액기간…" is not shown as "…0-2. 감액기간…"."""
    at = text.find(quote) if quote else -1
    if at < 0:
        end = _word_end(text, 0, 2 * width)
        return headings(esc(text[:end]) + ("…" if end < len(text) else ""))
    start, end = max(0, at - width), _word_end(text, at + len(quote), at + len(quote) + width)
    if start and not text[start - 1].isspace():
        start = _word_start(text, start, at)
    while start < at and text[start].isspace():
        start += 1
    return headings(("…" if start else "") + esc(text[start:at]) + f"<mark>{esc(quote)}</mark>"
                    + esc(text[at + len(quote):end]) + ("…" if end < len(text) else ""))


def _word_start(text: str, start: int, high: int) -> int:
    """`start`, moved on to the next line (if it begins in the first half of the way to `high`) or word."""
    line, space = text.find("\n", start, high), text.find(" ", start, high)
    cut = line if 0 <= line < start + (high - start) // 2 or space < 0 else space
    return cut + 1 if cut >= 0 else start


def _word_end(text: str, low: int, end: int) -> int:
    """`end`, moved back to the last line break (if it ends the second half of the way from `low`) or space."""
    if end >= len(text) or text[end].isspace():
        return min(end, len(text))
    line, space = text.rfind("\n", low, end), text.rfind(" ", low, end)
    cut = line if line > low + (end - low) // 2 else space
    return cut if cut > low else end


def meta_line(c: Citation) -> str:
    parts = [esc(M.DOC_TYPES.get(c.doc_type, c.doc_type or M.DOC_TYPES["other"]))]
    if c.category:
        parts.append(esc(c.category))
    parts.append(f"<code>{esc(c.source)}</code>")
    if c.version:
        parts.append(f"{M.VERSION} {esc(c.version)}")
    if c.updated:
        parts.append(f"{M.UPDATED} {esc(c.updated)}")
    if c.score:
        parts.append(f"{M.SCORE} {c.score:.3f}")
    return " · ".join(parts)


def sources_panel(citations: list[Citation], chunks: dict[str, Chunk], prefix: str) -> str:
    """One entry per cited chunk: its numbers, metadata, each quote highlighted in context, and the full chunk behind a
    toggle. An answer cites a chunk once per sentence it supports ([1] and [3] quote two sentences of one chunk): the
    entry carries every such number, so each chip finds it."""
    if not citations:
        return f'<div class="sources-empty">{esc(M.SOURCES_EMPTY)}</div>'
    by_chunk: dict[str, list[Citation]] = {}
    for c in citations:
        by_chunk.setdefault(c.chunk_id, []).append(c)
    entries = []
    for group in by_chunk.values():
        first = group[0]
        chunk = chunks.get(first.chunk_id)
        full = chunk.text if chunk else " … ".join(c.quote for c in group)
        # the entry's id is its first number's; a later number is an anchor inside it
        numbers = "".join(f'<span class="cite-num"{_anchor(prefix, c.n) if c is not first else ""}>{c.n}</span>'
                          for c in group)
        if len(group) == 1:
            quotes = f'<div class="cite-excerpt">{excerpt(full, first.quote)}</div>'
        else:  # the full chunk is one click away: each quote gets a little context only
            quotes = "".join(f'<div class="cite-excerpt"><sup>{c.n}</sup> '
                             f"{excerpt(full, c.quote, GROUPED_CONTEXT)}</div>" for c in group)
        entries.append(
            f'<div class="cite-entry" id="{esc(prefix)}-{first.n}">'
            f'<div class="cite-head">{numbers} <b class="cite-title">{esc(first.title)}</b></div>'
            f'<div class="cite-meta">{meta_line(first)}</div>{quotes}'
            f'<details class="cite-full"><summary>{esc(M.OPEN_FULL)}</summary>'
            f'<div class="cite-chunk">{highlight(full, *(c.quote for c in group))}</div></details></div>')
    return f'<div class="sources" data-prefix="{esc(prefix)}"><h4>{esc(M.SOURCES_HEADING)}</h4>{"".join(entries)}</div>'


def _anchor(prefix: str, n: int) -> str:
    return f' id="{esc(prefix)}-{n}"'


def korean_error(exc: Exception) -> str:
    """What a partner reads for an error: specific for input limits, generic (and logged by the caller) otherwise."""
    from rag.missions.term import UnknownTermError

    if isinstance(exc, InputValidationError):
        if exc.reason == "no_partner_lines":
            return M.NO_PARTNER_LINES
        if exc.reason == "unknown_scenario":
            return M.UNKNOWN_SCENARIO
        n, (low, high) = exc.length or 0, exc.limit or (0, 0)
        if exc.field == "question":
            return M.QUESTION_TOO_LONG.format(high=high, n=n) if n else M.EMPTY_QUESTION
        what = M.FIELD_NAMES.get(exc.field, "입력이")
        return (M.TOO_SHORT if n < low else M.TOO_LONG).format(what=what, low=low, high=high, n=n)
    if isinstance(exc, UnknownTermError):
        return M.UNKNOWN_TERM.format(term=exc.term, closest=", ".join(exc.closest) or "-")
    if isinstance(exc, IndexNotFoundError):
        return M.INDEX_MISSING
    if isinstance(exc, IngestLockedError):
        return M.INGEST_LOCKED
    if isinstance(exc, PartnersError) and getattr(exc, "korean", None):
        return exc.korean
    return M.INTERNAL_ERROR


def error_box(message: str) -> str:
    return f'<div class="error-box" role="alert">{esc(message)}</div>'
