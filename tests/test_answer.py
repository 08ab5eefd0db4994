"""`ask` on a real small index: cited extractive answers, refusals, follow-ups, and the citation check."""

import re

import pytest

from rag.answer import Answer, ask, ask_stream
from rag.errors import InputValidationError
from rag.generate import ExtractiveGenerator
from rag.llm import LLMUnavailableError
from tests.fakes import ScriptedGenerator


def chunk_text(services, chunk_id):
    return services.retriever.index.docstore.get_chunks([chunk_id])[chunk_id].text


def test_insurance_question_gets_a_grounded_answer_with_checked_quotes(small_index):
    answer = ask("해지환급금이 낸 보험료보다 적은 이유가 뭐예요?", small_index.retriever, ExtractiveGenerator())
    assert answer.grounded and "[1]" in answer.answer
    assert answer.citations[0].title == "해지환급금"
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for citation in answer.citations:
        assert citation.quote and citation.quote in chunk_text(small_index, citation.chunk_id)
        assert f"[{citation.n}]" in answer.answer
    # extractive: every sentence of the answer is a sentence of a cited chunk
    for sentence in answer.answer.split(" ["):
        body = sentence.split("] ", 1)[-1].strip()
        if body and not body.rstrip("]").isdigit():
            assert any(body in chunk_text(small_index, c.chunk_id) for c in answer.citations)
    assert set(answer.timings_ms) == {"retrieve", "generate", "total"} and answer.prompt_version == "extractive@1.6"
    # each number opens the very sentence it follows
    quotes = {c.n: c.quote for c in answer.citations}
    for claim in re.findall(r"(.+?) \[(\d+)\]\s*", answer.answer):
        assert quotes[int(claim[1])] == claim[0].strip()


def test_extractive_answers_leave_out_customer_lines_bad_examples_and_myths(small_index):
    """Whatever the question, the answer is made of what partners may say: no customer's line, no guideline's bad
    example, and a misconception never without its correction (a question that repeats the myth gets the whole
    "오해: … → 사실: …" line, labelled as such)."""
    questions = ["고객이 원금 보장되냐고 물으면 뭐라고 해요?", "갱신형 보험료가 안 오른다고 말해도 돼요?",
                 "해지환급금은 낸 돈 다 돌려받는 거죠?", "갱신형이랑 비갱신형 차이가 뭐예요?"]
    for question in questions:
        answer = ask(question, small_index.retriever, ExtractiveGenerator())
        assert answer.grounded
        for citation in answer.citations:
            text = chunk_text(small_index, citation.chunk_id)
            line = text[text.rfind("\n", 0, text.index(citation.quote)) + 1:]
            assert not line.lstrip("-* ").startswith(("고객:", "나쁜 예"))
            assert not citation.quote.startswith("오해:") or "→ 사실:" in citation.quote
            assert "오해:" not in citation.quote[1:]


@pytest.mark.parametrize("question", ["내일 서울 날씨 어때요?", "파이썬으로 웹 크롤러 짜는 법 알려줘", "비트코인 지금 사도 돼요?"])
def test_off_domain_questions_are_refused_without_citations(small_index, question):
    answer = ask(question, small_index.retriever, ExtractiveGenerator())
    assert not answer.grounded and answer.citations == [] and "근거를 찾지 못해" in answer.answer


def test_only_a_near_miss_refusal_suggests_related_terms(small_index):
    from rag.retrieve import Retriever

    question = "중간에 보험을 깨면 돌려받는 돈이 왜 낸 돈보다 적어요?"  # names no term: grounded only by its score
    base = small_index.retriever
    grounding = base.search(question, k=5, mode="hybrid", ground=True).grounding
    assert grounding.grounded and not grounding.named
    score = grounding.score
    strict = Retriever(base.index, base.embedder, ground_threshold=score + 0.05)  # just out of reach: a near miss
    near = ask(question, strict, ExtractiveGenerator())
    assert not near.grounded and "해지환급금" in near.suggestions
    far = Retriever(base.index, base.embedder, ground_threshold=score + 0.5)
    assert ask(question, far, ExtractiveGenerator()).suggestions == []
    off = ask("김치찌개 맛있게 끓이는 법", base, ExtractiveGenerator())
    assert not off.grounded and off.suggestions == []


def test_follow_up_question_uses_the_conversation(small_index):
    answer = ask("그럼 비갱신형은요?", small_index.retriever, ExtractiveGenerator(),
                 history=["갱신형은 왜 보험료가 올라요?"])
    assert answer.grounded and answer.citations[0].title == "비갱신형"
    assert "비갱신형" in answer.search_query and answer.search_query != answer.question
    # the name the follow-up replaces leaves the borrowed context even when it was written with a space; of
    # "갱신형 보험" only the part 비갱신형 negates is replaced, so 보험 stays
    spaced = ask("그럼 비갱신형은요?", small_index.retriever, ExtractiveGenerator(), history=["갱신형 보험은 왜 올라요?"])
    assert spaced.search_query.endswith("비갱신형 보험은 왜 올라요?") and spaced.citations[0].title == "비갱신형"


