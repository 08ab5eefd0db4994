"""Retrieval metrics over best-first lists of relevance flags (1 = the retrieved item is in the gold set)."""

import math
from statistics import quantiles


def hit_at_k(flags: list[bool], k: int) -> float:
    """1.0 when any of the first k results is relevant."""
    return float(any(flags[:k]))


def reciprocal_rank(flags: list[bool]) -> float:
    """1 / rank of the first relevant result, 0 when none is."""
    return next((1.0 / rank for rank, ok in enumerate(flags, start=1) if ok), 0.0)


def recall_at_k(found: list[str | None], gold_count: int, k: int) -> float:
    """Share of the gold items found in the first k results (`found` holds the gold item each result matched)."""
    if gold_count == 0:
        return 0.0
    return len({g for g in found[:k] if g is not None}) / gold_count


def ndcg_at_k(found: list[str | None], gold_count: int, k: int) -> float:
    """Binary nDCG: a gold item counts once, at its first position."""
    seen: set[str] = set()
    dcg = 0.0
    for rank, gold in enumerate(found[:k], start=1):
        if gold is not None and gold not in seen:
            seen.add(gold)
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(gold_count, k) + 1))
    return dcg / ideal if ideal else 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 (inclusive method, so a handful of samples still gives numbers)."""
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    if len(values) == 1:
        return {"p50": round(values[0], 2), "p95": round(values[0], 2)}
    cuts = quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2)}
