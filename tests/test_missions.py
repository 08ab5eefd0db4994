"""Term and conversation missions on a real small index (USE, Kiwi, Chroma); offline scorers."""

import re

import pytest

from rag.errors import InputValidationError
from rag.missions.conversation import parse_script
from rag.missions.term import TermMission, UnknownTermError

GOOD = ("해지환급금은 보험을 중간에 해지하실 때 돌려받는 돈이에요. 그동안 낸 보험료에서 보장에 쓰인 위험보험료와 "
        "사업비, 아직 덜 회수된 계약 비용을 빼고 계산해서, 특히 가입 초기에는 낸 보험료보다 훨씬 적거나 거의 없을 수 "
        "있어요. 무해지환급형은 납입 중 해지하면 아예 없고요. 예를 들어 2년 만에 해지하시면 절반도 못 받으실 수 있어요.")
UNRELATED = "자동차 사고로 남의 차를 망가뜨렸을 때 보험사가 대신 물어 주는 거예요. 운전하시면 꼭 필요해요."


@pytest.fixture(scope="module")
def term(small_index):
    return TermMission(small_index.retriever)


def test_a_correct_explanation_scores_high_with_cited_points(term, small_index):
    result = term.score("해지환급금", GOOD)
    assert result.score >= 70 and result.grade in ("우수", "양호")
    assert [i.name for i in result.rubric] == ["정확성", "완전성", "쉬운 설명", "고객 관점"]
    assert result.matched_points and not result.misconceptions
    chunk = small_index.retriever.index.docstore.get_chunks([result.citations[0].chunk_id])
    text = next(iter(chunk.values())).text
    for point in result.matched_points + result.missing_points:
        assert point.n == 1 and point.text in text
    assert "[1]" in result.model_answer and "[1]" in result.feedback


def test_an_unrelated_explanation_scores_low(term):
    assert term.score("해지환급금", UNRELATED).score <= 30


def test_style_praise_for_an_off_topic_explanation_says_what_holds_its_points_back(term):
    """A caveat ("꼭 확인하세요") in an explanation of another thing earns little 고객 관점, and its reason says why
    instead of praising alone; on the right term the praise stands by itself."""
    off = term.score("해지환급금", UNRELATED + " 다만 보상 한도는 꼭 확인하세요.")
    customer = off.rubric[3]
    assert customer.score <= 8 and customer.reason.startswith("고객에게 불리할 수 있는 점까지 짚었어요.")
    assert "정의의 핵심을 더 담아야" in customer.reason
    on = term.score("해지환급금", GOOD).rubric[3]
    assert on.reason == "고객에게 불리할 수 있는 점까지 짚었어요." and on.score > customer.score


def test_a_contradiction_is_reported_as_a_misconception(term):
    result = term.score("갱신형", "갱신형은 정해진 기간마다 자동으로 연장되는데 보험료는 절대 오르지 않아서 걱정 없어요.")
    assert len(result.misconceptions) == 1 and "오르지 않" in result.misconceptions[0].claim  # clause and sentence: once
    assert result.misconceptions[0].n == 1 and result.score < 40
    right = term.score("갱신형", "갱신형은 정해진 기간마다 갱신하는데, 갱신할 때 나이와 위험률이 반영돼 보험료가 오를 수 있어요.")
    assert not right.misconceptions and right.score > result.score


def test_a_fact_worded_like_its_myth_is_not_a_misconception(term):
    """Myth "해지하면 낸 보험료는 다 돌려받는다": a clause saying what is deducted states the fact, not the myth."""
    fact = term.score("해지환급금", "보험을 중도에 해지할 때 그동안 낸 보험료에서 사업비와 위험보험료 등을 빼고 돌려받는 "
                                  "돈이에요. 초기에 해지하면 낸 돈보다 훨씬 적을 수 있어요.")
    assert not fact.misconceptions and fact.score >= 50
    myth = term.score("해지환급금", "해지환급금은 보험을 해지하면 그동안 낸 보험료를 다 돌려받는 돈이에요.")
    assert myth.misconceptions and myth.score < fact.score


