"""Retrieval over the live index: dense (Chroma), Korean BM25 (morphemes, character n-grams), or all fused."""

import time
from typing import Literal

from pydantic import BaseModel, Field

from rag.index import Index
from rag.keyword import tokenize
from rag.settings import Settings
from rag.titles import TitleMatcher, normalize
from rag.types import Chunk, Embedder, Hit

Mode = Literal["dense", "bm25", "chars", "hybrid"]
MODES: tuple[str, ...] = ("dense", "bm25", "chars", "hybrid")
# IDF mass at which a query's coverage counts in full; chosen on out_of_domain.jsonl vs the in-domain sets (6: 95 % of
# off-domain questions refused, in-domain refusals unchanged; see eval/results/BASELINE.md)
FULL_COVERAGE_MASS = 6.0


class Fusion(BaseModel):
    """Weights of the hybrid's signals in weighted reciprocal-rank fusion.

    Chosen by a grid over eval/datasets/terms.jsonl and scripts_guidelines.jsonl (see eval/results/BASELINE.md): USE
    alone is weak on paraphrased Korean insurance questions, so it gets a small weight; the two BM25s carry most of the
    ranking, character n-grams the most; a named title or alias helps a little, but paraphrases often name a
    neighbouring term, so it must not dominate; a small k lets a clear first place count.
    """

    dense: float = 0.25
    bm25: float = 1.0
    chars: float = 2.0
    title: float = 0.25
    title_share: float = 1.0  # added x the share of the query the name fills
    title_exact: float = 3.0  # the query is a name and nothing else: "고지의무" alone is that term
    rrf_k: int = 5
    opposite: float = 0.5  # score factor for 비갱신형 when the query names 갱신형 alone (the prefix trap, per document)
    follow_up_own: float = 2.0  # a follow-up's own words against the context it borrows (eval/datasets/followups)
    follow_up_uncovered: float = 1.0  # the same, when its own words alone left it ungrounded ("아직 취소돼요?")
    # the same, against the LLM's rewrite of the turn (rag.condense) when its own words are grounded; chosen with
    # hand-written rewrites on followups.jsonl (BASELINE session 26): .5 / 1 / 2 -> hit@1 .744 / .789 / .778, hit@5
    # .956 / .944 / .911
    follow_up_rewritten: float = 1.0
    # a follow-up's own words count in full only from this IDF mass on: "그럼 기간은요?" (기간 .84) says too little
    # alone to outweigh its context, "대인2는요?" (4.8) does not (chosen on followups.jsonl, BASELINE session 27)
    follow_up_specific: float = 4.0


class Grounding(BaseModel):
    """How well the index covers a query: top dense cosine + 0.5 x the IDF share of query words in the top chunks."""

    score: float
    dense: float
    coverage: float
    named: bool  # the query names a term or guideline title/alias
    grounded: bool


