"""The term mission's result: its pydantic models, the grade, and the offline Korean feedback lines."""

from pydantic import BaseModel, Field

from rag.cite import Citation
from rag.missions.doubt import Doubt, Fact, TermFacts
from rag.types import Chunk

GRADES = [(85, "우수"), (70, "양호"), (45, "보완 필요"), (0, "재학습 필요")]
# Below this probability a doubted sentence is only "worth comparing with the definition", not "looks different": on
# the held-out explanations 76 % of the good ones have a sentence that costs a point, 35 % one at .8 or more
# (eval/results/BASELINE.md, "Session 21"). The points taken are the same either way.
SURE = 0.8
# Below this share of the most a rubric item can give (its gate: on topic, and complete), a style item's praise says
# what holds its points back: a caveat in an explanation of the wrong thing is not "고객 관점".
GATED = 0.6


class KeyPoint(BaseModel):
    text: str  # an exact sentence of the definition chunk
    section: str
    n: int  # citation number of its chunk
    score: float = 0.0


class RubricItem(BaseModel):
    name: str
    score: int
    max: int
    reason: str


class Misconception(BaseModel):
    claim: str  # the partner's words
    correction: str  # what the definition says instead (exact text of the chunk)
    n: int
    by: str = "rules"  # or the LLM that found it ("openai:<model>"), see rag/missions/llm_check.py


class TermResult(BaseModel):
    term: str
    score: int
    grade: str
    rubric: list[RubricItem]
    matched_points: list[KeyPoint]
    missing_points: list[KeyPoint]
    # made only by a misconception or a sentence doubted at p >= term.UNCREDITED: they earn nothing until it is fixed
    unconfirmed_points: list[KeyPoint] = Field(default_factory=list)
    misconceptions: list[Misconception]
    doubts: list[Doubt] = Field(default_factory=list)  # sentences that may be false, with the points they cost
    model_answer: str
    feedback: str
    citations: list[Citation]
    generator: str = "extractive"
    prompt_version: str = "term_rubric@1.0"
    misconception_check: str = "rules"  # "rules+openai:<model>" when the LLM also checked the explanation
    check_prompt_version: str | None = None
    similarity: float = 0.0


class TermDoc(BaseModel):
    title: str
    chunks: list[Chunk]
    points: list[KeyPoint] = Field(default_factory=list)
    myths: list[tuple[str, str, int]] = Field(default_factory=list)  # (misconception, fact, n)
    examples: list[tuple[str, int]] = Field(default_factory=list)
    definition: str = ""


def term_facts(doc: TermDoc) -> TermFacts:
    """What the false-claim model compares a sentence with (doubt.py)."""
    return TermFacts(title=doc.title, facts=[Fact(p.text, p.n) for p in doc.points]
                     + [Fact(fact, n) for _, fact, n in doc.myths],
                     myths=[(myth, fact) for myth, fact, _ in doc.myths],
                     document="\n".join(c.text for c in doc.chunks))


def grade(score: int) -> str:
    return next(name for floor, name in GRADES if score >= floor)


def completeness_reason(points: int, matched: int, unconfirmed: int) -> str:
    reason = f"정의의 핵심 {points}개 중 {matched}개를 담았어요."
    if unconfirmed:
        reason += f" 정의와 다를 수 있는 문장에만 있는 {unconfirmed}개는 세지 않았어요."
    return reason


def gated(praise: str, gate: float) -> str:
    """A style item's praise, and why it still gets few points when the explanation misses the term's core."""
    return praise if gate >= GATED else f"{praise} 다만 정의의 핵심을 더 담아야 이 항목 점수도 올라가요."


def accuracy_reason(relevance: float, myths: list[Misconception], doubts: list[Doubt]) -> str:
    if myths:
        return "정의와 어긋나는 설명이 있어요. 아래 '오해'를 확인해 주세요."
    if doubts and doubts[0].probability >= SURE:
        return f"'{doubts[0].sentence}'는 정의와 달라 보여요. 피드백의 정의 문장과 비교해 보세요."
    if doubts:
        return f"{'대체로 맞지만 ' if relevance >= 0.7 else ''}'{doubts[0].sentence}'는 정의 문장과 한 번 더 비교해 보세요."
    if relevance >= 0.7:
        return "정의와 같은 뜻으로 설명했어요."
    if relevance >= 0.3:
        return "방향은 맞지만 정의와 다른 부분이 있어요."
    return "이 용어와 관련이 적은 설명이에요."


def feedback(doc: TermDoc, matched: list[KeyPoint], missing: list[KeyPoint], myths: list[Misconception],
              doubts: list[Doubt]) -> str:
    """Offline feedback: what to fix first, each point cited."""
    lines = []
    if myths:
        m = myths[0]
        lines.append(f"'{m.claim}'라는 설명은 정의와 달라요. {m.correction} [{m.n}]")
    elif doubts and doubts[0].fact:
        d = doubts[0]
        if d.probability >= SURE:
            lines.append(f"'{d.sentence}'는 정의와 달라 보여요. 정의에서는 이렇게 설명해요: {d.fact} [{d.n}]")
        else:
            lines.append(f"'{d.sentence}'는 정의의 이 문장과 비교해 확인해 보세요: {d.fact} [{d.n}]")
    if matched:
        lines.append(f"잘 짚은 점: {matched[0].text} [{matched[0].n}]")
    for point in missing[:2]:
        lines.append(f"보완할 점: {point.text} [{point.n}]")
    if not lines:
        lines.append(f"{doc.title}의 정의를 다시 읽어 보세요.")
    return "\n".join(lines)
