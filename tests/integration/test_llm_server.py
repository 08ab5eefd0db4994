"""The real OpenAI-compatible client (llama-index OpenAILike over openai/httpx) against a local scripted server."""

import json
import time

import pytest

from eval.run import Question, evaluate
from rag.answer import MODEL_DOWN, REFUSAL, ask
from rag.condense import Condenser
from rag.generate import ExtractiveGenerator, LLMGenerator
from rag.llm import LLMUnavailableError, OpenAICompatibleLLM
from rag.llm_cache import MemoryCache
from rag.missions.term import TermMission
from tests.openai_server import ScriptedOpenAIServer

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "질문"}]


@pytest.fixture(scope="module")
def server():
    with ScriptedOpenAIServer() as srv:
        yield srv


def make_llm(server, **kwargs) -> OpenAICompatibleLLM:
    options = {"timeout": 5.0, "retries": 2, "cache": MemoryCache()} | kwargs
    return OpenAICompatibleLLM("test-model", base_url=server.url, api_key="k", **options)


def test_streams_pieces_and_sends_the_rendered_prompt(server):
    server.script({"text": "해지환급금은 해지할 때 돌려받는 돈이에요 [1]."})
    pieces = list(make_llm(server).stream(MESSAGES, prompt_version="answer@1.0"))
    assert len(pieces) > 1 and "".join(pieces) == "해지환급금은 해지할 때 돌려받는 돈이에요 [1]."
    body = server.requests[-1]["body"]
    assert body["stream"] is True and body["model"] == "test-model" and body["messages"][1]["content"] == "질문"


def test_transient_errors_are_retried_with_backoff(server):
    server.script({"status": 500}, {"status": 503}, {"text": "세 번째에 성공 [1]"})
    assert "".join(make_llm(server).stream(MESSAGES, prompt_version="p@1")) == "세 번째에 성공 [1]"
    assert server.chat_requests == 3


def test_client_errors_are_not_retried(server):
    server.script({"status": 401})
    with pytest.raises(LLMUnavailableError, match="HTTP 401"):
        list(make_llm(server).stream(MESSAGES, prompt_version="p@1"))
    assert server.chat_requests == 1


def test_circuit_opens_after_repeated_failures(server):
    server.script({"status": 500})
    llm = make_llm(server, retries=0, breaker_failures=2, breaker_reset=60)
    for _ in range(2):
        with pytest.raises(LLMUnavailableError):
            list(llm.stream(MESSAGES, prompt_version="p@1"))
    calls = server.chat_requests
    with pytest.raises(LLMUnavailableError, match="circuit open"):
        list(llm.stream(MESSAGES, prompt_version="p@1"))
    assert server.chat_requests == calls  # the open breaker did not call the server


def test_cache_hit_skips_the_server(server):
    server.script({"text": "캐시될 답 [1]"})
    cache = MemoryCache()
    llm = make_llm(server, cache=cache)
    first = "".join(llm.stream(MESSAGES, prompt_version="answer@1.0"))
    second = "".join(llm.stream(MESSAGES, prompt_version="answer@1.0"))
    other_version = "".join(llm.stream(MESSAGES, prompt_version="answer@1.1"))
    assert first == second == other_version == "캐시될 답 [1]"
    assert server.chat_requests == 2  # a new prompt version is a new key
    assert cache.stats() | {"entries": 0} == {"backend": "memory", "hits": 1, "misses": 2, "entries": 0}


def test_llm_answer_is_cited_and_records_the_prompt_version(server, small_index):
    server.script({"text": "갱신형은 갱신할 때 나이와 위험률이 반영돼 보험료가 오를 수 있어요 [1]. 근거 없는 말 [8]."})
    answer = ask("갱신형 보험료는 왜 올라요?", small_index.retriever, LLMGenerator(make_llm(server)))
    assert answer.grounded and answer.fallback is None
    assert answer.generator == "openai:test-model" and answer.prompt_version == "answer@1.1"
    assert "[8]" not in answer.answer and answer.citations[0].title in ("갱신형", "비갱신형")
    prompt = server.requests[-1]["body"]["messages"][1]["content"]
    assert "[1] " in prompt and "질문: 갱신형 보험료는 왜 올라요?" in prompt