def test_a_clause_nearer_the_correction_than_the_myth_is_not_a_misconception(term):
    """Myth "면책기간과 감액기간은 같은 것이다", correction "면책기간에는 보험금이 전혀 없고, 감액기간에는 일부(보통
    50%)가 지급된다": a clause with 만 in it that says the correction must not be read as the myth."""
    fact = term.score("면책기간", "면책기간에는 보험금이 전혀 없고, 감액기간에는 보통 50%만 나와요. 둘은 다른 거예요.")
    assert not fact.misconceptions
    myth = term.score("면책기간", "면책기간과 감액기간은 똑같은 거예요. 가입하고 바로 다 보장돼요.")
    assert myth.misconceptions and myth.score < fact.score


def test_a_clause_denying_the_myth_it_names_is_not_a_misconception(term):
    """"갱신형이라고 보험료가 절대 안 오르는 건 아니에요" names the myth to deny it; the same words without the denial
    state it."""
    found, check = term.check("갱신형", "갱신형이라고 보험료가 절대 안 오르는 건 아니에요.")
    assert found == [] and check == "rules"
    found, _ = term.check("갱신형", "갱신형은 보험료가 절대 안 올라요.")
    assert found and found[0].claim == "갱신형은 보험료가 절대 안 올라요." and found[0].n == 1
    with pytest.raises(InputValidationError):
        term.check("갱신형", "안 올라요")


def test_a_just_because_clause_is_read_with_the_denial_after_it(term):
    """"20년만 내신다고 | 끝나는 건 아니고": the clause splitter cuts after 다고, and the first part alone looks like the
    myth "보험료를 20년만 내면 끝난다"; it frames what the rest denies (true corrections flagged in
    term_claims: 8 % -> 4 %)."""
    found, _ = term.check("갱신형", "보험료를 20년만 내신다고 끝나는 건 아니고 보장받는 동안 계속 내셔야 해요.")
    assert found == []
    found, _ = term.check("갱신형", "보험료를 20년만 내시면 끝나요.")
    assert found and found[0].n == 1


def test_dahman_however_is_not_the_absolute_man_only():
    from rag.missions.term import ABSOLUTE

    assert not ABSOLUTE.search("다만 초기에 해지하시면 손해가 클 수 있어요")
    assert ABSOLUTE.search("낸 원금만 돌려받으세요") and ABSOLUTE.search("사고 난 차만 보상돼요")


def test_a_prohibition_and_the_name_jeonbu_insurance_are_not_myth_cues():
    from rag.missions.term import ABSOLUTE, DENIAL

    assert DENIAL.search("병력은 중개사에게 말로만 하지 마시고 청약서에 적으세요")
    assert not ABSOLUTE.search("가입금액이 보험가액과 같으면 전부보험이에요") and ABSOLUTE.search("전부 돌려받아요")


def test_aliases_resolve_and_unknown_terms_list_the_closest(term):
    assert term.score("해약환급금", GOOD).term == "해지환급금"
    assert term.score("헤지환급금", GOOD).term == "해지환급금" and not term.known("헤지환급금")  # one letter off
    with pytest.raises(UnknownTermError) as err:
        term.score("해지환급", GOOD)
    assert "해지환급금" in err.value.closest and "Closest terms" in str(err.value)
    with pytest.raises(UnknownTermError) as err:
        term.resolve("겡신헝")  # two letters off: listed nearest first (by letters), not guessed
    assert err.value.closest[:2] == ["갱신형", "비갱신형"]


@pytest.mark.parametrize("text", ["짧아요", "가" * 501, "   "])
def test_explanation_limits(term, text):
    with pytest.raises(InputValidationError) as err:
        term.score("해지환급금", text)
    assert err.value.field == "explanation" and err.value.limit == (10, 500)


VIOLATING = """설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘 저축 상담으로 30분 정도 안내해 드릴게요.
고객: 네, 목돈 모으는 데 관심 있어요.
설계사: 지금 매달 얼마 정도 저축하고 계세요?
고객: 30만 원 정도요.
설계사: 이 상품은 원금 보장이라 손해 볼 일 없어요. 예금이랑 똑같다고 보시면 돼요.
고객: 그래도 좀 부담되네요.
설계사: 오늘 가입하시면 첫 달 보험료는 제가 대신 내 드릴게요.
고객: 그럼 할게요.
설계사: 여기 서명해 주세요."""

