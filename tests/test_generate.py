"""The extractive answer's sentence choice: meaning, self-contained sentences, no small talk; and `eval answers`."""

from types import SimpleNamespace

import pytest

from eval.answers import answer_sentences, evaluate_answers, evaluate_myths, myth_corrections, myth_questions
from rag.answer import Answer
from rag.errors import UnknownBackendError
from rag.generate import LIGHT_VERBS, ExtractiveGenerator, SentenceWeights, myth_restated
from rag.keyword import token_set
from rag.service import Services
from rag.settings import Settings
from rag.types import Chunk, Hit
from tests.fakes import HashEmbedder


def hit(text: str, title: str = "면책기간", doc_type: str = "term", chunk_index: int = 1) -> Hit:
    chunk = Chunk(chunk_id=f"{title}-{chunk_index}", doc_id=title, text=text, title=title, source=f"{title}.md",
                  doc_type=doc_type, chunk_index=chunk_index)
    return Hit(chunk=chunk, score=1.0)


def test_a_sentence_that_leans_on_the_one_before_gives_way_to_one_that_stands_alone():
    text = ("## 고객에게 설명하는 예시\n"
            "\"보장은 90일 뒤에 시작돼요. 그러니 암보험을 해지하고 새로 가입하시면 90일이 다시 생겨요.\"\n"
            "## 핵심 포인트\n- 암보험을 새로 가입하면 면책기간 90일이 새로 생긴다.")
    question = "암보험을 해지하고 새로 가입하면 90일이 다시 생겨요?"
    leaning = "그러니 암보험을 해지하고 새로 가입하시면 90일이 다시 생겨요."
    assert ExtractiveGenerator(max_sentences=1, weights=SentenceWeights(leans_back=0)).pick(
        question, [hit(text)]) == [(1, leaning)]  # the closer match in words, but "그러니" points at a hidden line
    assert ExtractiveGenerator(max_sentences=1).pick(question, [hit(text)]) == [
        (1, "암보험을 새로 가입하면 면책기간 90일이 새로 생긴다.")]
    # the quoted example's closing mark is not part of its last sentence
    picked = ExtractiveGenerator(max_sentences=3).pick(question, [hit(text)])
    assert leaning in [s for _, s in picked] and not any(s.endswith('"') for _, s in picked)
    # a caveat that opens with 다만 or 하지만 contrasts with a line the answer does not show either
    caveat = ("## 고객에게 설명하는 예시\n\"유예기간 동안은 보장받으실 수 있어요. 다만 그 기간이 지나면 해지돼요.\"\n"
              "## 정의\n납입유예기간은 보험료가 밀려도 계약을 곧바로 해지하지 않고 기다려 주는 기간이다.")
    assert ExtractiveGenerator(max_sentences=1).pick("유예기간이 지나면 해지돼요?", [hit(caveat, "납입유예기간")]) == [
        (1, "납입유예기간은 보험료가 밀려도 계약을 곧바로 해지하지 않고 기다려 주는 기간이다.")]
    assert ExtractiveGenerator(max_sentences=1, weights=SentenceWeights(leans_back=0)).pick(
        "유예기간이 지나면 해지돼요?", [hit(caveat, "납입유예기간")]) == [(1, "다만 그 기간이 지나면 해지돼요.")]


def test_a_when_or_how_much_question_leads_with_the_time_or_the_amount():
    """"실비 청구 몇 년 안에 해야 돼요?" led with how to claim; the sentence with the deadline answers it."""
    text = ("## 정의\n보험금 청구는 사고가 난 뒤 보험회사에 서류를 내고 보험금을 달라고 요청하는 절차예요.\n"
            "## 기한\n청구권은 3년 동안 행사하지 않으면 소멸해요.")
    question = "실비 청구 몇 년 안에 해야 돼요?"
    cued = ExtractiveGenerator(max_sentences=1)
    assert cued.pick(question, [hit(text, "보험금 청구", chunk_index=0)]) == [(1, "청구권은 3년 동안 행사하지 않으면 소멸해요.")]
    # a question that asks no time gets the definition first
    assert cued.pick("실비 청구가 뭐예요?", [hit(text, "보험금 청구", chunk_index=0)])[0][1].startswith("보험금 청구는")
    # "뭐라고 해요?" asks for a name even when it says 비율; an amount does not answer it
    named = ("## 정의\n사업비율은 보험료 가운데 회사 운영비로 쓴 몫의 비율이에요.\n"
             "## 예시\n보험료 100원 중 20원을 운영비로 썼다면 20%예요.")
    assert cued.pick("걷은 보험료 중 운영비로 쓴 비율을 뭐라고 해요? 얼마쯤이에요?", [hit(named, "사업비율", chunk_index=0)])[0][
        1].startswith("사업비율은")