def test_slow_model_falls_back_to_the_extractive_answer_within_the_timeout(server, small_index):
    server.script({"text": "늦은 답 [1]", "delay": 5})
    started = time.perf_counter()
    answer = ask("비급여가 뭐예요?", small_index.retriever, LLMGenerator(make_llm(server, timeout=1.0, retries=1)))
    elapsed = time.perf_counter() - started
    assert answer.fallback == "llm_unavailable" and answer.grounded and "[1]" in answer.answer
    assert elapsed < 4.0  # the partner is not kept waiting for the slow server


def test_model_answer_without_valid_citation_falls_back(server, small_index):
    server.script({"text": "자료와 상관없는 답입니다."})
    answer = ask("청약철회는 언제까지 돼요?", small_index.retriever, LLMGenerator(make_llm(server)))
    assert answer.fallback == "no_valid_citation" and answer.grounded
    assert answer.citations and "상관없는" not in answer.answer


def by_prompt(check: str, feedback: str):
    """A responder that answers the misconception check (prompt term_check) and the feedback prompt differently."""
    return lambda body: check if "심사자" in body["messages"][0]["content"] else feedback


def test_term_feedback_written_by_the_llm_passes_the_citation_check(server, small_index):
    server.script({"responder": by_prompt('{"misconceptions": []}', "핵심을 잘 짚었어요 [1]. 초기 해지 손실도 말해 주세요 [1].")})
    mission = TermMission(small_index.retriever, make_llm(server))
    result = mission.score("해지환급금", "해지하면 돌려받는 돈인데 초기에는 낸 보험료보다 훨씬 적을 수 있어요.")
    assert result.generator == "openai:test-model" and result.prompt_version == "term_feedback@1.0"
    assert result.feedback.startswith("핵심을 잘 짚었어요 [1].")
    server.script({"responder": by_prompt('{"misconceptions": []}', "출처 없는 피드백 [5]")})
    result = TermMission(small_index.retriever, make_llm(server)).score("해지환급금", "해지할 때 돌려받는 돈이에요.")
    assert result.generator == "extractive" and "[1]" in result.feedback


SUBTLE = ("해지환급금은 계약을 중간에 해지할 때 보험사에서 돌려받는 돈이에요. 가입하고 1년만 지나면 그때부터는 낸 보험료보다 "
          "많이 돌려받으실 수 있어요.")
CLAIM = "가입하고 1년만 지나면 그때부터는 낸 보험료보다 많이 돌려받으실 수 있어요"


def test_the_llm_check_finds_a_contradiction_the_rules_miss(server, small_index):
    offline = TermMission(small_index.retriever).score("해지환급금", SUBTLE)
    assert offline.misconceptions == [] and offline.misconception_check == "rules"
    verdict = json.dumps({"misconceptions": [{"claim": CLAIM.replace("1년만 지나면", "1년만  지나면"), "source": 1,
                                              "correction": "초기에는 낸 보험료보다 적다"}]}, ensure_ascii=False)
    server.script({"responder": by_prompt("검수 결과입니다.\n" + verdict, "1년이 지나도 원금보다 적을 수 있어요 [1].")})
    mission = TermMission(small_index.retriever, make_llm(server))
    result = mission.score("해지환급금", SUBTLE)
    check = next(r for r in server.requests if "심사자" in r["body"]["messages"][0]["content"])
    assert SUBTLE in check["body"]["messages"][1]["content"] and "[1]" in check["body"]["messages"][1]["content"]
    [found] = result.misconceptions
    assert found.claim == CLAIM and found.by == "openai:test-model" and found.n == 1
    assert found.correction in mission.load("해지환급금").chunks[0].text  # an exact sentence of the cited chunk
    assert result.misconception_check == "rules+openai:test-model" and result.check_prompt_version == "term_check@1.0"
    assert result.score <= offline.score - 15 and result.rubric[0].score <= 5
    from ui.practice import term_result_html

    assert "AI 검수" in term_result_html(result) and "AI 검수" not in term_result_html(offline)


def test_llm_findings_that_quote_nothing_real_are_dropped(server, small_index):
    offline = TermMission(small_index.retriever).score("해지환급금", SUBTLE)
    invented = json.dumps({"misconceptions": [{"claim": "갱신형은 보험료가 절대 오르지 않아요", "source": 1},
                                              {"claim": CLAIM, "source": 9, "correction": "x"}]}, ensure_ascii=False)
    server.script({"responder": by_prompt(invented, "좋아요 [1].")})
    result = TermMission(small_index.retriever, make_llm(server)).score("해지환급금", SUBTLE)
    assert result.misconceptions == [] and result.score == offline.score
    assert result.misconception_check == "rules+openai:test-model"


