"""The whole shipped corpus ingests cleanly, and names and aliases find their term document first."""

import pytest

from ingest.pipeline import run_ingest
from rag.index import Index
from rag.missions.term_result import SURE
from rag.retrieve import Retriever
from rag.settings import Settings
from ui.practice import term_result_html
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, use_embedder):
    settings = Settings(data_dir=tmp_path_factory.mktemp("shipped"), collection="shipped", _env_file=None)
    report = run_ingest([CORPUS], settings, embedder=use_embedder)
    return settings, report, Retriever(Index(settings), use_embedder)


def test_first_ingest_of_the_corpus_has_no_failures(shipped):
    _, report, retriever = shipped
    n_files = sum(1 for _ in CORPUS.rglob("*.md"))
    assert report.failed == [] and report.added == n_files
    assert report.chunks_total == retriever.index.docstore.chunk_count() == retriever.index.vectors.count()
    types = {d["doc_type"] for d in retriever.index.docstore.list_docs()}
    assert types == {"term", "script", "guideline"}


def test_term_documents_stay_whole(shipped):
    _, _, retriever = shipped
    docs = [d for d in retriever.index.docstore.list_docs() if d["doc_type"] == "term"]
    assert len(docs) >= 320 and all(d["chunk_count"] == 1 for d in docs)


@pytest.mark.parametrize("query,title", [
    ("해약환급금", "해지환급금"),
    ("고지의무", "계약 전 알릴 의무"),
    ("비급여 항목", "비급여"),
    ("급여 항목", "급여"),
    ("비갱신형", "비갱신형"),
    ("K-ICS", "K-ICS"),
    # a name with words that only ask to be told about it: not the guideline on explaining terms simply
    ("개인 보험 쉽게 설명해 주세요", "개인보험"),
    ("감액기간 쉽게 설명해 주세요", "감액기간"),
    ("계약관리 쉽게 설명해 주세요", "계약관리"),
    ("고객이 IRP 물어보면 어떻게 설명해요?", "개인형 퇴직연금"),
    ("고객이 금감원 물어보면 어떻게 설명해요?", "금융감독원"),
    # request words around the name, which the guideline on explaining terms and the scripts also use
    ("감액기간을 초보자도 이해할 수 있게 쉽게 풀어서 설명해 주세요.", "감액기간"),
    ("고객님이 면책기간이 뭐냐고 물어보시면 어떻게 답변드려야 하나요?", "면책기간"),
    ("개인보험이 헷갈리는데 다시 한번 정리해 줄래?", "개인보험"),
    ("보험료가 뭔가요?", "보험료"),  # a short name many documents say, asked about alone
    ("보험료 얼마예요?", "보험료"),  # what sets it, not the limit on gifts "보험료의 10%"
])
def test_a_term_name_or_alias_finds_its_document_first(shipped, query, title):
    _, _, retriever = shipped
    assert retriever.search(query, k=1, mode="hybrid").hits[0].chunk.title == title


@pytest.mark.parametrize("query,title", [
    ("고객이 헤지환급금 물어보면 어떻게 설명해요?", "해지환급금"),  # ㅔ for ㅐ
    ("에정이율이 뭐야?", "예정이율"),  # ㅔ for ㅖ
    ("먼책기간 개념 좀 알려주세요", "면책기간"),  # ㅓ for ㅕ
    ("보험게약이 뭔지 고객한테 한 줄로 쉽게 설명하려면요?", "보험계약"),  # the slip is an alias: asked alone as well
    ("고렁자 보호에 대해 자세히 알고 싶어요.", "고령자 보호"),  # across words
    # with words of their own, which BM25 and chars would otherwise search without the name
    ("고객님이 우량채이 뭐냐고 물어보시면 어떻게 답변드려야 하나요?", "우량체"),
    ("차에 첵임보험만 들어 있으면 사고 났을 때 어디까지 보상돼요?", "책임보험"),
])
def test_a_term_name_misspelt_in_one_letter_finds_its_document_and_is_answered(shipped, query, title):
    _, _, retriever = shipped
    found = retriever.search(query, k=1, mode="hybrid")
    assert found.hits[0].chunk.title == title and found.grounding.grounded