CLEAN = """설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 상담 내용은 녹취되는데 괜찮으세요?
고객: 네. 친구가 첫 달 보험료를 대신 내 줬다던데요.
설계사: 보험료를 대신 내 드리는 건 법으로 금지돼 있어요. 저축보험은 원금이 보장되는 상품은 아니에요.
설계사: 중도에 해지하시면 해지환급금이 낸 보험료보다 적을 수 있어요. 무조건 나오는 건 아니고요.
고객: 오늘 꼭 해야 하나요?
설계사: 오늘 결정하지 않으셔도 돼요. 다른 회사 상품이 나쁘다는 게 아니라 비교해 보시라는 거예요."""


def test_planted_violations_are_found_with_evidence_and_rule_citations(small_index):
    result = small_index.conversation_mission.review(VIOLATING, product="저축")
    codes = {f.code: f for f in result.findings}
    assert {"guarantee", "special_benefit"} <= set(codes)
    assert codes["guarantee"].rule == "G03-2" and codes["special_benefit"].rule == "G11-2"
    for code in ("guarantee", "special_benefit"):
        finding = codes[code]
        assert VIOLATING[finding.evidence.start:finding.evidence.end] == finding.evidence.quote
        cited = next(c for c in result.citations if c.n == finding.n)
        assert cited.doc_type == "guideline" and finding.rule in finding.rule_title
    assert result.score < 60 and [s.stage for s in result.stages] == ["오프닝", "니즈 파악", "상품 설명", "반론 처리", "클로징"]


def test_negated_and_refused_phrases_are_not_violations(small_index):
    result = small_index.conversation_mission.review(CLEAN, product="저축")
    assert [f.code for f in result.findings if f.kind == "prohibited"] == []


WARNINGS = """설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘은 치아보험 설계안을 보여 드릴게요.
고객: 작년에 치과 다닌 건 빼고 적어도 되죠?
설계사: 빼고 쓰시면 나중에 보험금 청구할 때 문제가 될 수 있어요. 질문표에는 있는 그대로 적어 주세요.
고객: 보험료 부담이 좀 있네요.
설계사: 그 부분은 신경 쓰지 마시고 천천히 비교해 보세요."""


def test_a_warning_about_leaving_history_out_and_a_figure_of_speech_are_not_obstruction(small_index):
    """"빼고 쓰시면 … 문제가 될 수 있어요" tells the customer to disclose; "신경 쓰지 마시고" is not "(질문표에) 쓰지
    마세요". Telling them to leave it out still is obstruction."""
    review = small_index.conversation_mission.review
    assert [f.code for f in review(WARNINGS, product="치아").findings if f.kind == "prohibited"] == []
    told = WARNINGS.replace("빼고 쓰시면 나중에 보험금 청구할 때 문제가 될 수 있어요.", "그건 빼고 쓰셔도 아무 문제 없어요.")
    assert "disclosure_obstruction" in {f.code for f in review(told, product="치아").findings}


@pytest.mark.parametrize("line, renewable", [
    ("홈쇼핑 상품이 갱신형이거나 진단비가 더 적을 수 있어요.", False),  # someone else's product, a maybe
    ("다른 데 견적이 갱신형인지부터 볼게요.", False),
    ("이 암보험은 10년 갱신형이라 처음 보험료가 낮아요.", True),  # what the partner sells
    ("20년 만기 비갱신형이고, 이 설계엔 갱신형 특약은 넣지 않았어요.", False),  # what is not sold
])
def test_only_a_product_the_partner_calls_renewable_needs_the_renewal_explanation(small_index, line, renewable):
    script = ("설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘은 암보험 설계안을 보여 드릴게요.\n"
              f"고객: 다른 데는 더 싸던데요.\n설계사: {line}\n설계사: 괜찮으시면 청약서에 서명해 주세요.")
    result = small_index.conversation_mission.review(script, product="암")
    assert result.renewable is renewable
    assert ("missing_renewal_increase" in {f.code for f in result.findings}) is renewable


def test_a_worked_example_of_cancelling_explains_the_surrender_loss(small_index):
    """"해지하시면 낸 돈 684만 원 중 돌려받는 게 290만 원" explains the loss with the customer's numbers."""
    script = ("설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘은 종신보험 설계안을 보여 드릴게요.\n"
              "고객: 중간에 깨면요?\n설계사: {line}\n설계사: 괜찮으시면 청약서에 서명해 주세요.")
    review = small_index.conversation_mission.review
    worked = review(script.format(line="예시표로 5년 차에 해지하시면 낸 돈 684만 원 중 돌려받는 게 290만 원 정도예요."),
                    product="종신")
    assert "missing_surrender_loss" not in {f.code for f in worked.findings}
    vague = review(script.format(line="예시표로 5년 차에 해지하시면 그때 돌려받는 금액이 나와 있어요."), product="종신")
    assert "missing_surrender_loss" in {f.code for f in vague.findings}