@pytest.mark.parametrize("behaviour, requests", [({"status": 500}, 1),  # a model down is not asked for feedback too
                                                 ({"text": "오해가 하나 있어요: 1년 뒤 환급 부분입니다."}, 2)])
def test_without_a_usable_llm_answer_the_rules_alone_score(server, small_index, behaviour, requests):
    offline = TermMission(small_index.retriever).score("해지환급금", SUBTLE)
    server.script(behaviour)
    result = TermMission(small_index.retriever, make_llm(server, retries=0)).score("해지환급금", SUBTLE)
    assert result.misconception_check == "rules" and result.check_prompt_version is None
    assert result.score == offline.score and result.misconceptions == []
    assert server.chat_requests == requests and result.generator == "extractive"


INDIRECT = """설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘은 변액연금 설계안을 보여 드릴게요.
고객: 요즘 주식이 불안해서요. 나중에 받을 돈이 줄면 어떡해요?
설계사: 부장님 정도 기간이면 연금 62만 원은 그냥 확정이라고 보고 노후 계획 짜셔도 돼요. 예시표는 참고만 하세요.
고객: 그럼 다른 회사 것도 비교해 볼게요.
설계사: 네, 천천히 비교해 보세요."""
INDIRECT_QUOTE = "연금 62만 원은 그냥 확정이라고 보고 노후 계획 짜셔도 돼요"


def conversation_mission(small_index, llm=None):
    from rag.missions.conversation import ConversationMission

    return ConversationMission(small_index.retriever, llm)


def test_the_llm_compliance_check_finds_an_indirect_violation_the_offline_checks_miss(server, small_index):
    offline = conversation_mission(small_index).review(INDIRECT, product="변액")
    assert [f for f in offline.findings if f.kind == "prohibited"] == [] and offline.compliance_check == "rules"
    verdict = json.dumps({"violations": [{"code": "guarantee", "quote": INDIRECT_QUOTE.replace("그냥 확정", "그냥  확정")}]},
                         ensure_ascii=False)
    server.script({"responder": by_prompt("검수했습니다.\n" + verdict, "확정이라고 말하면 안 돼요 [1].")})
    result = conversation_mission(small_index, make_llm(server)).review(INDIRECT, product="변액")
    check = next(r for r in server.requests if "준법 심사자" in r["body"]["messages"][0]["content"])
    asked = check["body"]["messages"][1]["content"]
    assert "guarantee (G03-2)" in asked and "1. 안녕하세요" in asked and "요즘 주식이 불안해서요" not in asked
    [found] = [f for f in result.findings if f.kind == "prohibited"]
    assert found.code == "guarantee" and found.detector == "llm" and found.rule == "G03-2"
    sentence = "부장님 정도 기간이면 연금 62만 원은 그냥 확정이라고 보고 노후 계획 짜셔도 돼요."
    assert found.evidence.quote == sentence == INDIRECT[found.evidence.start:found.evidence.end]
    assert result.compliance_check == "rules+openai:test-model"
    assert result.check_prompt_version == "conversation_check@1.0"
    assert result.score < offline.score
    from ui.practice import conversation_result_html

    assert "AI 검수" in conversation_result_html(result, INDIRECT)
    assert "AI 검수" not in conversation_result_html(offline, INDIRECT)


def test_llm_compliance_findings_that_quote_nothing_the_partner_said_are_dropped(server, small_index):
    invented = json.dumps({"violations": [
        {"code": "guarantee", "quote": "나중에 받을 돈이 줄면 어떡해요"},  # the customer's words
        {"code": "no_such_rule", "quote": INDIRECT_QUOTE},
        {"code": "pressure", "quote": "오늘 안 하시면 끝이에요"},  # said by nobody
    ]}, ensure_ascii=False)
    server.script({"responder": by_prompt(invented, "좋아요 [1].")})
    result = conversation_mission(small_index, make_llm(server)).review(INDIRECT, product="변액")
    assert [f for f in result.findings if f.kind == "prohibited"] == []
    assert result.compliance_check == "rules+openai:test-model"


def test_a_model_that_is_down_leaves_the_offline_review_and_is_not_asked_twice(server, small_index):
    offline = conversation_mission(small_index).review(INDIRECT, product="변액")
    server.script({"status": 500})
    result = conversation_mission(small_index, make_llm(server, retries=0)).review(INDIRECT, product="변액")
    assert result.compliance_check == "rules" and result.check_prompt_version is None
    assert result.score == offline.score and result.generator == "extractive" and server.chat_requests == 1


