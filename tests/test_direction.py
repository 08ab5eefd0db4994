"""Direction claims (rag/missions/direction.py) with the real Kiwi analyzer."""

from rag.missions.direction import contradicts, moves

FACT = "예정이율만큼 미리 할인해 보험료를 정하므로, 예정이율이 높으면 보험료가 낮아지고 낮으면 보험료가 올라간다."


def test_cues_carry_their_head_noun_and_negations_turn_them():
    assert [(set(m.subject), m.sign) for m in moves("예정이율이 높으면 보험료가 낮아져요")] == [
        ({"이율", "예정이율"}, 1), ({"보험료"}, -1)]
    assert [m.sign for m in moves("보험료는 오르지 않아요")] == [-1]
    assert [m.sign for m in moves("보험료가 안 올라요")] == [-1]
    assert [m.sign for m in moves("보험료가 오를 일은 없어요")] == [-1]
    # the negation belongs to 보상받다, not to 늘어나다
    assert [m.sign for m in moves("손해가 늘어난 부분은 보상받지 못해요")] == [1]
    # 보험료 부담 is about 부담; a generic head (경우) has no subject
    assert set(moves("보험료 부담을 줄여요")[0].subject) == {"부담", "보험료부담"}
    assert not moves("빠지는 경우가 많아요")[0].subject


def test_a_reversed_relation_contradicts_the_fact_and_the_same_relation_does_not():
    assert contradicts("예정이율이 높은 상품일수록 보험료가 비싸요", FACT)
    assert not contradicts("예정이율이 높으면 보험료가 싸져요", FACT)
    assert not contradicts("예정이율이 내려가면 새로 가입하는 분들 보험료가 올라요", FACT)


def test_a_chain_relates_its_ends_but_a_new_statement_breaks_it():
    chain = "예정사업비율이 높을수록 부가보험료가 커져 영업보험료가 올라간다."
    assert not contradicts("이 비율을 높게 잡은 회사일수록 월 보험료가 더 비싸져요", chain)
    assert contradicts("이 비율을 높게 잡은 회사일수록 월 보험료가 더 싸져요", chain)
    # "…낮아지고 낮으면 보험료가 올라간다": 높으면 and 올라간다 are not one chain
    assert not contradicts("이 이율을 높게 잡을수록 보험료는 내려가요", FACT)


def test_comparisons_and_single_moves_are_left_alone():
    assert not contradicts("갱신형은 비갱신형보다 처음 보험료가 높아요", "처음 보험료는 비갱신형보다 싸다")
    assert not contradicts("보험료가 내려가요", "갱신할 때 보험료가 오를 수 있다")