def test_a_sentence_of_a_few_letters_is_not_classified(small_index):
    """"안 돼요." answers "음주 사고도 돼요?"; alone it reads like telling the customer not to do something."""
    from rag.missions.conversation import MIN_SENTENCE

    script = ("설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 운전자보험 설계안을 보여 드릴게요.\n"
              "고객: 음주나 무면허 사고도 돼요?\n설계사: 안 돼요. 음주운전, 무면허운전, 사고 후 도주는 보장하지 않아요.")
    assert len("안 돼요.") < MIN_SENTENCE
    findings = small_index.conversation_mission.review(script, product="운전자").findings
    assert [f.code for f in findings if f.kind == "prohibited"] == []


def test_script_limits_and_parsing(small_index):
    with pytest.raises(InputValidationError) as err:
        small_index.conversation_mission.review("설계사: 안녕하세요")
    assert err.value.limit == (50, 3000)
    with pytest.raises(InputValidationError):
        small_index.conversation_mission.review("고객: " + "보험이 궁금해요. " * 10)  # no partner line
    lines = parse_script("설계사: 안녕하세요\n고객: 네\n설계사: 반갑습니다")
    assert [(u.speaker, u.text) for u in lines] == [("설계사", "안녕하세요"), ("고객", "네"), ("설계사", "반갑습니다")]


NEW_WORDINGS = """설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘은 변액연금 설계안을 보여 드릴게요.
고객: 주식 시장이 요즘 불안하던데 괜찮을까요?
설계사: 시장이 무너져도 처음 넣으신 돈이 깎이는 일은 없다고 보시면 돼요.
고객: 그래도 매달 내기가 좀 빠듯해요.
설계사: 계약해 주시면 제 수당에서 매달 3만 원씩 고객님 통장으로 보내 드릴게요."""

NEW_WORDINGS_CLEAN = """설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘은 변액연금 설계안을 보여 드릴게요.
고객: 주식 시장이 요즘 불안하던데 괜찮을까요?
설계사: 주가가 떨어지면 적립금도 줄어서 넣으신 금액보다 적어질 수 있어요.
고객: 그래도 매달 내기가 좀 빠듯해요.
설계사: 제 수당에서 돈을 보내 드리는 건 특별이익이라 해 드릴 수 없어요. 대신 보험료를 낮춘 설계를 보여 드릴게요."""


def test_new_wordings_are_found_by_the_classifier_and_their_corrections_are_not(small_index):
    """Sentences no pattern in compliance.yaml lists (and not in compliance_examples.yaml)."""
    from rag.missions.statements import EXAMPLES_FILE

    examples = EXAMPLES_FILE.read_text(encoding="utf-8")
    for line in NEW_WORDINGS.splitlines() + NEW_WORDINGS_CLEAN.splitlines():
        assert line.split(": ", 1)[1] not in examples
    result = small_index.conversation_mission.review(NEW_WORDINGS, product="변액")
    found = {f.code: f for f in result.findings if f.kind == "prohibited"}
    assert set(found) == {"guarantee", "special_benefit"}
    for finding in found.values():
        assert finding.detector == "classifier" and finding.confidence >= 0.95
        assert NEW_WORDINGS[finding.evidence.start:finding.evidence.end] == finding.evidence.quote
        assert next(c for c in result.citations if c.n == finding.n).doc_type == "guideline"
    assert "시장이 무너져도" in found["guarantee"].evidence.quote
    assert "제 수당에서" in found["special_benefit"].evidence.quote
    clean = small_index.conversation_mission.review(NEW_WORDINGS_CLEAN, product="변액")
    assert [f.code for f in clean.findings if f.kind == "prohibited"] == []


