import pytest

from eval.metrics import hit_at_k, ndcg_at_k, percentiles, recall_at_k, reciprocal_rank


def test_hit_and_mrr():
    flags = [False, False, True, False]
    assert hit_at_k(flags, 2) == 0.0 and hit_at_k(flags, 3) == 1.0
    assert reciprocal_rank(flags) == pytest.approx(1 / 3)
    assert reciprocal_rank([False, False]) == 0.0


def test_recall_and_ndcg_count_each_gold_item_once():
    found = ["a", "a", None, "b"]
    assert recall_at_k(found, 2, 2) == 0.5
    assert recall_at_k(found, 2, 4) == 1.0
    # a at rank 1 and b at rank 4 against an ideal of ranks 1 and 2
    assert ndcg_at_k(found, 2, 10) == pytest.approx((1 + 1 / 2.321928) / (1 + 1 / 1.584963), rel=1e-4)
    assert ndcg_at_k([None, None], 1, 10) == 0.0


def test_percentiles():
    values = [float(v) for v in range(1, 101)]
    got = percentiles(values)
    assert got["p50"] == pytest.approx(50.5) and got["p95"] == pytest.approx(95.05)
    assert percentiles([]) == {"p50": 0.0, "p95": 0.0}
