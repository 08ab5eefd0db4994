"""Write a planned change to every index so that a crash at any point converges on the next run.

Order: mark dirty -> add new vectors -> commit docstore + new keyword index in one SQLite transaction ->
delete old vectors -> clear dirty. Readers look chunks up in the committed docstore, so leftovers in Chroma
are invisible; a run that finds the dirty mark reconciles Chroma with the docstore first.
"""

import shutil
from dataclasses import dataclass, field
from typing import Callable

from ingest.embed import Progress, embed_chunks
from rag.docstore import DocStore
from rag.index import IndexLayout
from rag.keyword import KeywordIndex, char_terms, tokenize
from rag.store import ChromaStore
from rag.types import Chunk, Document

# The keyword indexes' analyzers as built now; an index of an older format is rebuilt on the next ingest.
# 2: the character index marks each word's start (rag/keyword.py char_terms).
KEYWORD_FORMAT = 2


@dataclass
class DocChange:
    doc: Document
    path: str
    doc_hash: str
    chunks: list[Chunk]


@dataclass
class Plan:
    """What one ingest run changes. Files whose load failed are absent: their old state stays."""

    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (source, file_hash) to record
    changes: list[DocChange] = field(default_factory=list)
    removed_docs: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.files or self.changes or self.removed_docs or self.removed_files)


class IndexWriter:
    def __init__(self, layout: IndexLayout, gen: str, docstore: DocStore, open_vectors: Callable[[], ChromaStore],
                 get_embedder: Callable[[], object], embedder_spec: str) -> None:
        self.layout, self.gen, self.docstore = layout, gen, docstore
        self._open_vectors, self._get_embedder = open_vectors, get_embedder
        self.embedder_spec = embedder_spec
        self._vectors: ChromaStore | None = None
        self._embedder = None

    @property
    def vectors(self) -> ChromaStore:
        if self._vectors is None:
            self._vectors = self._open_vectors()
        return self._vectors

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = self._get_embedder()
        return self._embedder

    def needs_recovery(self) -> bool:
        return self.docstore.get_meta("dirty") == "1"

    def recover(self, progress: Progress | None = None) -> int:
        """Make Chroma hold exactly the committed chunks (with their committed metadata); returns vectors re-added."""
        expected = self.docstore.all_chunk_ids()
        actual = self.vectors.ids()
        self.vectors.delete(sorted(actual - expected))
        chunks = list(self.docstore.iter_chunks())
        missing = [c for c in chunks if c.chunk_id not in actual]
        if missing:
            self.vectors.upsert(missing, embed_chunks(missing, self.embedder, progress=progress))
        self.vectors.update_metadata([c for c in chunks if c.chunk_id in actual])
        self._ensure_keyword_index()
        self.docstore.set_meta_now("dirty", "0")
        return len(missing)

    def apply(self, plan: Plan, now: str, progress: Progress | None = None) -> int:
        """Apply `plan`; returns the number of chunks embedded."""
        new_chunks: list[Chunk] = []
        meta_only: list[Chunk] = []
        gone: list[str] = []
        for change in plan.changes:
            old = self.docstore.get_chunks(self.docstore.chunk_ids_of(change.doc.doc_id))
            wanted = {c.chunk_id for c in change.chunks}
            gone.extend(cid for cid in old if cid not in wanted)
            for chunk in change.chunks:
                before = old.get(chunk.chunk_id)
                if before is None:
                    new_chunks.append(chunk)
                elif before.model_dump(exclude={"ingested_at"}) != chunk.model_dump(exclude={"ingested_at"}):
                    meta_only.append(chunk)
                else:
                    chunk.ingested_at = before.ingested_at
        for doc_id in plan.removed_docs:
            gone.extend(self.docstore.chunk_ids_of(doc_id))

        self.docstore.set_meta_now("dirty", "1")
        vectors = embed_chunks(new_chunks, self.embedder, progress=progress) if new_chunks else []
        if new_chunks:
            self.vectors.upsert(new_chunks, vectors)
        if meta_only:
            self.vectors.update_metadata(meta_only)

        old_keyword = self.docstore.get_meta("bm25_dir")
        with self.docstore.transaction():
            for path in plan.removed_files:
                self.docstore.delete_file(path)
            for doc_id in plan.removed_docs:
                self.docstore.delete_doc(doc_id)
            for change in plan.changes:
                self._write_doc(change, now)
            for path, (source, digest) in plan.files.items():
                self.docstore.put_file(path, source, digest, now)
            if new_chunks:
                self.docstore.set_meta("embedder", self.embedder_spec)
                self.docstore.set_meta("dim", len(vectors[0]))
            self._build_keyword_index()
        if gone:
            self.vectors.delete(gone)
        self.docstore.set_meta_now("dirty", "0")
        if old_keyword and old_keyword != self.docstore.get_meta("bm25_dir"):
            shutil.rmtree(self.layout.gen_dir(self.gen) / old_keyword, ignore_errors=True)
        return len(new_chunks)

    def _write_doc(self, change: DocChange, now: str) -> None:
        doc = change.doc
        self.docstore.delete_doc(doc.doc_id)
        for chunk in change.chunks:
            self.docstore.put_chunk(chunk, tokenize(chunk.keyword_text()))
        self.docstore.put_doc({
            "doc_id": doc.doc_id, "path": change.path, "source": doc.source, "title": doc.title,
            "doc_type": doc.doc_type, "category": doc.category, "version": doc.version, "updated": doc.updated,
            "doc_hash": change.doc_hash, "chunk_count": len(change.chunks), "ingested_at": now,
            "extra": doc.model_dump_json(include={"extra", "aliases", "related"}),
        })

    def _build_keyword_index(self) -> None:
        """Build the keyword index of the (uncommitted) new state and point the docstore at it."""
        rev = int(self.docstore.get_meta("revision", "0")) + 1
        name = f"bm25-{rev}"
        folder = self.layout.gen_dir(self.gen) / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        KeywordIndex.build(self.docstore.iter_tokens(), "morph").save(folder / "morph")
        chars = ((c.chunk_id, char_terms(c.char_text())) for c in self.docstore.iter_chunks())
        KeywordIndex.build(chars, "chars").save(folder / "chars")
        self.docstore.set_meta("revision", rev)
        self.docstore.set_meta("bm25_dir", name)
        self.docstore.set_meta("bm25_format", KEYWORD_FORMAT)

    def _ensure_keyword_index(self) -> None:
        """Build the keyword indexes when missing or written by an older analyzer (`partners ingest` upgrades them)."""
        name = self.docstore.get_meta("bm25_dir")
        if (not name or not (self.layout.gen_dir(self.gen) / name / "chars" / "chunk_ids.json").exists()
                or self.docstore.get_meta("bm25_format", "1") != str(KEYWORD_FORMAT)):
            with self.docstore.transaction():
                self._build_keyword_index()

    def ensure_keyword_index(self) -> None:
        self._ensure_keyword_index()