@pytest.mark.parametrize("query,term,opposite", [
    ("갱신형이 나중에 비싸지냐고 물으면 어떻게 답해요?", "갱신형", "비갱신형"),
    ("갱신형 단점 설명", "갱신형", "비갱신형"),
])
def test_a_question_about_a_term_ranks_it_above_its_negated_neighbour(shipped, query, term, opposite):
    """The 비갱신형 document says 갱신형 at every turn, so every signal liked it best for a question about 갱신형."""
    _, _, retriever = shipped
    titles = [h.chunk.title for h in retriever.search(query, k=5, mode="hybrid").hits]
    assert term in titles
    assert opposite not in titles or titles.index(term) < titles.index(opposite)


def test_guideline_rules_are_their_own_chunks(shipped):
    _, _, retriever = shipped
    hits = retriever.search("첫 달 보험료를 대신 내 드리겠다는 약속", k=5, doc_types=["guideline"]).hits
    assert hits and all(h.chunk.doc_type == "guideline" for h in hits)
    assert any(h.chunk.section.startswith("G11-") for h in hits)


@pytest.fixture(scope="module")
def services(shipped):
    from rag.service import Services

    settings, _, retriever = shipped
    built = Services(settings)
    built.retriever = retriever
    return built


@pytest.mark.parametrize("question", ["해약하면 낸 돈 다 돌려받아요?", "암보험 가입하면 바로 보장돼요?",
                                      "고객이 첫 달 보험료 대신 내 달라고 하면 어떻게 해요?"])
def test_ask_insurance_question_is_grounded_with_quotes_from_the_cited_chunks(services, question):
    answer = services.ask(question)
    assert answer.grounded and "[1]" in answer.answer and answer.citations
    chunks = services.retriever.index.docstore.get_chunks([c.chunk_id for c in answer.citations])
    for citation in answer.citations:
        assert citation.quote in chunks[citation.chunk_id].text


def test_an_answer_reads_a_misspelt_name_as_meant_and_says_so(services):
    answer = services.ask("에정이율이 오르면 보험료가 어떻게 돼요?")
    assert answer.grounded and answer.citations[0].title == "예정이율"
    assert answer.respelled == {"에정이율": "예정이율"}
    assert answer.question == "에정이율이 오르면 보험료가 어떻게 돼요?"  # as typed
    assert answer.search_query == "예정이율이 오르면 보험료가 어떻게 돼요?"
    assert "예정이율" in answer.answer.split("[1]")[0]  # the first sentence is picked for the name as meant
    assert answer.to_json()["respelled"] == {"에정이율": "예정이율"}
    plain = services.ask("예정이율이 오르면 보험료가 어떻게 돼요?")
    assert plain.answer == answer.answer and "respelled" not in plain.to_json()


@pytest.mark.parametrize("question", ["내일 서울 날씨 어때요?", "이번 주 로또 번호 추천해 줘", "김치찌개 맛있게 끓이는 법",
                                      "너는 누가 만들었어?"])  # one common verb: covered, but too little to ground
def test_ask_off_domain_is_refused(services, question):
    answer = services.ask(question)
    assert not answer.grounded and answer.citations == []


def test_term_mission_acceptance(services):
    good = ("해지환급금은 보험을 중간에 해지하실 때 돌려받는 돈이에요. 낸 보험료에서 보장 비용과 사업비를 빼고 계산해서 "
            "가입 초기에는 낸 보험료보다 훨씬 적거나 거의 없을 수 있어요. 무해지환급형이면 납입 중에는 아예 없고요.")
    result = services.term_mission.score("해지환급금", good)
    assert result.score >= 70 and result.matched_points and all(p.n == 1 for p in result.matched_points)
    assert result.citations[0].source.endswith("해지환급금.md")
    assert services.term_mission.score("해지환급금", "자동차 사고 나면 상대방 차 수리비를 보험사가 대신 내 줘요.").score <= 30


def test_conversation_mission_finds_missing_explanations_with_rule_citations(services):
    script = ("설계사: 안녕하세요, 한빛대리점 설계사 김하늘입니다. 오늘 암보험 상담 20분 정도 괜찮으세요?\n"
              "고객: 네, 요즘 주변에 암 걸린 사람이 많아서요.\n"
              "설계사: 이 갱신형 암보험은 암 진단비 3천만 원이고 월 2만 원이에요.\n"
              "고객: 좋네요. 가입할게요.\n설계사: 그럼 여기 청약서에 서명해 주세요.")
    result = services.conversation_mission.review(script)
    codes = {f.code: f for f in result.findings}
    assert result.product == "암" and result.renewable
    assert {"missing_exclusion_period", "missing_renewal_increase", "missing_disclosure_duty",
            "missing_cooling_off", "missing_surrender_loss"} <= set(codes)
    for finding in codes.values():
        cited = next(c for c in result.citations if c.n == finding.n)
        assert cited.doc_type == "guideline" and cited.title and finding.rule in finding.rule_title
    assert result.suggestions and all(any(c.n == s.n and c.doc_type == "script" for c in result.citations)
                                      for s in result.suggestions)


