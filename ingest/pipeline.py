"""`partners ingest`: find what changed since the last run and bring every index to match the files."""

import hashlib
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from ingest.chunk import chunk_document
from ingest.embed import Progress
from ingest.load import SourceFile, discover, file_hash, load_file
from ingest.store import DocChange, IndexWriter, Plan
from rag.docstore import DocStore
from rag.embed import get_embedder
from rag.errors import DocumentError, EmbedderMismatchError, IngestLockedError
from rag.index import IndexLayout, hnsw_params
from rag.settings import Settings
from rag.store import ChromaStore, open_client
from rag.types import FailedSource, IngestReport


def run_ingest(paths: list[Path], settings: Settings, *, rebuild: bool = False, embedder=None,
               progress: Progress | None = None) -> IngestReport:
    """Ingest `paths` into the configured collection, incrementally.

    Args:
        paths: files or folders; documents that were ingested from under them and are gone now are deleted.
        settings: data dir, collection, embedder, chunking, Chroma location.
        rebuild: start from an empty index (built beside the live one, which keeps answering until the swap).
        embedder: an already-built embedder (the UI and tests reuse one); by default built from settings on demand.
        progress: called with (done, total, stage) while embedding.

    Raises:
        IngestLockedError: another ingest holds the lock.
        EmbedderMismatchError: the index was built with another embedder and `rebuild` is off.
    """
    started = time.perf_counter()
    layout = IndexLayout(settings.index_dir, settings.collection)
    layout.root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(layout.lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IngestLockedError(layout.lock_path) from None
    try:
        report = _ingest_locked(paths, settings, layout, rebuild, embedder, progress)
    finally:
        lock.release()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _ingest_locked(paths, settings: Settings, layout: IndexLayout, rebuild: bool, embedder, progress) -> IngestReport:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    live = layout.current()
    client_box: dict[str, object] = {}

    def client():
        if "c" not in client_box:
            client_box["c"] = open_client(settings.chroma_path, settings.chroma_host, settings.chroma_port)
        return client_box["c"]

    # Generations other than the live one are leftovers of an interrupted rebuild.
    for gen in layout.generations():
        if gen != live:
            layout.remove_generation(gen, client())
    staged = rebuild or live is None
    gen = layout.new_generation() if staged else live
    docstore = DocStore(layout.docstore_path(gen))
    try:
        built_with = docstore.get_meta("embedder")
        spec = getattr(embedder, "name", None) or settings.embedder
        if built_with and built_with != spec:
            raise EmbedderMismatchError(built_with, int(docstore.get_meta("dim", "0")), spec)
        metadata = {"embedder": spec, "partners_generation": gen}
        writer = IndexWriter(
            layout, gen, docstore,
            open_vectors=lambda: ChromaStore(client(), layout.chroma_name(gen), create=True,
                                             hnsw=hnsw_params(settings), metadata=metadata),
            get_embedder=lambda: embedder or get_embedder(settings.embedder),
            embedder_spec=spec,
        )
        report = IngestReport()
        if writer.needs_recovery():
            writer.recover(progress)
            report.recovered = True
        plan = plan_changes(paths, docstore, settings, report, now)
        if plan.empty():
            writer.ensure_keyword_index()
        else:
            report.chunks_embedded = writer.apply(plan, now, progress)
        report.chunks_total = docstore.chunk_count()
    finally:
        docstore.close()
    if staged:
        layout.set_current(gen)
        if live:
            layout.remove_generation(live, client())
    return report


def plan_changes(paths: list[Path], docstore: DocStore, settings: Settings, report: IngestReport, now: str) -> Plan:
    """Compare files on disk with the docstore; fills the counters of `report`."""
    sources, unsupported = discover(paths, settings.ingest_roots())
    for path in unsupported:
        report.failed.append(FailedSource(
            source=str(path), error=f"{path.name}: unsupported file type; use .md .txt .pdf .docx .csv .json .jsonl"))
    roots = [p.resolve() for p in paths]
    known = docstore.file_hashes()
    plan = Plan()
    seen: set[str] = set()
    for src in sources:
        key = str(src.path)
        seen.add(key)
        try:
            data = src.read_bytes()
        except OSError as exc:
            report.failed.append(FailedSource(source=src.source, error=f"{src.source}: cannot read ({exc.strerror})."))
            continue
        digest = file_hash(data)
        if known.get(key) == digest:
            report.unchanged += len(docstore.docs_of_file(key))
            continue
        try:
            docs = load_file(src, data, max_bytes=settings.max_file_bytes)
        except DocumentError as exc:
            report.failed.append(FailedSource(source=src.source, error=str(exc)))
            continue
        _plan_file(src, docs, digest, docstore, settings, plan, report, now)
    for path in known:
        if path not in seen and _under(Path(path), roots):
            gone = docstore.docs_of_file(path)
            plan.removed_docs.extend(gone)
            plan.removed_files.append(path)
            report.deleted += len(gone)
    return plan


def _plan_file(src: SourceFile, docs, digest: str, docstore: DocStore, settings: Settings, plan: Plan,
               report: IngestReport, now: str) -> None:
    key = str(src.path)
    before = docstore.docs_of_file(key)
    ids = [d.doc_id for d in docs]
    if len(set(ids)) != len(ids):
        report.failed.append(FailedSource(source=src.source, error=f"{src.source}: two rows share one id."))
        return
    plan.files[key] = (src.source, digest)
    for doc in docs:
        doc_hash = hashlib.sha256(doc.model_dump_json().encode()).hexdigest()
        if before.get(doc.doc_id) == doc_hash:
            report.unchanged += 1
            continue
        if doc.doc_id in before:
            report.updated += 1
        else:
            report.added += 1
        chunks = chunk_document(doc, size=settings.chunk_size, overlap=settings.chunk_overlap, ingested_at=now)
        plan.changes.append(DocChange(doc=doc, path=key, doc_hash=doc_hash, chunks=chunks))
    for doc_id in before:
        if doc_id not in ids:
            plan.removed_docs.append(doc_id)
            report.deleted += 1


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def default_progress() -> Callable[[int, int, str], None]:
    """A tqdm bar on stderr, created on first call (a no-change run shows nothing)."""
    bar = {}

    def update(done: int, total: int, what: str) -> None:
        from tqdm import tqdm

        if "b" not in bar:
            bar["b"] = tqdm(total=total, desc=what, unit="chunk", leave=False)
        bar["b"].n = done
        bar["b"].refresh()
        if done >= total:
            bar.pop("b").close()

    return update
