"""ragas metrics: non-LLM context precision/recall against the gold documents; faithfulness and relevancy by an LLM."""

import asyncio
import math
import re
from statistics import fmean
from typing import Sequence

from eval.run import Question, gold_match
from rag.errors import PartnersError

MARKER = re.compile(r"\s*\[\d{1,2}\]")


class RagasLLMError(PartnersError):
    """The LLM judge behind faithfulness / answer relevancy is missing, unreachable or does not answer JSON."""

    code = "ragas_llm"

    def __init__(self, cause: str, *, model: str = "", base_url: str | None = None) -> None:
        where = f" {model!r} at {base_url or 'the OpenAI API'}" if model else ""
        super().__init__(
            f"ragas could not score answers with the LLM{where}: {cause}. Set PARTNERS_LLM=openai:<model> and "
            "PARTNERS_LLM_BASE_URL (vLLM, Ollama: http://127.0.0.1:11434/v1) to a running OpenAI-compatible server "
            "that can answer in JSON, then run `partners eval --ragas` again.")


def reference_contexts(docstore, questions: Sequence[Question]) -> dict[str, list[str]]:
    """Question id -> the chunk texts of its gold documents (in document order); questions without gold are left out."""
    chunks = list(docstore.iter_chunks())
    return {q.id: [c.text for c in chunks if gold_match(c, q.gold)] for q in questions if q.gold}


def build_context_metrics():
    """ragas' NonLLMContextPrecisionWithReference and NonLLMContextRecall (Levenshtein similarity, threshold 0.5)."""
    # ragas 0.4 has no non-LLM variants in ragas.metrics.collections; these are the implementations
    # behind the deprecated `ragas.metrics.NonLLM*` names, imported directly to skip the warning.
    from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
    from ragas.metrics._context_recall import NonLLMContextRecall

    return NonLLMContextPrecisionWithReference(), NonLLMContextRecall()


async def ascore_contexts(metrics, retrieved: list[str], references: list[str]) -> tuple[float, float]:
    """(precision, recall) of one question; nothing retrieved scores 0 for both."""
    if not retrieved or not references:
        return 0.0, 0.0
    from ragas import SingleTurnSample

    precision_metric, recall_metric = metrics
    sample = SingleTurnSample(retrieved_contexts=retrieved, reference_contexts=references)
    precision = await precision_metric.single_turn_ascore(sample)
    recall = await recall_metric.single_turn_ascore(sample)
    return round(float(precision), 6), round(float(recall), 6)  # precision divides by (matches + 1e-10)


def score_contexts(retrieved: list[str], references: list[str]) -> tuple[float, float]:
    """Non-LLM context (precision, recall) of one retrieved list against reference contexts."""
    return asyncio.run(ascore_contexts(build_context_metrics(), retrieved, references))


def ragas_context_metrics(retriever, questions: Sequence[Question], *, k: int = 5, mode: str = "hybrid") -> dict:
    """Mean ragas non-LLM context precision and recall of `retriever.search` over the questions with gold documents.

    Reference contexts are the chunks of each question's gold documents (from the index docstore); retrieved contexts
    are the top-k chunks. Questions without gold (out of domain) or whose gold is not in the index are skipped.

    Returns:
        {"context_precision", "context_recall", "n", "k", "mode", "skipped": {reason: count}, "rows": [...]}
    """
    references = reference_contexts(retriever.index.docstore, questions)
    skipped = {"no_gold": 0, "gold_not_in_index": 0}
    jobs: list[tuple[list[str], list[str]]] = []
    rows: list[dict] = []
    for q in questions:
        refs = references.get(q.id)
        if refs is None or not refs:
            skipped["no_gold" if refs is None else "gold_not_in_index"] += 1
            continue
        hits = retriever.search(q.question, k=k, mode=mode, ground=False).hits
        jobs.append(([h.chunk.text for h in hits], refs))
        rows.append({"id": q.id, "question": q.question, "gold": q.gold, "references": len(refs),
                     "retrieved": [h.chunk.title for h in hits]})

    async def score_all() -> list[tuple[float, float]]:
        metrics = build_context_metrics()
        return [await ascore_contexts(metrics, retrieved, refs) for retrieved, refs in jobs]

    scores = asyncio.run(score_all()) if jobs else []
    for row, (precision, recall) in zip(rows, scores):
        row["context_precision"], row["context_recall"] = round(precision, 4), round(recall, 4)
    return {"context_precision": _mean([p for p, _ in scores]), "context_recall": _mean([r for _, r in scores]),
            "n": len(rows), "k": k, "mode": mode, "skipped": skipped, "rows": rows}