def test_a_sentence_that_repeats_an_earlier_one_in_other_words_is_skipped():
    """Two term documents carry the same worked example; the answer says it once and moves on."""
    first = hit("3월 1일에 가입하시면 90일 면책기간이 지나고 5월 30일부터 암 보장이 시작돼요.", "암보험")
    second = hit("오늘 3월 1일에 가입하시면 암 보장은 5월 30일부터 시작돼요. 암 등 일부 보장은 면책기간이 지나야 "
                 "보장이 시작된다.", "면책기간")
    picked = [s for _, s in ExtractiveGenerator(max_sentences=2).pick("암보험 가입하고 바로 보장돼요?", [first, second])]
    assert picked == ["3월 1일에 가입하시면 90일 면책기간이 지나고 5월 30일부터 암 보장이 시작돼요.",
                      "암 등 일부 보장은 면책기간이 지나야 보장이 시작된다."]


def test_a_question_that_says_a_listed_myth_is_answered_by_the_whole_myth_and_fact_line():
    """"변액보험 원금 보장돼요?" led with the definition; the document's own "오해: … → 사실: …" line settles it."""
    text = ("## 정의\n변액보험은 보험료 일부를 펀드에 투자해 실적에 따라 보험금과 환급금이 달라지는 보험이다.\n"
            "## 자주 하는 오해\n- 오해: 변액보험도 원금은 보장된다 → 사실: 운용 실적에 따라 원금 손실이 날 수 있다.\n"
            "- 오해: 펀드 수익률이 곧 내 수익률이다 → 사실: 사업비를 빼서 계약 수익률은 더 낮다.")
    line = "오해: 변액보험도 원금은 보장된다 → 사실: 운용 실적에 따라 원금 손실이 날 수 있다."
    doc = [hit(text, "변액보험", chunk_index=0)]
    picked = ExtractiveGenerator(max_sentences=2).pick("변액보험 원금 보장돼요?", doc)
    assert picked[0] == (1, line)
    assert ExtractiveGenerator(max_sentences=1, weights=SentenceWeights(myth=0)).pick(
        "변액보험 원금 보장돼요?", doc)[0][1].startswith("변액보험은")  # the definition, without the myth weight
    # asking what it is, or naming only one word of the myth, is not asking whether the myth holds
    assert ExtractiveGenerator(max_sentences=1).pick("변액보험이 뭐예요?", doc)[0][1].startswith("변액보험은")
    assert all(not s.startswith("오해:") for _, s in ExtractiveGenerator(max_sentences=3).pick(
        "변액보험 가입 나이 제한 있어요?", doc))


def test_light_verbs_do_not_make_a_question_restate_a_myth():
    """"청약철회는 언제까지 할 수 있어요?" was answered by three myth lines and no deadline: 철회, 하다 and 있다 are
    three of its four words in "철회하려면 정당한 이유가 있어야 한다"."""
    text = ("## 정의\n청약철회는 계약자가 정해진 기간 안에 이유 없이 청약을 거둬들이는 것이다.\n"
            "## 핵심 포인트\n- 증권을 받은 날부터 15일, 청약한 날부터 30일 안에 할 수 있다.\n"
            "## 자주 하는 오해\n- 오해: 철회하려면 정당한 이유가 있어야 한다 → 사실: 기간 안이면 이유 없이 철회할 수 있다.")
    doc = [hit(text, "청약철회", chunk_index=0)]
    spoken = [w for w in (token_set(w) - LIGHT_VERBS for w in "청약철회는 언제까지 할 수 있어요?".split()) if w]
    assert myth_restated(spoken, text.splitlines()[-1][2:]) == 0.0
    assert all(not s.startswith("오해:") for _, s in ExtractiveGenerator(max_sentences=2).pick(
        "청약철회는 언제까지 할 수 있어요?", doc))
    assert ExtractiveGenerator(max_sentences=1).pick("철회하려면 이유가 있어야 돼요?", doc)[0][1].startswith("오해:")


def test_script_greetings_and_questions_are_not_answers():
    text = ("## 오프닝\n설계사: 안녕하세요, 오늘은 실손보험 청구 서류를 같이 챙겨 보려고 해요.\n"
            "## 상품 설명\n설계사: 실손보험 청구 서류는 진료비 영수증과 진료비 세부내역서가 기본이에요.\n"
            "설계사: 실손보험 청구 서류 중에 빠진 게 있으신가요?")
    question, hits = "실손보험 청구 서류는 뭐가 필요해요?", [hit(text, "실손 청구 상담", "script")]
    plain = ExtractiveGenerator(max_sentences=3, weights=SentenceWeights(small_talk=0)).pick(question, hits)
    assert plain[0][1] != "실손보험 청구 서류는 진료비 영수증과 진료비 세부내역서가 기본이에요."
    picked = ExtractiveGenerator(max_sentences=1).pick(question, hits)
    assert picked == [(1, "실손보험 청구 서류는 진료비 영수증과 진료비 세부내역서가 기본이에요.")]


def test_with_an_embedder_the_sentence_closer_in_meaning_wins_and_vectors_are_reused():
    text = "면책기간 동안 암 진단을 받으면 보험금이 나오지 않는다. 면책기간은 보험회사마다 이름이 조금씩 다르다."
    question = "면책기간 동안 암 진단을 받으면 보험금이 나와요?"
    embedder = HashEmbedder()
    generator = ExtractiveGenerator(embedder, max_sentences=1)
    assert generator.pick(question, [hit(text)]) == [(1, "면책기간 동안 암 진단을 받으면 보험금이 나오지 않는다.")]
    generator.pick("면책기간이 뭐예요?", [hit(text)])
    assert embedder.calls == [2]  # the chunk's two sentences were embedded once, for both questions


