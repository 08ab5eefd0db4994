"""Indexes an eval run compares: our collection, a foreign corpus in its own collection, or throwaway chunking variants."""

import hashlib
import json
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from pydantic import BaseModel, Field, ValidationError, model_validator

from rag.errors import PartnersError

# Benchmarks kept beside the repo (evaluation only, never copied into corpus/): name -> (folder, questions, corpus).
EXTERNAL_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
EXTERNAL = {"autorag-ko": ("autorag-ko", "questions.jsonl", "corpus_pages")}
MARKER = "eval-corpus.json"  # beside a corpus collection: which folder and chunking it was built from
CHUNKING_FORM = "size=800,overlap=100"


class Chunking(BaseModel):
    """Characters per chunk and characters shared by neighbours (the bounds of Settings.chunk_size/chunk_overlap)."""

    size: int = Field(ge=100, le=8000)
    overlap: int = Field(0, ge=0, le=2000)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "Chunking":
        if self.overlap >= self.size:
            raise ValueError("overlap must be smaller than size")
        return self

    @property
    def label(self) -> str:
        return f"{self.size}/{self.overlap}"


def parse_chunking(text: str) -> Chunking:
    """`size=800,overlap=100` (overlap optional, default 0) as a Chunking.

    Raises:
        PartnersError: any other form, or values outside 100 <= size <= 8000, 0 <= overlap < size.
    """
    bad = f"--chunking {text!r}: give it as {CHUNKING_FORM} (repeat --chunking to compare several)."
    fields: dict[str, int] = {}
    for part in str(text).split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("size", "overlap") or key in fields:
            raise PartnersError(bad)
        try:
            fields[key] = int(value.strip())
        except ValueError:
            raise PartnersError(bad) from None
    if "size" not in fields:
        raise PartnersError(bad)
    try:
        return Chunking(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        reason = (f"{where}: " if where else "") + err["msg"].removeprefix("Value error, ")
        raise PartnersError(f"--chunking {text!r}: {reason}; e.g. {CHUNKING_FORM}.") from None


def settings_chunking(settings) -> Chunking:
    return Chunking(size=settings.chunk_size, overlap=settings.chunk_overlap)


def external_dataset(name: str, root: Path = EXTERNAL_ROOT) -> tuple[Path, Path] | None:
    """(questions file, corpus folder) of a known external benchmark; None when `name` is not one.

    Raises:
        PartnersError: the name is known but its files are not under `root`.
    """
    if name not in EXTERNAL:
        return None
    folder, questions, corpus = EXTERNAL[name]
    base = root / folder
    if not (base / questions).is_file() or not (base / corpus).is_dir():
        raise PartnersError(f"Dataset {name!r} expects {base / questions} and {base / corpus}/, which are missing. "
                            "Put the benchmark there, or pass --questions FILE.jsonl --corpus DIR.")
    return base / questions, base / corpus


def external_name(questions: Path, root: Path = EXTERNAL_ROOT) -> str | None:
    """The alias of an external benchmark whose question file this is (so results say `autorag-ko`, not `questions`)."""
    resolved = questions.resolve()
    for name, (folder, file, _) in EXTERNAL.items():
        if (root / folder / file).resolve() == resolved:
            return name
    return None


def corpus_collection(path: Path) -> str:
    """`corpus-<slug>-<8 hex of sha1(resolved path)>`: one collection per folder, valid under Chroma's name rule."""
    resolved = path.resolve()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.name).strip("._-")[:24].strip("._-") or "dir"
    return f"corpus-{slug}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"


@dataclass
class EvalIndex:
    """One index an eval run searches, and how it was built."""

    settings: object  # rag.settings.Settings bound to this index's data dir and collection
    chunking: Chunking
    corpus: Path | None = None  # None: the configured collection as it is
    report: object | None = None  # the IngestReport when this run (re-)ingested the corpus
    temporary: bool = False

    def describe(self) -> dict:
        return {"corpus": str(self.corpus) if self.corpus else None, "collection": self.settings.collection,
                "chunking": self.chunking.model_dump(), "temporary": self.temporary}


def ensure_corpus_index(corpus: Path, settings, *, embedder, progress=None) -> EvalIndex:
    """`corpus` ingested into its own collection under the data dir; unchanged files are not embedded again.

    A collection built with another chunking is rebuilt (the docstore does not record chunking, so a marker does).
    """
    from ingest.pipeline import run_ingest

    root = check_corpus(corpus)
    bound = settings.model_copy(update={"collection": corpus_collection(root)})
    chunking = settings_chunking(settings)
    marker = bound.index_dir / MARKER
    wanted = {"corpus": str(root), "chunking": chunking.model_dump()}
    previous = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else None
    report = run_ingest([root], bound, rebuild=previous is not None and previous != wanted, embedder=embedder,
                        progress=progress)
    require_chunks(report, root)
    marker.write_text(json.dumps(wanted, ensure_ascii=False), encoding="utf-8")
    return EvalIndex(bound, chunking, root, report)


@contextmanager
def chunking_index(corpus: Path, settings, chunking: Chunking, *, embedder, progress=None) -> Iterator[EvalIndex]:
    """A throwaway local index of `corpus` chunked as `chunking`, in a temporary data dir removed on exit."""
    from ingest.pipeline import run_ingest

    root = check_corpus(corpus)
    with tempfile.TemporaryDirectory(prefix="partners-chunking-") as tmp:
        bound = settings.model_copy(update={
            "data_dir": Path(tmp), "collection": f"chunking-s{chunking.size}-o{chunking.overlap}",
            "chunk_size": chunking.size, "chunk_overlap": chunking.overlap, "chroma_host": None})
        report = run_ingest([root], bound, embedder=embedder, progress=progress)
        require_chunks(report, root)
        yield EvalIndex(bound, chunking, root, report, temporary=True)


def iter_indexes(settings, *, corpus: Path | None = None, chunkings: Sequence[Chunking] = (), embedder,
                 progress=None) -> Iterator[EvalIndex]:
    """The indexes to evaluate, one at a time (a temporary one is removed before the next is built).

    Without chunkings: the corpus collection (with `corpus`) or the configured collection. With chunkings: one
    temporary index per chunking of `corpus`, or of the shipped corpus folder when no corpus is given.
    """
    if not chunkings:
        if corpus is None:
            yield EvalIndex(settings, settings_chunking(settings))
        else:
            yield ensure_corpus_index(corpus, settings, embedder=embedder, progress=progress)
        return
    for chunking in chunkings:
        with chunking_index(corpus or settings.corpus_dir, settings, chunking, embedder=embedder,
                            progress=progress) as index:
            yield index


def check_corpus(corpus: Path) -> Path:
    root = Path(corpus).expanduser().resolve()
    if not root.is_dir():
        raise PartnersError(f"--corpus {corpus}: no such folder. Give a folder of .md, .txt, .pdf, .docx, .csv or "
                            ".json files.")
    return root


def require_chunks(report, root: Path) -> None:
    if report.chunks_total == 0:
        reasons = "; ".join(f.error for f in report.failed[:3]) or "no supported files"
        raise PartnersError(f"Nothing could be ingested from {root} ({reasons}).")
