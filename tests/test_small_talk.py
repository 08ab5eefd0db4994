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


def test_the_classifier_learns_the_examples_and_is_kept_on_disk(tmp_path, monkeypatch):
    import rag.small_talk as st

    asked = []

    def questions() -> list[str]:
        asked.append(1)
        return ["해지환급금이 왜 적어요?", "갱신형은 보험료가 올라요?", "청약철회는 며칠 안에 해요?"]

    monkeypatch.setattr(st, "_CACHE", {})
    trained = st.get_classifier("v1", questions, cache_dir=tmp_path)
    stored = list(tmp_path.glob("small_talk-*.joblib"))
    assert len(stored) == 1 and st.get_classifier("v1", questions, cache_dir=tmp_path) is trained and len(asked) == 1
    assert trained.predict("고마워요 ㅎㅎ")[0] == "thanks" and trained.predict("해지환급금이 왜 적어요?")[0] == st.NONE
    monkeypatch.setattr(st, "_CACHE", {})  # a new process loads it, without reading the questions
    loaded = st.get_classifier("v1", questions, cache_dir=tmp_path)
    assert loaded is not trained and loaded.predict("고마워요 ㅎㅎ") == trained.predict("고마워요 ㅎㅎ") and len(asked) == 1
    stored[0].write_bytes(b"not a model")  # damaged: trained again, and stored again
    monkeypatch.setattr(st, "_CACHE", {})
    assert st.get_classifier("v1", questions, cache_dir=tmp_path).predict("고마워요 ㅎㅎ")[0] == "thanks"
    assert stored[0].read_bytes() != b"not a model" and len(asked) == 2
    monkeypatch.setattr(st, "_CACHE", {})  # another version of the corpus: a new file replaces the old one
    st.get_classifier("v2", questions, cache_dir=tmp_path)
    assert [p.name for p in tmp_path.glob("small_talk-*.joblib")] not in ([], [stored[0].name])
    assert len(list(tmp_path.glob("small_talk-*.joblib"))) == 1
    assert st.get_classifier("v1", questions, path=tmp_path / "missing.yaml") is None


class Sure:
    """A classifier that says what it is told, to test the guards around it."""

    def __init__(self, label: str, p: float) -> None:
        self.label, self.p = label, p

    def predict(self, text: str) -> tuple[str, float]:
        return self.label, self.p


def test_a_sure_classifier_reads_what_the_rules_miss_under_the_same_guards():
    from rag.small_talk import SURE

    assert small_talk("방가방가", []) is None  # the rules do not know it
    assert small_talk("방가방가", [], Sure("hello", SURE)) == "hello"
    assert small_talk("방가방가", [], Sure("hello", SURE - 0.01)) is None
    assert small_talk("방가방가", [], Sure("none", 0.99)) is None
    assert small_talk("해지환급금 방가방가", ["해지환급금"], Sure("hello", 0.99)) is None  # names a term
    assert small_talk("그럼 언제까지 해요?", [], Sure("ack", 0.99)) is None  # asks when
    assert small_talk("새벽에도 답해줘요? 몇 시까지 해요?", [], Sure("about_me", 0.99)) == "about_me"
    assert small_talk("고객이 '몇 살이야?' 하면요?", [], Sure("about_me", 0.99)) is None  # a customer's words
    assert small_talk("고마워요", [], Sure("none", 0.99)) == "thanks"  # the rules decide first