class SearchResult(BaseModel):
    query: str
    mode: str
    hits: list[Hit]
    timings_ms: dict[str, float] = Field(default_factory=dict)
    grounding: Grounding | None = None

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
            **({"grounding": self.grounding.model_dump()} if self.grounding else {}),
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

    def __init__(self, index: Index, embedder: Embedder, *, candidates: int = 30, fusion: Fusion | None = None,
                 ground_threshold: float = Settings.model_fields["ground_threshold"].default, reranker=None,
                 rerank_depth: int = 20) -> None:
        index.check_embedder(embedder.name, embedder.dim)
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion or Fusion()
        self.ground_threshold = ground_threshold
        self.reranker = reranker
        self.rerank_depth = rerank_depth
        self.titles = TitleMatcher.from_docstore(index.docstore)

    def refresh(self) -> None:
        """Pick up an ingest made by this or another process: a new generation, new titles and aliases."""
        if self.index.stale():
            self.index = type(self.index)(self.index.settings)
        self.titles = TitleMatcher.from_docstore(self.index.docstore)

    def search(self, query: str, *, k: int = 5, mode: Mode = "hybrid", doc_types: list[str] | None = None,
               categories: list[str] | None = None, ground: bool | None = None,
               left_out: tuple[str, ...] = ()) -> SearchResult:
        """Top-k chunks for `query`, best first, with per-stage timings.

        Args:
            ground: also judge whether the index covers the query (default: in hybrid mode).
            left_out: names (normalized) whose documents the query has moved away from, as a follow-up does.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        query, _ = self.titles.respell(query)  # "헤지환급금 물어보면" is searched as 해지환급금 by every signal
        where = _where(doc_types, categories)
        n = max(k, self.candidates)
        allowed = self._allowed(doc_types, categories) if where else None  # computed once, used by every signal
        rankings: list[list[tuple[str, float]]] = []
        weights: list[float] = []
        dense_top = None
        if mode in ("dense", "hybrid") or ground:
            t = time.perf_counter()
            vector = self.embedder.embed_query(query)
            timings["embed"] = _ms(t)
            t = time.perf_counter()
            dense = self.index.vectors.query(vector, n, where)
            timings["dense"] = _ms(t)
            dense_top = dense[0][1] if dense else 0.0
            if mode in ("dense", "hybrid"):
                rankings.append(dense)
                weights.append(self.fusion.dense)
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            rankings.append(self.index.keyword.search(query, n, allowed))
            weights.append(self.fusion.bm25)
            timings["bm25"] = _ms(t)
        if mode in ("chars", "hybrid"):
            t = time.perf_counter()
            rankings.append(self.index.chars.search(query, n, allowed))
            weights.append(self.fusion.chars)
            timings["chars"] = _ms(t)
        named = self.titles.match(query)
        if allowed is not None:
            named = [(cid, s) for cid, s in named if cid in allowed]
        if mode == "hybrid" and named:
            share = min(1.0, named[0][1] / max(1, len(normalize(query))))
            rankings.append(named)
            alone = share == 1 or self.titles.asked_alone(query)
            weights.append(self.fusion.title + self.fusion.title_share * share + self.fusion.title_exact * alone)
        if len(rankings) == 1:
            ranked = rankings[0][:n]
        else:
            ranked = fuse(rankings, weights=weights, k=self.fusion.rrf_k, top=n)
        chunks = self.index.docstore.get_chunks([cid for cid, _ in ranked])
        hits = [Hit(chunk=chunks[cid], score=score) for cid, score in ranked if cid in chunks]
        if mode == "hybrid":
            hits = demote_opposites(hits, self.titles.opposites(query, left_out), self.fusion.opposite)
        if self.reranker is not None and mode == "hybrid":
            t = time.perf_counter()
            depth = max(k, self.rerank_depth)
            hits = self.reranker.rerank(query, hits[:depth]) + hits[depth:]
            timings["rerank"] = _ms(t)
        hits = hits[:k]
        for rank, hit in enumerate(hits, start=1):
            hit.rank = rank
        grounding = None
        if ground if ground is not None else mode == "hybrid":
            t = time.perf_counter()
            grounding = self._grounding(query, hits, dense_top or 0.0, bool(named))
            timings["ground"] = _ms(t)
        timings["total"] = _ms(t0)
        return SearchResult(query=query, mode=mode, hits=hits, timings_ms=timings, grounding=grounding)

    def search_follow_up(self, question: str, context: str, *, k: int = 5, mode: Mode = "hybrid",
                         ground: bool | None = None, left_out: tuple[str, ...] = (),
                         own_weight: float | None = None, own: SearchResult | None = None,
                         min_own_share: float = 0.0) -> SearchResult:
        """A follow-up searched twice, alone and with the context it borrows (`rag.answer.contextualize`), the two
        rankings fused with its own words weighing `fusion.follow_up_own` times as much: the borrowed question is
        longer and would otherwise pull the search back to its own topic ("그사이 사고 나면요?" after a question on
        unpaid premiums is about the grace period, not unpaid premiums). Grounding is judged on the context. `own`:
        the question's search alone, when the caller already ran it at depth `max(k, candidates)`.
        `min_own_share`: when the top chunks found hold less than this share of the follow-up's own words
        (`own_share`), it is about something else, and its search alone is returned (rag.answer.FOLLOW_UP_MIN_SHARE).
        """
        depth = max(k, self.candidates)
        own = own or self.search(question, k=depth, mode=mode, ground=ground, left_out=left_out)
        borrowed = self.search(context, k=depth, mode=mode, ground=ground, left_out=left_out)
        ranked = fuse([[(h.chunk_id, h.score) for h in own.hits], [(h.chunk_id, h.score) for h in borrowed.hits]],
                      weights=[self.fusion.follow_up_own if own_weight is None else own_weight, 1.0],
                      k=self.fusion.rrf_k, top=k)
        chunks = {h.chunk_id: h.chunk for h in own.hits + borrowed.hits}
        hits = [Hit(chunk=chunks[cid], score=score, rank=rank) for rank, (cid, score) in enumerate(ranked, start=1)]
        timings = {"own": own.timings_ms["total"], "context": borrowed.timings_ms["total"],
                   "total": round(own.timings_ms["total"] + borrowed.timings_ms["total"], 2)}
        if min_own_share > 0 and own.grounding is not None and self.own_share(
                question, set(tokenize(context[len(question):])), [h.chunk_id for h in hits[:3]]) < min_own_share:
            return SearchResult(query=question, mode=mode, hits=own.hits[:k], timings_ms=timings,
                                grounding=own.grounding)
        return SearchResult(query=context, mode=mode, hits=hits, timings_ms=timings, grounding=borrowed.grounding)

    def specificity(self, question: str) -> float:
        """How much a follow-up's own words say on their own, 0..1: their IDF mass over `fusion.follow_up_specific`
        (1 when that is 0)."""
        if self.fusion.follow_up_specific <= 0:
            return 1.0
        mass = sum(self.index.keyword.idf(w) for w in dict.fromkeys(tokenize(question)))
        return min(1.0, mass / self.fusion.follow_up_specific)

    def _grounding(self, query: str, hits: list[Hit], dense_top: float, named: bool) -> Grounding:
        coverage = self.coverage(query, [h.chunk_id for h in hits[:3]])
        score = round(dense_top + 0.5 * coverage, 4)
        return Grounding(score=score, dense=round(dense_top, 4), coverage=round(coverage, 4), named=named,
                         grounded=bool(hits) and (named or score >= self.ground_threshold))

    def own_share(self, question: str, borrowed: set[str], chunk_ids: list[str]) -> float:
        """IDF-weighted share of a follow-up's own words (those it does not borrow) that occur in the given chunks;
        1.0 when it has none."""
        share, mass = self._found([w for w in tokenize(question) if w not in borrowed], chunk_ids)
        return share if mass > 0 and chunk_ids else 1.0

    def coverage(self, query: str, chunk_ids: list[str]) -> float:
        """IDF-weighted share of the query's content morphemes that occur in the given chunks (0..1).

        A word the index has never seen weighs the most, so "노트북 추천" is mostly uncovered even though 추천 occurs.
        A query that carries little information in all ("너는 누가 만들었어?": only 만들다) counts as covered only in
        proportion to its IDF mass, up to FULL_COVERAGE_MASS (about two informative words).
        """
        share, mass = self._found(tokenize(query), chunk_ids)
        return share * min(1.0, mass / FULL_COVERAGE_MASS) if chunk_ids else 0.0

    def _found(self, words: list[str], chunk_ids: list[str]) -> tuple[float, float]:
        """(IDF-weighted share of `words` that occur in the chunks, the words' IDF mass); (0, 0) without words."""
        weight = {w: self.index.keyword.idf(w) for w in dict.fromkeys(words)}
        mass = sum(weight.values())
        if mass <= 0 or not chunk_ids:
            return 0.0, mass
        present = set().union(*self.index.docstore.get_tokens(chunk_ids).values())
        return sum(v for w, v in weight.items() if w in present) / mass, mass

    def _allowed(self, doc_types: list[str] | None, categories: list[str] | None) -> set[str]:
        return self.index.docstore.chunk_ids_where(doc_types, categories)


def demote_opposites(hits: list[Hit], opposites: set[str], factor: float) -> list[Hit]:
    """Hits re-ranked with the score of the chunks in `opposites` (the 비갱신형 document for a query about 갱신형)
    multiplied by `factor`: its text says the query's term at every turn ("갱신형과 달리 …"), so every signal
    likes it."""
    if not opposites:
        return hits
    for hit in hits:
        if hit.chunk_id in opposites:
            hit.score *= factor
    return sorted(hits, key=lambda h: -h.score)


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