def build_ragas_embeddings(embedder):
    """Our Embedder (e.g. the bundled USE model) behind ragas' modern embeddings interface; nothing is downloaded."""
    from ragas.embeddings.base import BaseRagasEmbedding

    class PartnersEmbedding(BaseRagasEmbedding):
        # answer relevancy compares questions with questions, so both sides are embedded as queries
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def embed_text(self, text: str, **kwargs) -> list[float]:
            return self.inner.embed_query(text)

        async def aembed_text(self, text: str, **kwargs) -> list[float]:
            return self.inner.embed_query(text)

        def embed_texts(self, texts: list[str], **kwargs) -> list[list[float]]:
            return [self.inner.embed_query(t) for t in texts]

        async def aembed_texts(self, texts: list[str], **kwargs) -> list[list[float]]:
            return self.embed_texts(texts)

    return PartnersEmbedding(embedder)


def collect_answers(services, questions: Sequence[Question]) -> tuple[list[dict], int]:
    """Rows of (question, answer without [n] markers, the contexts the generator saw); refused questions are dropped."""
    rows, refused = [], 0
    for q in questions:
        answer = services.ask(q.question)
        if not answer.grounded:
            refused += 1
            continue
        hits = services.retriever.search(answer.search_query or answer.question, k=services.settings.top_k,
                                         mode="hybrid", ground=False).hits
        rows.append({"id": q.id, "question": q.question, "answer": MARKER.sub("", answer.answer).strip(),
                     "contexts": [h.chunk.text for h in hits], "generator": answer.generator})
    return rows, refused


def ragas_answer_metrics(services, questions: Sequence[Question], *, llm_base_url: str | None, llm_model: str,
                         api_key: str | None, embedder, timeout: float = 60.0, concurrency: int = 4) -> dict:
    """Mean ragas faithfulness and answer relevancy of `services.ask` answers, judged by an OpenAI-compatible LLM.

    Refused questions are skipped. A question whose judge output cannot be parsed is counted in "failed".

    Returns:
        {"faithfulness", "answer_relevancy", "n", "refused", "failed", "llm", "rows": [...]}
    Raises:
        RagasLLMError: no LLM configured, the server is unreachable or errs, or no answer could be scored.
    """
    if not llm_model or not (llm_base_url or api_key):
        raise RagasLLMError("no LLM is configured")
    rows, refused = collect_answers(services, questions)
    if rows:
        asyncio.run(_score_answers(rows, llm_base_url, llm_model, api_key, embedder, timeout, concurrency))
    failed = sum("error" in row for row in rows)
    if rows and failed == len(rows):
        raise RagasLLMError(f"no answer could be scored ({rows[0]['error']})", model=llm_model, base_url=llm_base_url)
    scored = [row for row in rows if "error" not in row]
    return {"faithfulness": _mean([row["faithfulness"] for row in scored]),
            "answer_relevancy": _mean([row["answer_relevancy"] for row in scored]),
            "n": len(scored), "refused": refused, "failed": failed, "llm": f"openai:{llm_model}",
            "rows": [{k: v for k, v in row.items() if k != "contexts"} for row in rows]}


async def _score_answers(rows: list[dict], base_url: str | None, model: str, api_key: str | None, embedder,
                         timeout: float, concurrency: int) -> None:
    import openai
    from ragas.llms import llm_factory
    from ragas.metrics.collections import AnswerRelevancy, Faithfulness

    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=2)
    try:
        llm = llm_factory(model, client=client)
        faithfulness = Faithfulness(llm=llm)
        relevancy = AnswerRelevancy(llm=llm, embeddings=build_ragas_embeddings(embedder))
        gate = asyncio.Semaphore(max(1, concurrency))

        async def score(row: dict) -> None:
            async with gate:
                try:
                    faith = await faithfulness.ascore(user_input=row["question"], response=row["answer"],
                                                      retrieved_contexts=row["contexts"])
                    relevant = await relevancy.ascore(user_input=row["question"], response=row["answer"])
                except Exception as exc:  # noqa: BLE001 - classified below
                    api_error = _api_error(exc)
                    if api_error is not None:
                        raise RagasLLMError(api_error, model=model, base_url=base_url) from exc
                    row["error"] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
                    return
                row["faithfulness"] = _round(faith.value)
                row["answer_relevancy"] = _round(relevant.value)

        await asyncio.gather(*(score(row) for row in rows))
    finally:
        await client.close()


def _api_error(exc: BaseException) -> str | None:
    """A description when `exc` (or what it wraps) is a connection or HTTP error of the OpenAI client."""
    import openai

    visited: set[int] = set()
    seen: BaseException | None = exc
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, openai.APIStatusError):
            return f"HTTP {seen.status_code}"
        if isinstance(seen, openai.APIConnectionError):
            return f"{seen.__class__.__name__}: {seen}"
        seen = seen.__cause__ or seen.__context__
    return None


def _round(value) -> float | None:
    return None if value is None or math.isnan(float(value)) else round(float(value), 4)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return round(fmean(kept), 4) if kept else None