def condense_or(rewrite: str, answer: str):
    """A responder that rewrites the chat turn (prompt condense) with `rewrite` and answers with `answer`."""
    return lambda body: rewrite if "검색 도우미" in body["messages"][0]["content"] else answer


WHOLE_LIFE = ["종신보험 월 25만원짜리 가입하려는 고객인데 보장은 평생 가는 거죠?"]


def test_a_chat_turn_is_rewritten_by_the_llm_and_the_rewrite_is_searched_and_answered(server, small_index):
    offline = ask("중간에 깨면 얼마 받아요?", small_index.retriever, ExtractiveGenerator(), history=WHOLE_LIFE)
    rewrite = "종신보험을 중간에 해지하면 돌려받는 돈은 얼마인가요?"
    server.script({"responder": condense_or(rewrite, "해지하면 해지환급금을 받는데 초기에는 적을 수 있어요 [1].")})
    before = len(server.requests)
    llm = make_llm(server)
    answer = ask("중간에 깨면 얼마 받아요?", small_index.retriever, LLMGenerator(llm), history=WHOLE_LIFE,
                 condenser=Condenser(llm))
    condense, written = [r["body"]["messages"] for r in server.requests[before:]]
    assert WHOLE_LIFE[0] in condense[1]["content"] and "마지막 질문: 중간에 깨면 얼마 받아요?" in condense[1]["content"]
    assert answer.search_query == rewrite and rewrite in written[1]["content"]  # the writer answers the rewrite
    assert "이전 질문" not in written[1]["content"]  # which already says what the turn leans on
    assert answer.question == "중간에 깨면 얼마 받아요?" and answer.grounded and answer.fallback is None
    assert answer.citations[0].title == "해지환급금" and "condense" in answer.timings_ms
    assert offline.search_query != rewrite  # the offline rules search something else


def test_with_condensing_off_the_model_sees_the_previous_question_a_turn_leans_on(server, small_index):
    server.script({"text": "해지하면 해지환급금을 받는데 초기에는 적을 수 있어요 [1]."})
    answer = ask("중간에 깨면 얼마 받아요?", small_index.retriever, LLMGenerator(make_llm(server)), history=WHOLE_LIFE)
    prompt = server.requests[-1]["body"]["messages"][1]["content"]
    assert f"이전 질문(이번 질문이 이어받는 맥락): {WHOLE_LIFE[0]}" in prompt and "질문: 중간에 깨면 얼마 받아요?" in prompt
    assert answer.grounded and answer.prompt_version == "answer@1.1"
    ask("갱신형 보험료는 왜 올라요?", small_index.retriever, LLMGenerator(make_llm(server)))
    assert "이전 질문" not in server.requests[-1]["body"]["messages"][1]["content"]


def test_an_off_domain_turn_the_llm_leaves_as_it_is_is_refused_without_asking_it_again(server, small_index):
    server.script({"responder": condense_or("내일 서울 날씨 어때요?", "날씨는 맑아요 [1].")})
    before = server.chat_requests
    llm = make_llm(server)
    answer = ask("내일 서울 날씨 어때요?", small_index.retriever, LLMGenerator(llm),
                 history=["갱신형 보험료는 나중에 오르나요?"], condenser=Condenser(llm))
    assert not answer.grounded and answer.citations == [] and answer.answer == REFUSAL
    assert server.chat_requests == before + 1  # the rewrite only: a refusal needs no answer from the model


@pytest.mark.parametrize("reply", ["", "Sure, here you go.", "갱신형은 보험료가 올라요 [1]."])
def test_an_unusable_rewrite_leaves_the_turn_to_the_offline_rules(server, small_index, reply):
    history = ["갱신형 보험료는 나중에 오르나요?"]
    offline = ask("그럼 비갱신형은요?", small_index.retriever, ExtractiveGenerator(), history=history)
    server.script({"text": reply})
    answer = ask("그럼 비갱신형은요?", small_index.retriever, ExtractiveGenerator(), history=history,
                 condenser=Condenser(make_llm(server)))
    assert answer.search_query == offline.search_query != "그럼 비갱신형은요?"
    assert answer.citations[0].title == "비갱신형"


