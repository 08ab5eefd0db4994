"""What is kept of the LLM's rewrite of a chat turn (rag.condense), without a server."""

import pytest

from rag.condense import Condenser, clean


@pytest.mark.parametrize("text, kept", [
    ("종신보험을 중간에 해지하면 얼마 돌려받나요?", "종신보험을 중간에 해지하면 얼마 돌려받나요?"),
    ('바꾼 질문: "비갱신형 보험료는 나중에 오르나요?"\n(앞선 질문의 갱신형을 비갱신형으로 바꿨습니다.)',
     "비갱신형 보험료는 나중에 오르나요?"),
    ("\n\n- 「실손보험 청구는 어떻게 하나요?」", "실손보험 청구는 어떻게 하나요?"),
    ("", None),
    ("Sure! Here is the rewritten question.", None),
    ("비갱신형은 보험료가 오르지 않아요 [1].", None),  # an answer with a source number, not a question
])
def test_the_first_line_without_lead_or_quotes_is_the_rewrite(text, kept):
    assert clean(text) == kept


class Recorder:
    """Records the messages it is asked with and replies with a fixed text."""

    name = "openai:recorder"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[list[dict]] = []

    def stream(self, messages, *, prompt_version, deadline=None):
        self.calls.append(messages)
        yield self.reply


def test_only_a_turn_with_a_chat_is_sent_with_its_last_three_questions():
    llm = Recorder("갱신형 보험의 해지환급금은 얼마인가요?")
    condenser = Condenser(llm)
    assert condenser.rewrite("해지환급금은요?", []) is None and condenser.rewrite("해지환급금은요?", ["  "]) is None
    assert llm.calls == []
    history = ["첫 질문이에요?", "둘째 질문이에요?", "셋째 질문이에요?", "갱신형 보험료는 오르나요?"]
    assert condenser.rewrite("해지환급금은요?", history) == "갱신형 보험의 해지환급금은 얼마인가요?"
    user = llm.calls[0][1]["content"]
    assert "첫 질문" not in user and user.index("둘째") < user.index("갱신형 보험료") < user.index("해지환급금은요?")


def test_a_rewrite_much_longer_than_the_turn_is_not_used():
    assert Condenser(Recorder("가" * 300 + "?")).rewrite("그럼 비갱신형은요?", ["갱신형 보험료는 오르나요?"]) is None