def test_a_chat_turns_borrowed_words_count_half_toward_the_sentence_it_is_answered_with():
    """"양로보험은요?" after a question on getting the premiums back is about that, for 양로보험: the previous
    question's words weigh half of the turn's own (extractive@1.6), in the overlap and in the query vector."""
    text = "양로보험은 생사혼합보험이다. 양로보험은 만기까지 살아 있으면 낸 보험료만큼 만기보험금으로 돌려받는다."
    turn, previous = "양로보험은요?", "정기보험은 만기까지 살아 있으면 낸 보험료 돌려받아요?"
    refund = "양로보험은 만기까지 살아 있으면 낸 보험료만큼 만기보험금으로 돌려받는다."
    for embedder in (None, HashEmbedder()):
        generator = ExtractiveGenerator(embedder, max_sentences=1)
        assert generator.pick(turn, [hit(text, "양로보험")]) == [(1, "양로보험은 생사혼합보험이다.")]
        assert generator.pick(turn, [hit(text, "양로보험")], context=previous) == [(1, refund)]
        # weighed at 0 the context changes nothing
        alone = ExtractiveGenerator(embedder, max_sentences=1, weights=SentenceWeights(context=0))
        assert alone.pick(turn, [hit(text, "양로보험")], context=previous) == [(1, "양로보험은 생사혼합보험이다.")]


def test_eval_answers_reads_answers_against_the_judged_sentences():
    rows = [
        {"id": "q1", "question": "가", "sentences": [{"text": "직답 문장이다.", "grade": 2},
                                                    {"text": "배경 문장이다.", "grade": 1}]},
        {"id": "q2", "question": "나", "sentences": [{"text": "직답 문장이다.", "grade": 2}]},
        {"id": "q3", "question": "다", "sentences": []},
    ]
    texts = {"가": "배경 문장이다. [1] 직답 문장이다. [2]", "나": "직답 문장이다. [1] 새 문장이다. [1]"}

    def ask(question: str, history: list[str]) -> Answer:
        if question not in texts:
            return Answer(question=question, answer="", grounded=False, generator="extractive", prompt_version="x")
        return Answer(question=question, answer=texts[question], grounded=True, generator="extractive",
                      prompt_version="x")

    assert answer_sentences(texts["가"]) == ["배경 문장이다.", "직답 문장이다."]
    result = evaluate_answers(ask, rows)
    assert result["refused"] == 1 and result["first_direct"] == 0.5 and result["any_direct"] == 1.0
    assert result["mean_grade"] == round((1 + 2 + 2) / 3, 3) and result["judged"] == 0.75
    assert result["unjudged"] == [{"id": "q2", "sentence": "새 문장이다."}]


def test_eval_answers_asks_listed_myths_back_and_checks_the_first_sentence_corrects_the_right_one():
    text = ("## 자주 하는 오해\n- 오해: 공시이율은 만기까지 고정된다 → 사실: 시장금리에 따라 매달 바뀔 수 있다.\n"
            "- 오해: 공시이율이 높으면 환급금도 무조건 크다 → 사실: 사업비를 빼고 적립된 금액에만 붙는다.")
    corrections = {"공시이율": myth_corrections(text)}
    assert corrections["공시이율"][0] == ("공시이율은 만기까지 고정된다", "시장금리에 따라 매달 바뀔 수 있다.")
    rows = [{"term": "공시이율", "claim": "공시이율은 가입할 때 만기까지 고정돼요.", "question": "공시이율은 가입할 때 만기까지 고정돼요?"}]
    answers = {"right": "오해: 공시이율은 만기까지 고정된다 → 사실: 시장금리에 따라 매달 바뀔 수 있다. [1]",
               "other": "사업비를 빼고 적립된 금액에만 붙는다. [1] 시장금리에 따라 매달 바뀔 수 있다. [1]"}
    for which, expected in [("right", 1.0), ("other", 0.0)]:
        result = evaluate_myths(lambda q: Answer(question=q, answer=answers[which], grounded=True, generator="x",
                                                 prompt_version="x"), rows, corrections)
        assert result == {"n": 1, "answered": 1, "first_corrects": expected}
    shipped = myth_questions()
    assert len(shipped) == 960 and all(r["question"].endswith("?") for r in shipped)


def test_services_build_one_extractive_writer_and_reject_an_unknown_llm(tmp_path):
    embedder = HashEmbedder()
    services = Services(Settings(data_dir=tmp_path, _env_file=None))
    services.retriever = SimpleNamespace(embedder=embedder)
    assert services.generator is services.extractive and services.extractive.embedder is embedder
    wrong = Services(Settings(data_dir=tmp_path, llm="gpt-4", _env_file=None))
    wrong.retriever = SimpleNamespace(embedder=embedder)
    with pytest.raises(UnknownBackendError, match="openai:<model>"):
        _ = wrong.generator