def test_the_rewrite_and_the_answer_share_one_timeout(server, small_index):
    """A model slow on both calls keeps the partner waiting about one timeout, not two: the answer gets what the
    rewrite left of it, then the extractive answer is shown."""
    rewrite = "종신보험을 중간에 해지하면 돌려받는 돈은 얼마인가요?"
    server.script({"responder": condense_or(rewrite, "늦었지만 모델이 쓴 답이에요 [1]."), "delay": 1.2})
    llm = make_llm(server, timeout=2.0, retries=0)
    before = server.chat_requests
    started = time.perf_counter()
    answer = ask("중간에 깨면 얼마 받아요?", small_index.retriever, LLMGenerator(llm), history=WHOLE_LIFE,
                 condenser=Condenser(llm), fallback=ExtractiveGenerator())
    elapsed = time.perf_counter() - started
    assert answer.rewritten == rewrite and answer.search_query == rewrite  # the rewrite came back in time
    assert server.chat_requests == before + 2  # the answer was asked for, with the 0.8 s left
    assert answer.fallback == "llm_unavailable" and answer.notice == MODEL_DOWN
    assert answer.grounded and "[1]" in answer.answer and "모델이 쓴" not in answer.answer
    assert elapsed < 2.0 + 0.7  # one timeout and the search, not 1.2 + 2.0
    # alone, the same slow answer is in time
    server.script({"text": "늦었지만 모델이 쓴 답이에요 [1].", "delay": 1.2})
    alone = ask("해지환급금이 뭐예요?", small_index.retriever, LLMGenerator(make_llm(server, timeout=2.0, retries=0)))
    assert alone.fallback is None and "모델이 쓴" in alone.answer


def test_a_call_with_no_time_left_is_not_made(server):
    before = server.chat_requests
    with pytest.raises(LLMUnavailableError, match="no time left"):
        list(make_llm(server).stream(MESSAGES, prompt_version="p@1", deadline=time.monotonic() + 0.05))
    assert server.chat_requests == before


def test_a_model_down_for_the_rewrite_is_not_asked_for_the_answer(server, small_index):
    server.script({"status": 500})
    before = server.chat_requests
    llm = make_llm(server, retries=0)
    answer = ask("그럼 비갱신형은요?", small_index.retriever, LLMGenerator(llm),
                 history=["갱신형 보험료는 나중에 오르나요?"], condenser=Condenser(llm), fallback=ExtractiveGenerator())
    assert answer.fallback == "llm_unavailable" and answer.notice == MODEL_DOWN and answer.grounded
    assert answer.citations[0].title == "비갱신형"  # found by the offline rules
    assert server.chat_requests == before + 1


def test_eval_searches_chat_turns_as_the_llm_rewrites_them(server, small_index, tmp_path):
    questions = [Question(id="a", question="중간에 깨면 얼마 받아요?", history=WHOLE_LIFE, gold=["해지환급금"]),
                 Question(id="b", question="비급여가 뭐예요?", gold=["비급여"])]
    server.script({"text": "종신보험을 중간에 해지하면 돌려받는 돈은 얼마인가요?"})
    before = server.chat_requests
    result = evaluate(small_index.retriever, questions, condenser=Condenser(make_llm(server)))
    assert server.chat_requests == before + 1  # only the turn with a chat is rewritten
    assert result["rows"][0]["search_query"] == "종신보험을 중간에 해지하면 돌려받는 돈은 얼마인가요?"
    assert result["rows"][0]["rank"] == 1 and result["condense_left_to_rules"] == 0
    server.script({"status": 500})
    down = evaluate(small_index.retriever, questions, condenser=Condenser(make_llm(server, retries=0)))
    assert down["condense_left_to_rules"] == 1
    assert down["rows"][0].get("search_query") != result["rows"][0]["search_query"]


def test_services_rewrite_chat_turns_only_with_an_llm_and_condensing_on(server, tmp_path):
    from rag.service import Services
    from rag.settings import Settings

    base = {"data_dir": tmp_path, "llm_cache": "memory", "_env_file": None}
    assert Services(Settings(**base)).condenser is None
    on = Services(Settings(llm="openai:test-model", llm_base_url=server.url, **base)).condenser
    assert isinstance(on, Condenser) and on.prompt.ref == "condense@1.0"
    off = Settings(llm="openai:test-model", llm_base_url=server.url, llm_condense=False, **base)
    assert Services(off).condenser is None