def test_suggestions_quote_what_a_partner_says_in_a_model_script(small_index):
    result = small_index.conversation_mission.review(VIOLATING, product="저축")
    assert result.suggestions
    chunks = small_index.retriever.index.docstore.get_chunks([c.chunk_id for c in result.citations])
    by_n = {c.n: chunks[c.chunk_id] for c in result.citations}
    for suggestion in result.suggestions:
        chunk = by_n[suggestion.n]
        assert chunk.doc_type == "script"
        line = next(line for line in chunk.text.splitlines() if suggestion.text in line)
        assert line.lstrip().startswith("설계사")


BROWSER_SCRIPT = ("설계사: 안녕하세요 고객님, 오늘 종신보험 설명드리러 왔어요.\n고객: 네, 중간에 해지하면 어떻게 되나요?\n"
                  "설계사: 걱정 마세요. 이 상품은 원금 보장이 되니까 무조건 이득이에요. 지금 서명만 하시면 됩니다.")


def test_suggestions_do_not_repeat_and_a_rule_not_in_the_index_has_no_citation(small_index):
    """The small index has one model script and none of the G06/G07/G09 guidelines the missing explanations break."""
    from ui.practice import conversation_result_html

    result = small_index.conversation_mission.review(BROWSER_SCRIPT)
    texts = [s.text for s in result.suggestions]
    assert len(result.suggestions) >= 2 and len(texts) == len(set(texts))
    uncited = [f for f in result.findings if f.n == 0]
    assert {f.rule[:3] for f in uncited} >= {"G06", "G09"} and all(f.kind == "missing" for f in uncited)
    assert all(f"{f.message} [" not in result.feedback and f.message in result.feedback for f in uncited[:3])
    assert "[0]" not in result.feedback
    numbers = {c.n for c in result.citations}
    assert all(f.n in numbers for f in result.findings if f.n) and 0 not in numbers
    assert "#conv-0" not in conversation_result_html(result, BROWSER_SCRIPT)
    needs = next(s for s in result.stages if s.stage == "니즈 파악")
    assert needs.score == 0 and needs.evidence == []  # "걱정 마세요" reassures the customer, it finds out nothing
    explained = next(s for s in result.stages if s.stage == "상품 설명")
    assert explained.score == 0  # its only 보장 is the sentence that promised 원금 보장
    closing = next(s for s in result.stages if s.stage == "클로징")
    assert closing.met == ["청약 절차·서명 안내"] and "서명만" in closing.evidence[0].quote


def test_the_classifier_is_trained_once_per_examples_and_model_scripts(tmp_path):
    from rag.missions.statements import EXAMPLES_FILE, get_classifier

    first = get_classifier(["고객님 상황부터 여쭤볼게요."])
    assert get_classifier(["고객님 상황부터 여쭤볼게요."]) is first
    changed = get_classifier(["고객님 상황부터 여쭤볼게요.", "예시표를 같이 보실까요?"])  # an ingest changed the scripts
    assert changed is not first and set(changed.codes) == set(first.codes) and "guarantee" in changed.codes
    assert get_classifier([], path=tmp_path / "missing.yaml") is None
    edited = tmp_path / "examples.yaml"
    edited.write_text(EXAMPLES_FILE.read_text(encoding="utf-8").replace("guarantee:", "guarantee_v2:"), "utf-8")
    assert "guarantee_v2" in get_classifier([], path=edited).codes


