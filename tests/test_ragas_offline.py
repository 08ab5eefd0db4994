"""ragas non-LLM context precision/recall on a small real index (USE, Chroma, Kiwi); the real ragas metric code runs."""

import pytest

from eval.ragas_eval import ragas_context_metrics, reference_contexts, score_contexts
from eval.run import Question, gold_match

QUESTION = "보험을 중간에 해지하면 돌려받는 돈은 얼마예요?"


def retrieves(services, question: str, gold: list[str], k: int) -> bool:
    hits = services.retriever.search(question, k=k, mode="hybrid", ground=False).hits
    return any(gold_match(h.chunk, gold) for h in hits)


def test_exact_reference_gives_full_precision_and_recall():
    chunks = ["해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다.", "청약철회는 보험증권을 받은 날부터 15일 이내에 할 수 있다."]
    assert score_contexts(chunks, chunks) == (pytest.approx(1.0), pytest.approx(1.0))
    # an unrelated retrieved context matches nothing
    assert score_contexts(["비급여는 건강보험이 보장하지 않는 진료 항목이다. " * 3], chunks[:1]) == (0.0, 0.0)


def test_half_the_references_retrieved_gives_half_recall():
    refs = ["면책기간은 보험금을 지급하지 않는 기간으로, 암보험은 보통 계약일부터 90일이다.",
            "갱신형 보험은 정해진 기간마다 보험료가 다시 계산되어 오를 수 있다."]
    precision, recall = score_contexts([refs[0]], refs)
    assert recall == pytest.approx(0.5) and precision == pytest.approx(1.0)


def test_reference_contexts_are_the_gold_documents_chunks(small_index):
    docstore = small_index.retriever.index.docstore
    questions = [Question(id="a", question="q", gold=["해지환급금"]),
                 Question(id="b", question="q", gold=["G03_부당권유_금지_표현.md"]),
                 Question(id="c", question="노트북 추천", gold=[], expect="refuse")]
    refs = reference_contexts(docstore, questions)
    expected = [c.text for c in docstore.iter_chunks() if c.title == "해지환급금"]
    assert refs["a"] == expected and expected
    assert refs["b"] and not set(refs["b"]) & set(expected)
    assert "c" not in refs


def test_retrieved_gold_scores_higher_than_missing_gold(small_index):
    assert retrieves(small_index, QUESTION, ["해지환급금"], 3)
    assert not retrieves(small_index, QUESTION, ["G11_특별이익_제공_금지.md"], 3)
    questions = [Question(id="hit", question=QUESTION, gold=["해지환급금"]),
                 Question(id="miss", question=QUESTION, gold=["G11_특별이익_제공_금지.md"]),
                 Question(id="ood", question="오늘 점심 뭐 먹을까요?", gold=[], expect="refuse"),
                 Question(id="gone", question=QUESTION, gold=["없는_문서.md"])]
    result = ragas_context_metrics(small_index.retriever, questions, k=3)
    rows = {row["id"]: row for row in result["rows"]}
    assert result["n"] == 2 and result["k"] == 3
    assert result["skipped"] == {"no_gold": 1, "gold_not_in_index": 1}
    assert rows["hit"]["context_recall"] > 0 and rows["hit"]["context_precision"] > 0
    assert rows["miss"]["context_recall"] < rows["hit"]["context_recall"]
    assert rows["miss"]["context_precision"] < rows["hit"]["context_precision"]
    assert result["context_recall"] == pytest.approx(
        (rows["hit"]["context_recall"] + rows["miss"]["context_recall"]) / 2, abs=1e-4)