def test_a_follow_up_name_replaces_the_name_most_like_it_and_keeps_the_context(small_index):
    from rag.answer import contextualize, contrasted, replaced_name

    retriever = small_index.retriever
    query, left_out = contextualize("그럼 비갱신형은요?", ["갱신형 보험료는 나중에 오르나요?"], retriever)
    assert left_out == ("갱신형",)
    assert query.endswith("비갱신형 보험료는 나중에 오르나요?")  # 보험료 stays: it is context, not the topic
    answer = ask("그럼 비갱신형은요?", retriever, ExtractiveGenerator(), history=["갱신형 보험료는 나중에 오르나요?"])
    assert answer.citations[0].title == "비갱신형"
    # the head noun decides between names that share as many letters; a name sharing none replaces nothing
    assert replaced_name("암보험", ["보험금청구", "실손보험"]) == "실손보험"
    assert replaced_name("면책기간", ["실손보험"]) is None
    # a name that differs by a negating prefix replaces only that part of a longer alias; any other, all of it
    assert contrasted("비급여진료비", "급여") == "비급여" and contrasted("갱신형보험", "비갱신형") == "갱신형"
    assert contrasted("실손보험", "암보험") == "실손보험" and contrasted("비급여", "급여") == "비급여"
    query, left_out = contextualize("그럼 면책기간은요?", ["비급여 청구 서류 뭐예요?"], retriever)
    assert left_out == () and "비급여 청구 서류" in query


def test_a_question_that_names_its_term_stands_alone_and_one_the_documents_miss_is_a_follow_up(small_index):
    from rag.answer import contextualize, search_turn

    retriever = small_index.retriever
    previous = ["어제 청약서에 서명한 고객이 마음이 바뀌었대요"]
    assert contextualize("근데 면책기간이 뭐예요?", previous, retriever) == ("근데 면책기간이 뭐예요?", ())
    assert not retriever.search("아직 취소돼요?", k=5, ground=True).grounding.grounded  # alone: nothing to go on
    turn = search_turn("아직 취소돼요?", previous, retriever)
    assert turn.query == "아직 취소돼요? " + previous[0] and turn.grounding.grounded
    assert turn.hits[0].chunk.title == "청약철회" and set(turn.timings_ms) == {"own", "context", "total"}
    answer = ask("아직 취소돼요?", retriever, ExtractiveGenerator(), history=previous)
    assert answer.grounded and answer.citations[0].title == "청약철회" and answer.search_query == turn.query


def test_the_writer_is_given_what_a_chat_turn_leans_on(small_index):
    """The words a follow-up's search borrowed, with the name it replaced; for a turn searched alone, the previous
    question; nothing outside a chat."""
    retriever = small_index.retriever
    writer = ScriptedGenerator("답 [1]")
    ask("그럼 비갱신형은요?", retriever, writer, history=["갱신형은 왜 보험료가 올라요?"])
    ask("근데 면책기간이 뭐예요?", retriever, writer, history=["어제 청약서에 서명한 고객이 마음이 바뀌었대요"])
    ask("면책기간이 뭐예요?", retriever, writer)
    assert writer.contexts == ["비갱신형은 왜 보험료가 올라요?", "어제 청약서에 서명한 고객이 마음이 바뀌었대요", ""]
    assert writer.calls == ["그럼 비갱신형은요?", "근데 면책기간이 뭐예요?", "면책기간이 뭐예요?"]


@pytest.mark.parametrize("question", ["오늘 점심 뭐 먹지?", "그럼 비트코인은요?", "근데 이번 주말 날씨는 어때요?"])
def test_an_off_domain_turn_in_a_chat_is_refused_not_answered_from_the_previous_topic(small_index, question):
    """The turn says a noun no document contains, so it is searched alone, not with the previous question."""
    from rag.answer import contextualize

    previous = ["어제 청약서에 서명한 고객이 마음이 바뀌었대요"]
    assert contextualize(question, previous, small_index.retriever, follow_up=True) == (question, ())
    answer = ask(question, small_index.retriever, ExtractiveGenerator(), history=previous)
    assert not answer.grounded and answer.citations == [] and answer.search_query == question


