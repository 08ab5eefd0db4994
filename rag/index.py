"""Where an index lives and how readers open it: docstore + keyword index locally, vectors in Chroma."""

import os
import re
import shutil
from functools import cached_property
from pathlib import Path

from rag.docstore import DocStore
from rag.errors import EmbedderMismatchError, IndexNotFoundError
from rag.keyword import KeywordIndex
from rag.settings import Settings
from rag.store import ChromaStore, HnswParams, open_client


class IndexLayout:
    """`<data>/collections/<name>/CURRENT` names the live generation `gN`; a rebuild fills gN+1, then swaps."""

    def __init__(self, root: Path, collection: str) -> None:
        self.root = root
        self.collection = collection

    @property
    def lock_path(self) -> Path:
        return self.root / "ingest.lock"

    def current(self) -> str | None:
        try:
            gen = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return gen if (self.root / gen / "docstore.sqlite").exists() else None

    def set_current(self, gen: str) -> None:
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(gen, encoding="utf-8")
        os.replace(tmp, self.root / "CURRENT")

    def generations(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted((p.name for p in self.root.iterdir() if p.is_dir() and re.fullmatch(r"g\d+", p.name)),
                      key=lambda g: int(g[1:]))

    def new_generation(self) -> str:
        gens = self.generations()
        gen = f"g{int(gens[-1][1:]) + 1 if gens else 1}"
        (self.root / gen).mkdir(parents=True)
        return gen

    def gen_dir(self, gen: str) -> Path:
        return self.root / gen

    def docstore_path(self, gen: str) -> Path:
        return self.root / gen / "docstore.sqlite"

    def chroma_name(self, gen: str) -> str:
        return f"{self.collection}-{gen}"

    def remove_generation(self, gen: str, client) -> None:
        from rag.store import drop_collection

        if client is not None:
            drop_collection(client, self.chroma_name(gen))
        shutil.rmtree(self.gen_dir(gen), ignore_errors=True)


class Index:
    """A read-only view of the live index; reloads the keyword index when an ingest commits a new revision."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.layout = IndexLayout(settings.index_dir, settings.collection)
        gen = self.layout.current()
        if gen is None:
            raise IndexNotFoundError(str(settings.index_dir))
        self.gen = gen
        self.docstore = DocStore(self.layout.docstore_path(gen), readonly=True)
        self._keywords: dict[str, KeywordIndex] = {}
        self._keyword_rev = ""

    @property
    def embedder_name(self) -> str:
        return self.docstore.get_meta("embedder")

    @property
    def dim(self) -> int:
        return int(self.docstore.get_meta("dim", "0") or 0)

    def check_embedder(self, spec: str, dim: int | None = None) -> None:
        if self.embedder_name and (spec != self.embedder_name or (dim and dim != self.dim)):
            raise EmbedderMismatchError(self.embedder_name, self.dim, spec, dim)

    def stale(self) -> bool:
        """True when another process switched generations (a rebuild): reopen the Index."""
        return self.layout.current() != self.gen

    @cached_property
    def vectors(self) -> ChromaStore:
        client = open_client(self.settings.chroma_path, self.settings.chroma_host, self.settings.chroma_port)
        try:
            return ChromaStore(client, self.layout.chroma_name(self.gen))
        except Exception as exc:
            raise IndexNotFoundError(f"Chroma collection {self.layout.chroma_name(self.gen)}") from exc

    @property
    def keyword(self) -> KeywordIndex:
        """BM25 over Kiwi morphemes."""
        return self._keyword_index("morph")

    @property
    def chars(self) -> KeywordIndex:
        """BM25 over character unigrams and bigrams."""
        return self._keyword_index("chars")

    def _keyword_index(self, analyzer: str) -> KeywordIndex:
        rev = self.docstore.get_meta("bm25_dir")
        if rev != self._keyword_rev:
            self._keywords = {}
            self._keyword_rev = rev
        if analyzer not in self._keywords:
            folder = self.layout.gen_dir(self.gen) / rev / analyzer
            if not folder.exists():
                raise IndexNotFoundError(str(folder))  # written by an older version; `partners ingest` adds it
            self._keywords[analyzer] = KeywordIndex.load(folder)
        return self._keywords[analyzer]


def hnsw_params(settings: Settings) -> HnswParams:
    return HnswParams(settings.hnsw_ef_search, settings.hnsw_ef_construction, settings.hnsw_max_neighbors)
