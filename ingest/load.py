"""Load files into Documents: Markdown with front matter, text, PDF, DOCX, CSV/JSON/JSONL rows; Korean encodings."""

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from rag.errors import DocumentError
from rag.types import Document

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
ROW_SUFFIXES = {".csv", ".json", ".jsonl"}
SUPPORTED = TEXT_SUFFIXES | ROW_SUFFIXES | {".pdf", ".docx"}
DOC_TYPES = {"terms": "term", "scripts": "script", "guidelines": "guideline"}
TITLE_KEYS = ("title", "제목", "name", "term", "용어", "question", "질문")
TEXT_KEYS = ("text", "content", "body", "본문", "내용", "definition", "정의", "answer", "답변")


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    source: str  # shown to people and used in doc ids: the path from the ingest root's parent

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def discover(paths: list[Path], anchors: list[Path] = ()) -> tuple[list[SourceFile], list[Path]]:
    """Supported files under `paths` (recursive, hidden files skipped), and the unsupported ones that were named.

    A file's source name is its path from the folder that holds the named root (`corpus/terms/x.md` for `corpus`),
    or, inside one of `anchors` (the corpus and uploads folders), from the folder that holds the anchor: so
    `partners ingest corpus/terms/x.md` names the file as a whole-corpus ingest does, and it stays the same document
    of the same type."""
    found: dict[Path, SourceFile] = {}
    unsupported: list[Path] = []
    anchors = [a.resolve() for a in anchors]
    for root in paths:
        root = root.resolve()
        if not root.exists():
            raise DocumentError(f"{root} does not exist. Check the path given to `partners ingest`.")
        base = next((a.parent for a in anchors if a == root or a in root.parents), root.parent)
        if root.is_file():
            candidates = [root]
        else:
            candidates = sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root)))
        for path in candidates:
            if path.suffix.lower() in SUPPORTED:
                found.setdefault(path, SourceFile(path, path.relative_to(base).as_posix()))
            elif root.is_file():
                unsupported.append(path)
    return sorted(found.values(), key=lambda s: s.source), unsupported


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), then CP949/EUC-KR, then a detector's guess; binary and mojibake are refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Windows "Unicode" text)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{name}: looks binary (NUL bytes); save it as UTF-8 text, Markdown, PDF or DOCX.")
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.chaos >= 0.1 or "\ufffd" in str(best):
        raise DocumentError(f"{name}: cannot decode the text (not UTF-8 or CP949/EUC-KR); re-save it as UTF-8.")
    return str(best)


