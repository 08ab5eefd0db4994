from rag.cite import check_citations, cite_claims, claim_spans, sentence_spans, speaker
from rag.types import Chunk, Hit

TEXT = """# 해지환급금

## 정의
해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다. 가입 초기에는 거의 없을 수 있다.

## 핵심 포인트
- 무해지환급형은 납입기간 중 해지하면 환급금이 없다.
"오해: 다 돌려받는다 → 사실: 적을 수 있다."
"""


def hit(text: str, title: str = "해지환급금", chunk_id: str = "c1") -> Hit:
    return Hit(chunk=Chunk(chunk_id=chunk_id, doc_id=title, text=text, title=title, source=f"corpus/{title}.md"),
               score=0.5, rank=1)


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


def test_a_numbered_heading_is_not_split_into_a_sentence():
    text = "### G08-4. 비갱신형과의 차이를 공정하게 비교한다\n갱신형은 초기 보험료가 낮지만 갱신마다 오를 수 있다."
    assert [s.text for s in sentence_spans(text)] == ["갱신형은 초기 보험료가 낮지만 갱신마다 오를 수 있다."]


def test_invalid_markers_are_removed_and_valid_ones_kept_in_order_of_use():
    text, used = check_citations("첫 문장 [2]. 없는 자료 [7]. 둘째 [1] 셋째 [2] [0]", 3)
    assert used == [2, 1]
    assert "[7]" not in text and "[0]" not in text and text.startswith("첫 문장 [2].")


def test_no_valid_marker_means_nothing_used():
    assert check_citations("근거 없는 답 [9]", 2)[1] == []


def test_markers_after_the_full_stop_belong_to_the_sentence_before_them():
    text = "가입 초기에는 거의 없을 수 있다. [1] 무해지환급형은 환급금이 없다. [2][1] 끝."
    claims = [text[s:e] for s, e in claim_spans(text)]
    assert claims == ["가입 초기에는 거의 없을 수 있다. [1]", "무해지환급형은 환급금이 없다. [2][1]", "끝."]


def test_a_sentence_that_ends_in_a_closing_quote_is_a_claim_of_its_own():
    text = '좋은 예: "5년 안에 요구하실 수 있어요." [1] 만약 설명을 못 들으셨다면 해지를 요구하실 수 있어요. [2]'
    claims = [text[s:e] for s, e in claim_spans(text)]
    assert claims == ['좋은 예: "5년 안에 요구하실 수 있어요." [1]', "만약 설명을 못 들으셨다면 해지를 요구하실 수 있어요. [2]"]


def test_each_claim_cites_the_sentence_that_supports_it():
    """Two sentences from one chunk get two numbers, each quoting its own sentence; the same sentence cited twice
    keeps its number; a second source is numbered by first use."""
    other = hit("# 해약공제\n\n## 정의\n해약공제는 해지할 때 적립금에서 빼는 금액이다.", "해약공제", "c2")
    text = ("해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다. [1] 해약공제는 해지할 때 적립금에서 빼는 금액이다. [2] "
            "가입 초기에는 거의 없을 수 있다. [1] 다시 말해 해지되었을 때 돌려주는 금액이다 [1]")
    answer, citations = cite_claims(text, [hit(TEXT), other])
    assert answer == ("해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다. [1] 해약공제는 해지할 때 적립금에서 빼는 금액이다. [2] "
                      "가입 초기에는 거의 없을 수 있다. [3] 다시 말해 해지되었을 때 돌려주는 금액이다 [1]")
    assert [(c.n, c.chunk_id, c.quote) for c in citations] == [
        (1, "c1", "해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다."),
        (2, "c2", "해약공제는 해지할 때 적립금에서 빼는 금액이다."),
        (3, "c1", "가입 초기에는 거의 없을 수 있다."),
    ]


def test_a_marker_before_the_full_stop_and_a_repeated_marker():
    answer, citations = cite_claims("초기에는 거의 없을 수 있어요 [2][2].", [hit("다른 자료의 문장입니다.", "x", "c0"), hit(TEXT)])
    assert answer == "초기에는 거의 없을 수 있어요 [1]." and citations[0].quote == "가입 초기에는 거의 없을 수 있다."


def test_speaker_of_a_dialogue_line():
    text = "## 대화\n고객: 원금은 보장되죠? 확실하죠?\n설계사: 원금이 보장되는 상품이 아니에요. 이유를 설명드릴게요."
    assert speaker(text, text.index("확실하죠")) == "고객"
    assert speaker(text, text.index("이유를")) == "설계사"
    assert speaker(text, 0) is None


def test_quote_marks_of_an_example_are_not_part_of_its_sentences_but_quotes_inside_are():
    text = ('"갱신형은 요금제 같아요. 그러니 비교해 드릴게요."\n- "원금 보장"이라고 말하지 않는다.\n'
            "“한 줄 예시예요.”\n“첫 문장이에요. 둘째 문장이에요.”")
    spans = sentence_spans(text)
    assert [s.text for s in spans] == ["갱신형은 요금제 같아요.", "그러니 비교해 드릴게요.", '"원금 보장"이라고 말하지 않는다.',
                                       "한 줄 예시예요.", "첫 문장이에요.", "둘째 문장이에요."]
    assert all(text[s.start:s.end] == s.text for s in spans)