def test_eval_smoke_on_a_few_questions(shipped, tmp_path):
    import json

    from eval.run import run_eval

    settings, _, _ = shipped
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "1", "question": "해약하면 돌려받는 돈이 적은 이유", "gold": ["해지환급금"]},
        {"id": "2", "question": "첫 달 보험료 대납 요구 거절", "gold": ["G11_특별이익_제공_금지.md"]},
        {"id": "3", "question": "내일 날씨 알려줘", "gold": [], "expect": "refuse"},
    ]), encoding="utf-8")
    result, lines = run_eval(settings, questions=questions, mode="all", ks="1,5")
    assert [r["mode"] for r in result["runs"]] == ["dense", "bm25", "chars", "hybrid"]
    hybrid = result["runs"][-1]
    assert set(hybrid["metrics"]) >= {"hit@1", "hit@5", "mrr", "ndcg@10", "recall@5"}
    assert hybrid["metrics"]["hit@5"] == 1.0 and hybrid["refusals"]["out_of_domain_refused"] == 1.0
    history = (settings.data_dir / "eval" / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(history) >= 4 and json.loads(history[-1])["mode"] == "hybrid"
    assert "hybrid" in lines[-1]


def test_term_mission_identifies_the_term_from_a_short_explanation_only(services):
    mission = services.term_mission
    assert mission.identify("부담보", "부담보는 예전에 아팠던 부위가 있으면 그 부위는 보장에서 빼고 가입하는 거예요.") >= 0.8
    other = "자동차 사고로 다른 사람 차나 물건을 망가뜨렸을 때 그 손해를 보험사가 대신 물어 주는 거예요."
    assert mission.identify("해지환급금", other) == 0.0  # it finds 대물배상, not 해지환급금
    short = mission.score("부담보", "부담보는 예전에 아팠던 부위가 있으면 그 부위는 보장에서 빼고 가입하는 거예요.")
    assert short.score > mission.score("부담보", "배당금은 유배당보험에서 남은 이익 일부를 계약자분께 나눠 드리는 돈이에요.").score


def test_an_absolute_word_the_definition_says_itself_is_not_a_myth_cue(services):
    """일반암's definition says "가입한 암 진단비 전액을 지급하는 기준"; saying so is not the myth "진단비는 암에 걸릴 때마다
    받는다", while the myth itself still is one."""
    mission = services.term_mission
    found, _ = mission.check("일반암", "일반암으로 진단받으시면 가입하신 암 진단비 전액이 나오는 게 기준이에요.")
    assert found == []
    found, _ = mission.check("일반암", "일반암 진단비는 암에 걸릴 때마다 무조건 다 받아요.")  # 무조건: not said by it
    assert found and "최초 1회" in found[0].correction


@pytest.mark.parametrize("term, true, false", [
    ("우량체", "우량체는 건강 상태가 좋아서 표준체보다 위험이 낮게 평가된 분들이에요. 그래서 같은 보장이라도 보험료를 할인받으실 "
              "수 있어요.",
     "우량체는 건강 상태가 좋아서 표준체보다 위험이 낮게 평가된 분들이에요. 그래서 같은 보장이라도 보험료가 더 비싸게 붙어요."),
    ("자기부담금", "실손보험에서 병원비 중 가입자가 직접 내야 하는 몫이에요. 비율과 최소 공제금액 중 큰 쪽을 빼고 보험금이 나와요.",
     "실손보험에서 병원비 중 가입자가 직접 내야 하는 몫이에요. 비율과 최소 공제금액 중 작은 쪽만 빼고 보험금이 나와요."),
])
def test_a_false_sentence_the_rules_miss_costs_points_and_cites_the_definition(services, term, true, false):
    """The rules name no myth in either explanation; the shipped false-claim model (rag/missions/doubt.py) doubts the
    reversed sentence, takes points for it and shows the definition sentence it is about; the true one is left alone."""
    from rag.missions.term import TermMission

    mission, rules_only = services.term_mission, TermMission(services.retriever, doubt=None)
    right, wrong = mission.score(term, true), mission.score(term, false)
    assert not right.misconceptions and not wrong.misconceptions
    assert right.doubts == [] and right.score == rules_only.score(term, true).score
    doubt = wrong.doubts[0]
    assert doubt.sentence in false and doubt.sentence not in true and doubt.probability > mission.doubt.t0
    assert wrong.score < rules_only.score(term, false).score and wrong.score < right.score
    cited = {c.n: c.chunk_id for c in wrong.citations}[doubt.n]
    text = next(iter(services.retriever.index.docstore.get_chunks([cited]).values())).text
    assert doubt.fact and doubt.fact in text and f"{doubt.fact} [{doubt.n}]" in wrong.feedback
    assert doubt.sentence in wrong.rubric[0].reason
    assert ("달라 보여요" in wrong.feedback) == (doubt.probability >= SURE)


def test_a_true_sentence_the_model_doubts_a_little_is_only_worth_a_second_look(services):
    """A correct sentence the false-claim model doubts below SURE still costs its few points, but the partner is asked
    to compare it with the definition sentence, not told it looks different."""
    result = services.term_mission.score("해지환급금", "보험을 중간에 해지하면 그동안 낸 보험료에서 사업비 등을 뺀 돈을 "
                                         "돌려받는데, 이것이 해지환급금이에요. 초기에 해지하면 낸 보험료보다 훨씬 적을 수 있어요.")
    doubt = result.doubts[0]
    assert "초기에 해지하면" in doubt.sentence and services.term_mission.doubt.t0 < doubt.probability < SURE
    assert "달라 보여요" not in result.feedback + result.rubric[0].reason
    assert f"'{doubt.sentence}'는 정의 문장과 한 번 더 비교해 보세요." in result.rubric[0].reason
    assert f"비교해 확인해 보세요: {doubt.fact} [{doubt.n}]" in result.feedback


@pytest.mark.parametrize("term, true, false, point", [
    ("해지환급금", "해지환급금은 계약을 중간에 해지하면 돌려받는 돈이에요. 가입 초기에는 낸 보험료보다 적거나 거의 없을 수 있어요.",
     "해지환급금은 계약을 중간에 해지하면 돌려받는 돈이에요. 가입 초기에 해지해도 그동안 낸 보험료를 전부 돌려받아요.",
     "가입 초기에는 거의 없을 수 있다"),  # a listed myth, found by the rules
    ("우량체", "우량체는 건강 상태가 좋아서 표준체보다 위험이 낮게 평가된 분들이에요. 그래서 같은 보장이라도 보험료를 할인받으실 "
              "수 있어요.",
     "우량체는 건강 상태가 좋아서 표준체보다 위험이 낮게 평가된 분들이에요. 그래서 같은 보장이라도 보험료가 더 비싸게 붙어요.",
     "낮은 보험료"),  # a reversed sentence only the false-claim model doubts
])
def test_a_key_point_made_only_in_a_wrong_sentence_earns_nothing(services, term, true, false, point):
    """The point the false sentence is about is 'unconfirmed' (listed with its citation, not counted), so a fluent wrong
    explanation does not collect completeness for the very fact it gets wrong; the true wording earns it."""
    right, wrong = services.term_mission.score(term, true), services.term_mission.score(term, false)
    assert any(point in p.text for p in right.matched_points) and not right.unconfirmed_points
    assert not any(point in p.text for p in wrong.matched_points)
    assert [p for p in wrong.unconfirmed_points if point in p.text][0].n == 1
    assert wrong.rubric[1].score < right.rubric[1].score and "세지 않았어요" in wrong.rubric[1].reason
    html = term_result_html(wrong)
    assert "확인이 필요한 핵심" in html and 'class="unconfirmed"' in html


def test_a_script_found_by_its_scene_setting_chunks_is_answered_from_its_body(services):
    """Retrieval finds the trust-repair script through its situation, opening and after-care chunks, whose lines
    answer little; the answer draws on the same script's other chunks instead (rag/answer.py with_script_body)."""
    from rag.answer import SCENE, ask

    question = "예전 설계사가 저축이라고 종신 팔고 연락 끊겼대요. 설계사 다 똑같다는 고객이랑 어떻게 신뢰 쌓아요?"
    found = services.retriever.search(question, k=5).hits
    assert "S24" in found[0].chunk.source and (found[0].chunk.section or "") in SCENE
    answer = ask(question, services.retriever, services.generator)
    store = services.retriever.index.docstore
    cited = store.get_chunks([c.chunk_id for c in answer.citations])
    assert answer.grounded and cited and all("S24" in c.source for c in cited.values())
    assert all((c.section or "") not in SCENE for c in cited.values())
    assert all(c.quote in cited[c.chunk_id].text for c in answer.citations)


def test_a_follow_up_that_only_names_an_aspect_stays_on_the_chat_topic(services):
    """"그럼 기간은요?" after a question on claiming says too little on its own (기간 is in a hundred documents) to
    outweigh its context: it is about the claim's time limit, not the grace period whose name holds 기간."""
    from rag.answer import ask, search_turn

    retriever = services.retriever
    history = ["실비 청구는 어떻게 해요?"]
    assert retriever.specificity("그럼 기간은요?") < 0.5 <= retriever.specificity("그럼 비갱신형은요?")
    assert search_turn("그럼 기간은요?", history, retriever).hits[0].chunk.title == "보험금 청구"
    answer = ask("그럼 기간은요?", retriever, services.generator, history=history)
    assert answer.grounded and "보험금 청구" in {c.title for c in answer.citations}
    # it asks how long: the claim's 3-year limit is said first, not what a claim is or when a policy ends
    # (extractive@1.5 said it second; 1.6 weighs the words the turn borrowed from the chat)
    from eval.answers import answer_sentences

    assert "3년" in answer_sentences(answer.answer)[0]
    # a follow-up that names its own topic still finds it first
    assert search_turn("그럼 비갱신형은요?", ["갱신형 보험료는 나중에 오르나요?"], retriever).hits[0].chunk.title == "비갱신형"


@pytest.mark.parametrize("noisy", ["ㅋㅋ 그럼 기간은요?", "그럼 기간은요ㅎㅎ", "그럼 기간은요? ㅠㅠ", "그럼 기간은요 ^^"])
def test_chat_noise_does_not_change_how_a_follow_up_is_read(services, noisy):
    """Typed alone, ㅋㅋ / ㅠㅠ hid that the turn is short and elliptical, and counted as a word no document holds:
    the turn was refused or searched alone (BASELINE session 31)."""
    from rag.answer import ask, search_turn
    from rag.titles import normalize

    retriever, history = services.retriever, ["실비 청구는 어떻게 해요?"]
    clean = search_turn("그럼 기간은요?", history, retriever)
    found = search_turn(noisy, history, retriever)
    assert found.grounding.grounded and normalize(found.query) == normalize(clean.query)  # borrowed the same context
    assert found.hits[0].chunk_id == clean.hits[0].chunk_id
    answer = ask(noisy, retriever, services.generator, history=history)
    assert answer.question == noisy and answer.grounded and "보험금 청구" in {c.title for c in answer.citations}


def test_a_follow_up_that_names_a_new_term_is_answered_on_the_aspect_the_chat_asked_about(services):
    """"IRP도 돼요?" after a question on the 연금저축 tax credit asks about IRP's tax credit: its first sentence says
    it, where the turn alone opens with what an IRP is."""
    from eval.answers import answer_sentences
    from rag.answer import ask

    history = ["연금저축보험에 1년에 600만원 넣으면 세액공제 얼마나 돼요?"]
    chat = ask("IRP도 돼요?", services.retriever, services.generator, history=history)
    alone = ask("IRP도 돼요?", services.retriever, services.generator)
    assert chat.grounded and "세액공제" in answer_sentences(chat.answer)[0]
    assert "세액공제" not in answer_sentences(alone.answer)[0]


def test_small_talk_the_rules_miss_is_read_by_the_classifier_and_no_question_of_the_eval_sets_is(services):
    """The classifier learns small talk from rag/small_talk_examples.yaml and what partners ask from the documents'
    `questions:`; it must not take any question or chat turn the eval sets expect answered for small talk."""
    import json

    from eval.run import DATASET_DIR
    from rag.answer import chat_kind, without_noise
    from rag.small_talk import _rules

    retriever = services.retriever
    for turn, kind in [("넵넵 명심하겠습니다", "ack"), ("혹시 주말에도 답해줘요?", "about_me"), ("ㅂㅇㅂㅇ", "bye"),
                       ("다음에 또 올게요 ^^", "bye")]:
        assert _rules(turn) is None and chat_kind(turn, retriever) == kind, turn
    turns = set()
    for path in DATASET_DIR.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("expect") != "refuse":
                turns |= {t for t in [row.get("question"), *(row.get("history") or [])] if isinstance(t, str)}
    read = [retriever.titles.respell(without_noise(t))[0] for t in sorted(turns)]
    assert len(read) > 3000 and [t for t in read if chat_kind(t, retriever)] == []