def split_front_matter(text: str, name: str) -> tuple[dict, str]:
    """YAML front matter between leading `---` lines, and the body after it."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines(keepends=True)
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            raw, body = "".join(lines[1:i]), "".join(lines[i + 1 :])
            break
    else:
        raise DocumentError(f"{name}: front matter starts with --- but never closes; add a closing --- line.")
    try:
        meta = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where else ""
        raise DocumentError(f"{name}: malformed front matter{line}: {getattr(exc, 'problem', exc)}.") from exc
    if not isinstance(meta, dict):
        raise DocumentError(f"{name}: front matter must be `key: value` lines, got {type(meta).__name__}.")
    return meta, body


def load_file(src: SourceFile, data: bytes, *, max_bytes: int) -> list[Document]:
    """Documents of one file; raises DocumentError with a fix-it reason for any file we cannot use."""
    name = src.source
    if len(data) > max_bytes:
        raise DocumentError(
            f"{name}: {len(data) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit; split the file or raise "
            "PARTNERS_MAX_FILE_MB."
        )
    if not data.strip():
        raise DocumentError(f"{name}: the file is empty.")
    suffix = src.path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        docs = [_text_document(src, decode_text(data, name))]
    elif suffix == ".pdf":
        docs = [_plain_document(src, _pdf_text(data, name))]
    elif suffix == ".docx":
        docs = [_plain_document(src, _docx_text(data, name))]
    else:
        docs = _row_documents(src, decode_text(data, name))
    for doc in docs:
        if not doc.text.strip():
            raise DocumentError(f"{name}: no text in {doc.doc_id} after the front matter.")
    return docs


def _doc_type(src: SourceFile, meta: dict) -> str:
    declared = str(meta.get("type", "")).strip()
    if declared in {"term", "script", "guideline", "other"}:
        return declared
    for part in Path(src.source).parts[:-1]:
        if part in DOC_TYPES:
            return DOC_TYPES[part]
    return "other"


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _questions(value) -> tuple[list[str], dict[str, list[str]]]:
    """`questions:` is a YAML list (a question may contain commas) or one question: the questions the document
    answers. Or a mapping from a section heading (or its rule code, `G14-4`) to the questions that section answers."""
    if isinstance(value, dict):
        sections = {str(k).strip(): _questions(v)[0] for k, v in value.items() if str(k).strip()}
        return [], {k: v for k, v in sections.items() if v}
    if value is None:
        return [], {}
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else [str(value)]
    return [str(q).strip() for q in items if str(q).strip()], {}


def _text_document(src: SourceFile, text: str) -> Document:
    meta, body = split_front_matter(text, src.source) if src.path.suffix.lower() != ".txt" else ({}, text)
    title = str(meta.get("title") or _first_heading(body) or src.path.stem).strip()
    known = {"title", "category", "version", "updated", "aliases", "related", "questions", "type"}
    questions, section_questions = _questions(meta.get("questions"))
    return Document(
        doc_id=src.source,
        source=src.source,
        title=title,
        text=body.strip(),
        doc_type=_doc_type(src, meta),
        category=str(meta.get("category") or meta.get("product") or ""),
        version=str(meta.get("version", "")),
        updated=str(meta.get("updated", "")),
        aliases=_as_list(meta.get("aliases")),
        related=_as_list(meta.get("related")),
        questions=questions,
        section_questions=section_questions,
        extra={k: json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
               for k, v in meta.items() if k not in known},
    )


def _plain_document(src: SourceFile, text: str) -> Document:
    title = _first_heading(text) or src.path.stem
    return Document(doc_id=src.source, source=src.source, title=title, text=text.strip(), doc_type=_doc_type(src, {}))


def _first_heading(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise DocumentError(f"{name}: not a readable PDF ({exc}); re-export it from the original.") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise DocumentError(f"{name}: the PDF has no extractable text (scanned image?); add a text layer (OCR).")
    return text


def _docx_text(data: bytes, name: str) -> str:
    import zipfile

    from docx import Document as DocxFile

    try:
        docx = DocxFile(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{name}: not a readable DOCX file; re-save it from Word.") from exc
    lines = []
    for para in docx.paragraphs:
        style = (para.style.name or "").lower() if para.style is not None else ""
        text = para.text.strip()
        if text and style.startswith("heading"):
            level = "".join(ch for ch in style if ch.isdigit()) or "1"
            text = "#" * min(int(level), 3) + " " + text
        lines.append(text)
    return "\n".join(lines)


def _row_documents(src: SourceFile, text: str) -> list[Document]:
    suffix = src.path.suffix.lower()
    name = src.source
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    elif suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DocumentError(f"{name}: line {n} is not valid JSON ({exc.msg}).") from exc
    else:
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
        rows = loaded.get("documents", loaded.get("items")) if isinstance(loaded, dict) else loaded
        if not isinstance(rows, list):
            raise DocumentError(f"{name}: expected a list of objects or {{\"documents\": [...]}}.")
    if not rows:
        raise DocumentError(f"{name}: no rows.")
    docs = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DocumentError(f"{name}: row {n} is not an object with fields.")
        docs.append(_row_document(src, row, n))
    return docs


def _pick(row: dict, keys: tuple[str, ...]) -> str | None:
    lowered = {str(k).strip().lower(): k for k in row}
    for key in keys:
        if key in lowered and str(row[lowered[key]] or "").strip():
            return lowered[key]
    return None


def _row_document(src: SourceFile, row: dict, n: int) -> Document:
    title_key = _pick(row, TITLE_KEYS)
    text_key = _pick(row, TEXT_KEYS)
    if text_key:
        text = str(row[text_key])
    else:
        text = "\n".join(f"{k}: {v}" for k, v in row.items() if k != title_key and str(v or "").strip())
    row_id = str(row.get("id") or n)
    return Document(
        doc_id=f"{src.source}#{row_id}",
        source=f"{src.source}#{row_id}",
        title=str(row[title_key]).strip() if title_key else f"{src.path.stem} #{n}",
        text=text.strip(),
        doc_type=_doc_type(src, row),
        category=str(row.get("category") or row.get("분류") or ""),
        version=str(row.get("version") or ""),
        updated=str(row.get("updated") or ""),
        aliases=_as_list(row.get("aliases")),
    )
