from rag.cite import check_citations, renumber, sentence_spans

TEXT = """# 해지환급금

## 정의
해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다. 가입 초기에는 거의 없을 수 있다.

## 핵심 포인트
- 무해지환급형은 납입기간 중 해지하면 환급금이 없다.
"오해: 다 돌려받는다 → 사실: 적을 수 있다."
"""


def test_sentence_spans_are_exact_substrings_without_headings_or_bullets():
    spans = sentence_spans(TEXT)
    assert [s.text for s in spans][:3] == [
        "해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다.",
        "가입 초기에는 거의 없을 수 있다.",
        "무해지환급형은 납입기간 중 해지하면 환급금이 없다.",
    ]
    for span in spans:
        assert TEXT[span.start:span.end] == span.text
        assert not span.text.startswith(("#", "-", '"'))


def test_invalid_markers_are_removed_and_valid_ones_kept_in_order_of_use():
    text, used = check_citations("첫 문장 [2]. 없는 자료 [7]. 둘째 [1] 셋째 [2] [0]", 3)
    assert used == [2, 1]
    assert "[7]" not in text and "[0]" not in text and text.startswith("첫 문장 [2].")
    assert renumber(text, used).startswith("첫 문장 [1].") and "둘째 [2]" in renumber(text, used)


def test_no_valid_marker_means_nothing_used():
    assert check_citations("근거 없는 답 [9]", 2)[1] == []