def test_eval_missions_reports_each_held_out_file_apart_from_the_tuning_sets(small_index, tmp_path, monkeypatch):
    import json

    import eval.missions as missions

    def write(name, rows):
        (tmp_path / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    write("term_explanations_a.jsonl", [{"id": "a1", "term": "해지환급금", "grade": "good", "explanation": GOOD}])
    write("term_explanations_holdout2.jsonl", [
        {"id": "h1", "term": "해지환급금", "grade": "wrong", "kind": "misconception", "myth_source": "listed",
         "explanation": "해지환급금은 보험을 해지하면 그동안 낸 보험료를 다 돌려받는 돈이에요."},
        {"id": "h2", "term": "해지환급금", "grade": "wrong", "kind": "unrelated", "explanation": UNRELATED}])
    monkeypatch.setattr(missions, "DATASET_DIR", tmp_path)
    out = missions.evaluate_missions(small_index.retriever)
    assert out["term_explanations"]["n"] == 1 and out["term_explanations"]["mean_score"]["good"] >= 70
    held = out["term_explanations_holdout2"]
    assert held["n"] == 2 and held["mean_score"]["good"] is None and held["mean_score"]["wrong"] <= 30
    assert held["misconceptions_detected_by_source"] == {"listed": 1.0}
    assert out["conversation_scripts"]["n"] == 0 and out["llm"] is None
    assert len(missions.summary_lines(out)) == 3  # the two term files and the empty script set


def test_eval_claims_reports_caught_false_claims_and_flagged_true_ones_by_kind(small_index, tmp_path, monkeypatch):
    import json

    import eval.missions as missions

    rows = [{"id": "c1", "term": "갱신형", "label": "wrong", "kind": "listed_myth", "claim": "갱신형은 보험료가 절대 안 올라요."},
            {"id": "c2", "term": "갱신형", "label": "wrong", "kind": "wrong_number",
             "claim": "갱신형은 갱신할 때마다 보험료가 딱 10%씩만 올라요."},
            {"id": "c3", "term": "갱신형", "label": "right", "kind": "corrects_myth",
             "claim": "갱신형이라고 보험료가 절대 안 오르는 건 아니에요."}]
    (tmp_path / "term_claims.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                encoding="utf-8")
    monkeypatch.setattr(missions, "DATASET_DIR", tmp_path)
    out = missions.evaluate_claims(small_index.retriever)
    claims = out["term_claims"]
    assert out["llm"] is None and claims["n"] == 3 and claims["terms"] == 1 and claims["checks"] == ["rules"]
    assert claims["by_kind"]["wrong/listed_myth"] == {"n": 1, "flagged": 1.0}
    assert claims["by_kind"]["right/corrects_myth"] == {"n": 1, "flagged": 0.0}
    assert claims["right_flagged"] == 0.0 and 0.5 <= claims["wrong_caught"] <= 1.0  # the listed myth at least
    lines = missions.summary_lines(out)
    assert lines[0].startswith("term_claims: n=3 (1 terms, checks rules)") and len(lines) == 4


def test_feedback_picks_the_particle_a_word_takes():
    from rag.missions.common import with_particle

    assert [with_particle(w, "이", "가") for w in ("인사와 소속·이름 소개", "요약과 고객 결정 확인", "KICS")] == [
        "인사와 소속·이름 소개가", "요약과 고객 결정 확인이", "KICS이(가)"]


RENEWAL_FACTS = """설계사: 안녕하세요, 한빛보험대리점 설계사 이정민입니다. 오늘은 치아보험 설계안을 보여 드릴게요.
고객: 갱신형이라고 들었는데 어떻게 되는 거예요?
설계사: 이 상품은 10년마다 갱신되는 갱신형이에요. 최대 갱신 나이는 설명서 첫 장에 있어요.
고객: 특약도 그래요?
설계사: 이 특약은 3년마다 갱신돼요."""


def test_a_plain_renewal_fact_is_no_promise_that_the_premium_stays(small_index):
    """Saying when a product renews denies no premium rise; saying the premium stays does, in words no pattern lists."""
    result = small_index.conversation_mission.review(RENEWAL_FACTS, product="치아", renewable=True)
    assert "renewal_no_increase" not in {f.code for f in result.findings}
    denial = RENEWAL_FACTS + "\n고객: 그럼 나중에 부담이 커지나요?\n설계사: 갱신 때가 와도 통장에서 나가는 숫자는 지금이랑 똑같아요."
    found = {f.code: f for f in small_index.conversation_mission.review(denial, product="치아", renewable=True).findings}
    assert found["renewal_no_increase"].detector == "classifier"
    assert "통장에서 나가는 숫자" in found["renewal_no_increase"].evidence.quote


def test_what_a_classifier_finding_needs_is_in_every_example_of_its_code():
    """`classifier_needs` must not drop a wording the classifier was taught to find."""
    import yaml

    from rag.missions.conversation import RULES_FILE
    from rag.missions.statements import EXAMPLES_FILE

    rules = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["prohibited"]
    examples = yaml.safe_load(EXAMPLES_FILE.read_text(encoding="utf-8"))
    needs = {r["code"]: re.compile(r["classifier_needs"]) for r in rules if r.get("classifier_needs")}
    assert "renewal_no_increase" in needs
    for code, pattern in needs.items():
        assert [s for s in examples[code]["violation"] if not pattern.search(s)] == []
        assert any(not pattern.search(s) for s in examples[code]["allowed"])  # it does leave some plain facts out
