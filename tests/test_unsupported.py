"""Claims the document does not make: numbers it does not give, universals it does not say (real Kiwi)."""

import pytest

from rag.missions.common import content_words
from rag.missions.unsupported import overclaims, quantities, wrong_numbers

DOCUMENT = ("보험 판매에서는 보통 65세 이상을 고령 소비자로 보고, 80세 이상은 초고령자로 본다.\n"
            "면제 사유는 약관에 정한 암, 뇌졸중, 급성심근경색증 진단이나 50% 이상 장해로 한정된다.")
SENTENCES = [(line, n) for n, line in enumerate(DOCUMENT.splitlines(), start=1)]


def flat_idf(word: str) -> float:
    return 1.0


def test_quantities_read_digits_ranges_and_unambiguous_korean_numerals():
    assert quantities("만 70세부터, 1,000일 안에, 3~100%까지, 두 배, 한 달") == {
        ("70", "세"), ("1000", "일"), ("3", "%"), ("100", "%"), ("2", "배"), ("1", "개월")}
    assert quantities("미리 정해 두세요, 한 번에 받는 금액") == set()


def test_a_number_the_document_does_not_give_is_reported_with_its_sentence():
    found = wrong_numbers("보험에서는 만 70세부터 고령 소비자로 봐요.", ["보험에서는 만 70세부터 고령 소비자로 봐요."],
                          DOCUMENT, SENTENCES, content_words, flat_idf)
    assert found == [("보험에서는 만 70세부터 고령 소비자로 봐요.", SENTENCES[0][0], 1)]


@pytest.mark.parametrize("text", [
    "65세가 넘으시면 고령 소비자로 보고 설명을 더 챙겨 드려요.",  # the document's own number
    "예를 들어 75세 고객님이면 가족 동석을 권해 드려요.",  # an example
    "1년에 한 번 안내를 다시 드려요.",  # a rate
    "가입하고 3개월 안에 안내 전화를 드려요.",  # a unit the document never gives: nothing to contradict
])
def test_numbers_that_are_not_a_contradiction_are_not_reported(text):
    assert wrong_numbers(text, [text], DOCUMENT, SENTENCES, content_words, flat_idf) == []


def test_a_universal_the_document_does_not_say_is_an_overclaim():
    text = "감기든 뭐든 진단만 받으시면 다 면제돼요."
    found = overclaims([text], SENTENCES, content_words, flat_idf)
    assert len(found) == 1 and found[0][0] == text and found[0][2] in (1, 2)


@pytest.mark.parametrize("text", [
    "면제가 무조건 되는 건 아니에요.",  # denied
    "진단을 받으셔도 면제가 안 될 수 있어요.",  # hedged
    "나중에 필요 없어지면 특약만 해지하세요.",  # in a condition
    "'누구나' 조건은 보험료가 비싸요.",  # in quotes
    "전부보험은 가입금액이 보험가액과 같은 경우예요.",  # the term's own name
])
def test_qualified_conditional_quoted_or_named_universals_are_not_overclaims(text):
    assert overclaims([text], SENTENCES, content_words, flat_idf, names=["전부보험"]) == []


def test_a_universal_the_document_also_says_is_not_an_overclaim():
    sentences = [("자동차를 가진 사람은 모두 대인배상Ⅰ에 들어야 한다.", 1)]
    assert overclaims(["차를 가진 분이면 누구나 대인배상Ⅰ에 들어야 해요."], sentences, content_words, flat_idf) == []
    assert overclaims(["차를 가진 분이면 누구나 대인배상Ⅰ에 들어야 해요."], SENTENCES, content_words, flat_idf)


def test_the_term_mission_reports_a_wrong_period_with_the_documents_number(small_index):
    from rag.missions.term import TermMission

    mission = TermMission(small_index.retriever)
    found, _ = mission.check("면책기간", "암 보장은 가입하고 60일만 지나면 바로 시작돼요.")
    assert found and "60일" in found[0].claim and "90일" in found[0].correction
    right, _ = mission.check("면책기간", "암 보장은 계약일부터 90일이 지난 다음 날부터 시작돼요.")
    assert right == []
