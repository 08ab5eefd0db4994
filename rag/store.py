"""Chroma vector store: local PersistentClient, or HttpClient for a `chroma run` server. We always pass embeddings."""

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rag.errors import StoreUnavailableError
from rag.types import Chunk

BATCH = 1000


@dataclass(frozen=True)
class HnswParams:
    ef_search: int = 500
    ef_construction: int = 200
    max_neighbors: int = 32


def open_client(path: Path, host: str | None = None, port: int = 8000):
    """A Chroma client with telemetry off: on disk under `path`, or the server at host:port."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        try:
            return chromadb.HttpClient(host=host, port=port, settings=settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise StoreUnavailableError(f"{host}:{port}", str(exc).splitlines()[0][:200]) from exc
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    """Chroma metadata values must be scalars: lists are joined with '|'."""
    data = chunk.model_dump(exclude={"text", "chunk_id", "questions"})
    data["aliases"] = "|".join(chunk.aliases)
    return data


class ChromaStore:
    """One collection; ids are our chunk ids, scores are cosine similarities."""

    def __init__(self, client, name: str, *, create: bool = False, hnsw: HnswParams = HnswParams(),
                 metadata: dict | None = None) -> None:
        self.client = client
        self.name = name
        if create:
            config = {"hnsw": {"space": "cosine", "ef_search": hnsw.ef_search,
                               "ef_construction": hnsw.ef_construction, "max_neighbors": hnsw.max_neighbors}}
            self.collection = client.get_or_create_collection(
                name, configuration=config, metadata=metadata or None, embedding_function=None)
        else:
            self.collection = client.get_collection(name, embedding_function=None)

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        for start in range(0, len(chunks), BATCH):
            part = chunks[start : start + BATCH]
            self.collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=[list(v) for v in vectors[start : start + BATCH]],
                documents=[c.text for c in part],
                metadatas=[chunk_metadata(c) for c in part],
            )

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        for start in range(0, len(chunks), BATCH):
            part = chunks[start : start + BATCH]
            self.collection.update(ids=[c.chunk_id for c in part], metadatas=[chunk_metadata(c) for c in part])

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), BATCH):
            self.collection.delete(ids=ids[start : start + BATCH])

    def ids(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            got = self.collection.get(include=[], limit=5000, offset=offset)["ids"]
            found.update(got)
            if len(got) < 5000:
                return found
            offset += len(got)

    def count(self) -> int:
        return self.collection.count()

    def query(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Best-first (chunk_id, cosine similarity); fewer than k when the collection (or the filter) holds fewer.

        Chroma 1.x returns what it has when k exceeds that, so no count() round trip is needed per query."""
        res = self.collection.query(query_embeddings=[list(vector)], n_results=k, where=where or None,
                                    include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0])]


def drop_collection(client, name: str) -> None:
    try:
        client.delete_collection(name)
    except Exception:  # already gone: nothing to drop
        pass
