"""SQLite docstore: the committed truth of an index (files, documents, chunks, keyword tokens, metadata)."""

import json
import sqlite3
from pathlib import Path
from typing import Iterable, Iterator

from rag.types import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, source TEXT NOT NULL, file_hash TEXT NOT NULL, ingested_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, path TEXT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL, doc_type TEXT NOT NULL,
    category TEXT NOT NULL, version TEXT NOT NULL, updated TEXT NOT NULL, doc_hash TEXT NOT NULL,
    chunk_count INTEGER NOT NULL, ingested_at TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS docs_by_path ON docs(path);
CREATE INDEX IF NOT EXISTS docs_by_type ON docs(doc_type, category);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ord INTEGER NOT NULL, data TEXT NOT NULL, tokens TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
"""


class DocStore:
    """One SQLite file per index generation. Writers change it in one transaction; readers see old or new."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
        self._db.execute("PRAGMA busy_timeout=5000")

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> sqlite3.Connection:
        """`with store.transaction():` commits on success, rolls back on error."""
        return self._db

    # meta
    def get_meta(self, key: str, default: str = "") -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: object) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, str(value)))

    def set_meta_now(self, key: str, value: object) -> None:
        with self._db:
            self.set_meta(key, value)

    # files
    def file_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT path, file_hash FROM files"))

    def put_file(self, path: str, source: str, file_hash: str, ingested_at: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO files(path, source, file_hash, ingested_at) VALUES(?,?,?,?)",
            (path, source, file_hash, ingested_at),
        )

    def delete_file(self, path: str) -> list[str]:
        """Forget a file and its documents; returns the chunk ids that must leave every index."""
        doc_ids = [r[0] for r in self._db.execute("SELECT doc_id FROM docs WHERE path=?", (path,))]
        chunk_ids = [cid for d in doc_ids for cid in self.chunk_ids_of(d)]
        for doc_id in doc_ids:
            self.delete_doc(doc_id)
        self._db.execute("DELETE FROM files WHERE path=?", (path,))
        return chunk_ids

    # documents
    def docs_of_file(self, path: str) -> dict[str, str]:
        """doc_id -> doc_hash for the documents one file produced."""
        return dict(self._db.execute("SELECT doc_id, doc_hash FROM docs WHERE path=?", (path,)))

    def put_doc(self, row: dict) -> None:
        cols = ",".join(row)
        self._db.execute(f"INSERT OR REPLACE INTO docs({cols}) VALUES({','.join('?' * len(row))})", tuple(row.values()))

    def delete_doc(self, doc_id: str) -> None:
        self._db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        self._db.execute("DELETE FROM docs WHERE doc_id=?", (doc_id,))

    def list_docs(self) -> list[dict]:
        cur = self._db.execute("SELECT * FROM docs ORDER BY doc_type, source")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row)) for row in cur]

    def doc_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    # chunks
    def chunk_ids_of(self, doc_id: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM chunks WHERE doc_id=? ORDER BY ord", (doc_id,))]

    def put_chunk(self, chunk: Chunk, tokens: list[str]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO chunks(chunk_id, doc_id, ord, data, tokens) VALUES(?,?,?,?,?)",
            (chunk.chunk_id, chunk.doc_id, chunk.chunk_index, chunk.model_dump_json(), json.dumps(tokens, ensure_ascii=False)),
        )

    def delete_chunks(self, chunk_ids: Iterable[str]) -> None:
        self._db.executemany("DELETE FROM chunks WHERE chunk_id=?", [(c,) for c in chunk_ids])

    def get_chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        found: dict[str, Chunk] = {}
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for cid, data in self._db.execute(f"SELECT chunk_id, data FROM chunks WHERE chunk_id IN ({marks})", part):
                found[cid] = Chunk.model_validate_json(data)
        return found

    def get_tokens(self, chunk_ids: list[str]) -> dict[str, list[str]]:
        """Keyword tokens (Kiwi morphemes) of the given chunks."""
        marks = ",".join("?" * len(chunk_ids))
        rows = self._db.execute(f"SELECT chunk_id, tokens FROM chunks WHERE chunk_id IN ({marks})", chunk_ids)
        return {cid: json.loads(tokens) for cid, tokens in rows}

    def chunk_ids_where(self, doc_types: list[str] | None, categories: list[str] | None) -> set[str]:
        """Chunks whose document has one of the types and one of the categories (None: any)."""
        sql, args = "SELECT c.chunk_id FROM chunks c JOIN docs d ON d.doc_id = c.doc_id WHERE 1=1", []
        if doc_types:
            sql += f" AND d.doc_type IN ({','.join('?' * len(doc_types))})"
            args += list(doc_types)
        if categories:
            sql += f" AND d.category IN ({','.join('?' * len(categories))})"
            args += list(categories)
        return {r[0] for r in self._db.execute(sql, args)}

    def chunk_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks")}

    def iter_tokens(self) -> Iterator[tuple[str, list[str]]]:
        """(chunk_id, keyword tokens) in a stable order, for building the keyword index."""
        for cid, tokens in self._db.execute("SELECT chunk_id, tokens FROM chunks ORDER BY doc_id, ord"):
            yield cid, json.loads(tokens)

    def iter_chunks(self) -> Iterator[Chunk]:
        for (data,) in self._db.execute("SELECT data FROM chunks ORDER BY doc_id, ord"):
            yield Chunk.model_validate_json(data)