def test_small_talk_gets_its_own_reply_and_leaves_the_chat_topic_alone(small_index):
    """Thanks or a word to the assistant is not answered from the documents (a script says "고마워요." too), nor
    refused as off-topic; the next follow-up still leans on the question before it."""
    from rag.small_talk import REPLIES

    retriever, previous = small_index.retriever, ["갱신형 보험료는 나중에 오르나요?"]
    for turn, kind in [("고마워요 ㅎㅎ", "thanks"), ("오 고마워요 근데 너는 누가 만들었어?", "about_me")]:
        reply = ask(turn, retriever, ExtractiveGenerator(), history=previous)
        assert (reply.grounded, reply.answer, reply.small_talk) == (False, REPLIES[kind], kind)
        assert reply.citations == [] and reply.suggestions == [] and reply.to_json()["small_talk"] == kind
    after = ask("그럼 비갱신형은요?", retriever, ExtractiveGenerator(), history=[*previous, "고마워요"])
    assert after.grounded and after.citations[0].title == "비갱신형" and previous[0] in after.search_query
    asked = ask("너라면 해지환급금 어떻게 설명해?", retriever, ExtractiveGenerator(), history=previous)
    assert asked.grounded and asked.citations[0].title == "해지환급금" and "small_talk" not in asked.to_json()


def test_a_family_word_no_document_says_does_not_make_a_follow_up_stand_alone(small_index):
    from rag.answer import contextualize, unseen_nouns

    previous = ["갱신형 보험료는 나중에 오르나요?"]
    question = "처남이 가입하면요?"
    assert small_index.retriever.index.keyword.unseen(question) == ["처남"]  # no document says 처남
    assert unseen_nouns(question, small_index.retriever) == []
    assert contextualize(question, previous, small_index.retriever)[0] == f"{question} {previous[0]}"
    assert unseen_nouns("처남이 비트코인 사도 돼요?", small_index.retriever) == ["비트코인"]


@pytest.mark.parametrize("question", ["", "   ", "가" * 2001])
def test_question_limits(small_index, question):
    with pytest.raises(InputValidationError) as err:
        ask(question, small_index.retriever, ExtractiveGenerator())
    assert err.value.field == "question"


def test_invalid_markers_are_dropped_and_the_rest_renumbered(small_index):
    generator = ScriptedGenerator("갱신형은 갱신 때 보험료가 오를 수 있어요 [2]. 출처 없는 말 [9].")
    answer = ask("갱신형 보험료는 왜 올라요?", small_index.retriever, generator)
    assert answer.fallback is None and answer.generator == "scripted"
    assert "[9]" not in answer.answer and answer.answer.startswith("갱신형은 갱신 때 보험료가 오를 수 있어요 [1].")
    assert len(answer.citations) == 1 and answer.citations[0].n == 1


def test_an_answer_citing_nothing_real_falls_back_to_the_extractive_answer(small_index):
    answer = ask("갱신형 보험료는 왜 올라요?", small_index.retriever, ScriptedGenerator("근거 없이 지어낸 답 [7]"))
    assert answer.fallback == "no_valid_citation" and answer.notice
    assert answer.grounded and "[1]" in answer.answer and "지어낸" not in answer.answer
    assert answer.generator.startswith("extractive (fallback")


def test_model_unavailable_still_gives_the_cited_answer(small_index):
    generator = ScriptedGenerator("x", fail=LLMUnavailableError("HTTP 503"))
    events = list(ask_stream("비급여가 뭐예요?", small_index.retriever, generator))
    final = events[-1]
    assert isinstance(final, Answer) and final.fallback == "llm_unavailable" and final.grounded
    assert "응답하지 않아" in final.notice


def test_the_question_is_embedded_once_per_answer(small_index, monkeypatch):
    """Retrieval and the extractive sentence ranking share the question's vector (rag.embed.RecentQueries)."""
    embedder = small_index.retriever.embedder
    embedder.clear_query_cache()
    encoded: list[str] = []
    encode = embedder._encode_query
    monkeypatch.setattr(embedder, "_encode_query", lambda text: encoded.append(text) or encode(text))
    question = "해지환급금이 낸 보험료보다 적은 이유가 뭐예요?"
    first = ask(question, small_index.retriever, ExtractiveGenerator(embedder))
    assert first.grounded and encoded == [question]
    vector = embedder.embed_query(question)
    vector[0] += 1.0  # a caller changing its copy does not change the cached vector
    assert embedder.embed_query(question)[0] == vector[0] - 1.0
    embedder.clear_query_cache()  # the benchmark clears it before each timed call
    embedder.embed_query(question)
    assert encoded == [question, question]
    embedder.clear_query_cache()


@pytest.mark.parametrize("typed,read", [
    ("ㅋㅋ 그럼 해지하면요?", "그럼 해지하면요?"), ("그럼 기간은요ㅎㅎ", "그럼 기간은요"), ("설명 좀ㅠㅠ 부탁해요", "설명 좀 부탁해요"),
    ("1~3년 갱신형은요? ^^", "1~3년 갱신형은요?"), ("고마워요 :)", "고마워요"),
    ("ㅋㅋㅋ", "ㅋㅋㅋ"),  # only noise: left as typed, to be refused as such
    ("갱신형 보험료", "갱신형 보험료"),
])
def test_chat_noise_is_read_as_nothing(typed, read):
    from rag.answer import without_noise

    assert without_noise(typed) == read
