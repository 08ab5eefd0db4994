"""The judged term set: terms.jsonl plus the documents blind judges graded as answering, kept in sync."""

import json

from eval.judged import DATASETS, judged_rows
from tests.conftest import ROOT


def read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_terms_judged_is_terms_plus_the_judged_documents_and_in_sync():
    terms = read(DATASETS / "terms.jsonl")
    rows = judged_rows(DATASETS / "terms.jsonl", DATASETS / "judgments" / "terms.jsonl")
    assert read(DATASETS / "terms_judged.jsonl") == rows, "terms_judged.jsonl is stale: run `python -m eval.judged`"
    assert [r["id"] for r in rows] == [t["id"] for t in terms]
    for row, term in zip(rows, terms):
        assert row["question"] == term["question"]
        assert row["gold"][: len(term["gold"])] == term["gold"]  # the written-for term always stays
        for extra in row["gold"][len(term["gold"]):]:
            assert (ROOT / extra).is_file(), extra


def test_every_question_was_judged_and_only_graded_two_counts(tmp_path):
    judgments = read(DATASETS / "judgments" / "terms.jsonl")
    assert {j["id"] for j in judgments} == {t["id"] for t in read(DATASETS / "terms.jsonl")}
    assert all(set(j["grades"].values()) <= {0, 1, 2} for j in judgments)
    # a 1 (related) is not relevant; the higher grade wins when a document was judged twice
    (tmp_path / "q.jsonl").write_text('{"id": "a", "question": "q", "gold": ["X"]}\n', encoding="utf-8")
    (tmp_path / "j.jsonl").write_text(
        '{"id": "a", "grades": {"corpus/terms/Y.md": 1, "corpus/terms/Z.md": 2, "corpus/terms/X.md": 2}}\n'
        '{"id": "a", "grades": {"corpus/terms/Y.md": 2, "corpus/terms/W.md": 1}}\n', encoding="utf-8")
    assert judged_rows(tmp_path / "q.jsonl", tmp_path / "j.jsonl")[0]["gold"] == [
        "X", "corpus/terms/Y.md", "corpus/terms/Z.md"]
