"""Retrieval over the live index: dense (Chroma), Korean BM25, or both fused by reciprocal rank."""

import time
from typing import Literal

from pydantic import BaseModel, Field

from rag.index import Index
from rag.titles import TitleMatcher
from rag.types import Chunk, Embedder, Hit

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")
TITLE_WEIGHT = 3.0  # a query that names a term or alias should get that term's document first


class SearchResult(BaseModel):
    query: str
    mode: str
    hits: list[Hit]
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "mode": self.mode,
            "results": [
                {"rank": h.rank, "chunk_id": h.chunk_id, "doc_id": h.chunk.doc_id, "title": h.chunk.title,
                 "category": h.chunk.category, "doc_type": h.chunk.doc_type, "source": h.chunk.source,
                 "section": h.chunk.section, "score": round(h.score, 4), "text": h.chunk.text}
                for h in self.hits
            ],
            "timings_ms": self.timings_ms,
        }


def fuse(rankings: list[list[tuple[str, float]]], *, weights: list[float] | None = None, k: int = 60,
         top: int = 5) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of several best-first rankings of the same corpus."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, (cid, _) in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    order = sorted(scores, key=scores.__getitem__, reverse=True)[:top]
    return [(cid, scores[cid]) for cid in order]


class Retriever:
    """Built once per process (models and indexes loaded once), then called per query."""

    def __init__(self, index: Index, embedder: Embedder, *, candidates: int = 30) -> None:
        index.check_embedder(embedder.name, embedder.dim)
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.titles = TitleMatcher.from_docstore(index.docstore)

    def search(self, query: str, *, k: int = 5, mode: Mode = "hybrid", doc_types: list[str] | None = None,
               categories: list[str] | None = None) -> SearchResult:
        """Top-k chunks for `query`, best first, with per-stage timings."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        where = _where(doc_types, categories)
        n = max(k, self.candidates)
        rankings: list[list[tuple[str, float]]] = []
        allowed = self._allowed(doc_types, categories) if where else None  # computed once, used by BM25 and titles
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = self.embedder.embed_query(query)
            timings["embed"] = _ms(t)
            t = time.perf_counter()
            rankings.append(self.index.vectors.query(vector, n, where))
            timings["dense"] = _ms(t)
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            rankings.append(self.index.keyword.search(query, n, allowed))
            timings["bm25"] = _ms(t)
        weights = [1.0] * len(rankings)
        if mode == "hybrid":
            named = self.titles.match(query)
            if allowed is not None:
                named = [(cid, s) for cid, s in named if cid in allowed]
            if named:
                rankings.append(named)
                weights.append(TITLE_WEIGHT)
        ranked = rankings[0][:n] if len(rankings) == 1 else fuse(rankings, weights=weights, top=n)
        chunks = self.index.docstore.get_chunks([cid for cid, _ in ranked])
        hits = [Hit(chunk=chunks[cid], score=score) for cid, score in ranked if cid in chunks][:k]
        for rank, hit in enumerate(hits, start=1):
            hit.rank = rank
        timings["total"] = _ms(t0)
        return SearchResult(query=query, mode=mode, hits=hits, timings_ms=timings)

    def _allowed(self, doc_types: list[str] | None, categories: list[str] | None) -> set[str]:
        return {c.chunk_id for c in self.index.docstore.iter_chunks()
                if (not doc_types or c.doc_type in doc_types) and (not categories or c.category in categories)}


def _where(doc_types: list[str] | None, categories: list[str] | None) -> dict | None:
    clauses = []
    if doc_types:
        clauses.append({"doc_type": {"$in": list(doc_types)}})
    if categories:
        clauses.append({"category": {"$in": list(categories)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def chunk_label(chunk: Chunk) -> str:
    """How a source is named in prompts and citations: `해지환급금 (corpus/terms/해지환급금.md, v1)`."""
    version = f", v{chunk.version}" if chunk.version else ""
    return f"{chunk.title} ({chunk.source}{version})"
