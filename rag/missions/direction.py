"""Which way a clause says a quantity moves: "보험료가 오른다" (up), "예정이율이 높으면 보험료가 낮다" (inverse).

A partner who has a term backwards usually says so in these words: the premium goes up where the definition says it
goes down, or two quantities move together where the definition says they move apart. Kiwi's lemmas make the cue
words countable (낮아지고 -> 낮다, 올라가요 -> 올라가다); a negation right after a cue turns it around (오르지 않아요).
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, product

from rag.keyword import get_kiwi

UP = {"높다", "높이다", "오르다", "올라가다", "올리다", "비싸다", "많다", "크다", "커지다", "늘다", "늘어나다", "늘리다",
      "인상", "증가", "상승", "불어나다"}
DOWN = {"낮다", "낮추다", "내리다", "내려가다", "싸다", "저렴", "적다", "작다", "줄다", "줄어들다", "줄이다",
        "떨어지다", "깎다", "인하", "감소", "하락"}
NOUN_TAGS = {"NNG", "NNP", "SL"}
GENERIC = {"것", "거", "수", "때", "경우", "보험", "금액", "돈", "정도", "만큼", "쪽", "편"}
COMPARISON = re.compile(r"보다|에 비해|비해서|반면|달리|대비")
LIGHT = {"일", "걱정", "가능성", "리", "염려", "필요", "것", "거", "수"}  # "오를 일은 없어요" still negates 오르다


@dataclass(frozen=True)
class Move:
    subject: frozenset[str]  # the head noun before the cue, and the compound it ends
    sign: int  # +1 up, -1 down


@lru_cache(maxsize=4096)  # a term's definition sentences are read again for every explanation
def moves(text: str) -> tuple[Move, ...]:
    """The direction cues of a clause in order, each with the noun it is about; negations applied.

    The subject is the head noun just before the cue (with the compound it ends: 예정+이율 -> 예정이율), so "보험료
    부담을 줄여요" is about 부담, not 보험료. A cue whose head noun is generic (경우가 많다) has no subject.
    """
    out: list[Move] = []
    head: list[str] = []  # the last noun and the compound it ends
    prev_end = -1
    light = False  # a light noun since the last cue: "오를 일은 없어요"
    verb = False  # another verb since the last cue: in "손해가 늘어난 부분은 보상받지 못해요" 못 negates 보상받다
    pending_neg = False  # "안 올라요": the negation comes first
    for tok in get_kiwi().tokenize(text):
        form, tag = tok.form, tok.tag
        lemma = form + "다" if tag.startswith(("VV", "VA")) else form
        if tag == "MAG" and form in ("안", "못"):
            pending_neg = True
            continue
        negator = (tag in ("VX", "VCN") and form in ("않", "아니", "못하")) or (tag.startswith("VA") and form == "없"
                                                                             and light)
        if negator:
            if out and not verb:  # "오르지 않아요", "오를 일은 없어요": turns the last cue around
                last = out.pop()
                out.append(Move(last.subject, -last.sign))
            light = False
            continue
        sign = 1 if lemma in UP else -1 if lemma in DOWN else 0
        if sign:
            if pending_neg:
                sign, pending_neg = -sign, False
            out.append(Move(frozenset(h for h in head if h not in GENERIC), sign))
            head, light, verb = [], False, False
        elif tag in NOUN_TAGS or tag == "NNB":
            if form in LIGHT or tag == "NNB":
                light = True
                continue
            word = form.lower()
            head = [word, head[0] + word] if head and tok.start <= prev_end + 1 else [word]
            prev_end = tok.start + tok.len
        elif tag.startswith(("VV", "VA")):
            pending_neg, verb = False, True
    return tuple(out)


def _pairs(cues: tuple[Move, ...]) -> list[tuple[Move, Move]]:
    """Pairs of cues one chain relates: "A가 높을수록 B가 커져 C가 오른다" relates A-B, B-C and A-C. A cue without a
    subject starts a new statement ("…낮아지고 낮으면 보험료가 올라간다"), so no pair spans it."""
    return [(cues[i], cues[j]) for i, j in combinations(range(len(cues)), 2)
            if all(c.subject for c in cues[i : j + 1])]


def contradicts(claim: str, fact: str) -> bool:
    """The claim relates two of the fact's quantities the other way round: the same two subjects, in the same order,
    with the opposite co-movement ("예정이율이 높을수록 보험료가 비싸요" vs "예정이율이 높으면 보험료가 낮아진다"; in
    a chain "A가 높을수록 B가 커져 C가 오른다" A and C move together).

    A single move ("보험료가 내려가요" vs "보험료가 오를 수 있다") was tried as well: one shared subject is too little
    context (conditions, other verbs' negations, "상승을 막는다") and it flagged good explanations.
    """
    if COMPARISON.search(claim) or COMPARISON.search(fact):  # "A보다 싸다" is about A and B: not a move of one
        return False
    a, b = moves(claim), moves(fact)
    for (a1, a2), (b1, b2) in product(_pairs(a), _pairs(b)):
        if a1.subject & b1.subject and a2.subject & b2.subject and a1.sign * a2.sign != b1.sign * b2.sign:
            return True
    return False
