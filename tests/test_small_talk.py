"""Small talk in the chat (rag.small_talk): which turns get a friendly reply of their own instead of an answer."""

import json

import pytest

from eval.run import DATASET_DIR
from rag.answer import without_noise
from rag.small_talk import REPLIES, small_talk


@pytest.mark.parametrize("turn, kind", [
    ("고마워요", "thanks"), ("ㄳ", "thanks"), ("감사합니다! 덕분에 이해됐어요", "thanks"), ("설명 감사합니다", "thanks"),
    ("네 감사합니다", "thanks"), ("thank you", "thanks"),
    ("안녕하세요?", "hello"), ("처음 뵙겠습니다", "hello"),
    ("수고하세요", "bye"), ("좋은 하루 보내세요", "bye"), ("안녕히 계세요", "bye"),
    ("알겠습니다", "ack"), ("이해됐어요", "ack"), ("네", "ack"), ("아 네", "ack"),
    ("너는 누가 만들었어?", "about_me"), ("오 고마워요 근데 너 이름이 뭐야?", "about_me"),
    ("혹시 너 챗GPT랑 같은거야?", "about_me"), ("근데 이거 사람이 답하는거예요 AI예요?", "about_me"),
])
def test_small_talk_is_told_by_kind(turn, kind):
    assert small_talk(turn, []) == kind and REPLIES[kind]


@pytest.mark.parametrize("turn, names", [
    ("좋아요?", []),  # asks whether it is good
    ("네?", []),
    ("1년에 몇 개까지 돼요?", []),  # a follow-up: numbers and bound nouns are words
    ("다시 설명해 주세요", []),
    ("AI가 보험료 계산해요?", []),  # about insurance, with a machine word
    ("고객이 '너네 회사 믿을 수 있어?'라고 하면 어떻게 해요?", []),  # a customer's words passed on
    ("고객이 너 보험사 직원이냐고 물으면요?", []),
    ("고마워요 그럼 면책기간은요?", ["면책기간"]),  # thanks, then a question
    ("너라면 해지환급금 어떻게 설명해?", ["해지환급금"]),
    ("ㅋㅋ", []), ("헐", []),
])
def test_questions_are_not_small_talk(turn, names):
    assert small_talk(turn, names) is None


def test_no_in_domain_turn_of_the_eval_sets_is_read_as_small_talk():
    """Every question and chat history line the eval sets expect answered, read without the names it says (so a
    turn is judged by its other words alone)."""
    turns = []
    for path in sorted(DATASET_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("expect") != "refuse":
                turns += [t for t in [row.get("question"), *(row.get("history") or [])] if isinstance(t, str)]
    assert len(turns) > 3000
    assert [t for t in turns if small_talk(without_noise(t), [])] == []
