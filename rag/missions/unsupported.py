"""Claims the term's document does not make: a number it does not give, an "always" it does not say.

A partner who gets a term wrong is usually right about most of it and wrong about one thing, said with confidence:
"만 70세부터 고령자예요" where the document says 65세, "감기든 뭐든 진단만 받으시면 다 면제돼요" where it lists the
conditions. Both can be checked against the document's own sentences without knowing what the clause means:

- a number with a unit (70세, 30%, 15일, 두 배) that appears nowhere in the document, while a sentence of the document
  gives a number of that unit: the document says how many, and it is another number;
- a universal word (무조건, 어떤 경우에도, …든 …든 다, …기만 하면) in a clause that asserts it, where no sentence of
  the document about the same thing is universal too.

Both were chosen on eval/datasets/term_claims.jsonl (see eval/results/BASELINE.md, session 17).
"""

import re
from typing import Callable, Iterable

from rag.missions.common import SENTENCE_BREAK, overlap

UNIT = r"(%|퍼센트|년|개월|일|세|살|배|회|시간)"
VALUE = r"(\d+(?:[.,]\d+)?)"
NUMBER = re.compile(r"(?<![\d.,])(?<!월\s)(?<!월)" + VALUE + r"\s*" + UNIT)  # not "5월 30일", a date
# Korean numerals only where they cannot be read otherwise ("두 배", "한 달"; not "두세요", "한 번에")
KOREAN_NUMBER = re.compile(r"(?<![가-힣])(한|두|세|네|다섯|여섯|일곱|여덟|아홉|열)\s*(배|달|해)(?![가-힣])")
KOREAN_DIGITS = {"한": "1", "두": "2", "세": "3", "네": "4", "다섯": "5", "여섯": "6", "일곱": "7", "여덟": "8",
                 "아홉": "9", "열": "10"}
UNITS = {"퍼센트": "%", "살": "세", "달": "개월", "해": "년"}
RANGE = re.compile(VALUE + r"\s*[~∼]\s*(?=\d+(?:[.,]\d+)?\s*" + UNIT + ")")  # the low end of "3~100%"
# "1년에 한 번", "매년": a rate, not a period the document would give
RATE = re.compile(r"\d+\s*(년|개월|일)\s*(에|마다)(?![가-힣]*안)")
# an example or an enumeration is not a claim about the term ("10년, 20년처럼", "5년을 내셨든 15년을 내셨든")
EXAMPLE = re.compile(r"예를 들|예컨대|처럼|이라면|라고 하면|셨든|였든|었든|았든")

UNIVERSAL = re.compile(r"무조건|어느 경우에도|어떤 경우에도|어떤 경우든|이유가 뭐든|뭐든|이유를 불문|기만 하면|모든|누구나|"
                       r"언제든|하나도|절대|전부(?!보험)|전액|100\s*%|다 똑같|어디나 똑같|어느 (회사|상품|병원)(나|든|이든)|항상|언제나|"
                       r"걱정 없|필요 없|(?<![가-힣])\S+(이)?든 \S+?(이)?든(?![가-힣])")
# what a document says when it is universal too ("모두 들어야", "반드시 포함")
UNIVERSAL_SOURCE = re.compile(UNIVERSAL.pattern + r"|모두|반드시|누구든|상관없이|관계없이|똑같|동일")
# the clause qualifies or denies what it says ("전액은 아니에요", "받을 수 있어요"), or forbids ("절대 안 돼요")
HEDGED = re.compile(r"아니|않|수 있|안 ?(돼|됩)|마세요|하지 마|드물|보통|대부분|경우가 많|어렵|"
                    r"(다|라|이라|냐)고(\s|$)")  # "…다고" reports what someone says
# a universal word in a condition ("필요 없어지면", "전액 받으셨다면") or in quotes ("'누구나' 조건") is not asserted
CONDITIONAL = re.compile(r"(무조건|모든|모두|누구나|언제든|하나도|절대|전부|전액|다|필요 없|걱정 없)\s*\S*?면(?=\s|$|[,.])")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|‘[^’]*’|“[^”]*”")
# "전부 아우르는 말": a collective name, not a claim about every case
COLLECTIVE = re.compile(r"(전부|모두|다)\s*(아우르|포함하는|통틀|묶)")
SUPPORTED_AT = 0.2  # the share of the clause's words (IDF-weighted) a universal sentence of the document must share


def quantities(text: str) -> set[tuple[str, str]]:
    """(value, unit) pairs: "만 70세" -> ("70", "세"), "두 배" -> ("2", "배"), "1,000일" -> ("1000", "일")."""
    out = {(m.group(1).replace(",", ""), UNITS.get(m.group(2), m.group(2))) for m in NUMBER.finditer(text)}
    out |= {(KOREAN_DIGITS[m.group(1)], UNITS.get(m.group(2), m.group(2))) for m in KOREAN_NUMBER.finditer(text)}
    out |= {(m.group(1).replace(",", ""), UNITS.get(m.group(2), m.group(2))) for m in RANGE.finditer(text)}
    return out


def wrong_numbers(text: str, pieces: Iterable[str], document: str, sentences: list[tuple[str, int]],
                  words: Callable[[str], list[str]], idf: Callable[[str], float]) -> list[tuple[str, str, int]]:
    """(clause, the document's sentence with a number of that unit, its citation number) for each clause of `text`
    that gives a number the document does not; the sentence is the one sharing most of the clause's words. Numbers
    in a sentence that gives an example ("10년, 20년처럼") are not claims."""
    given = quantities(document)
    given |= {q for s in SENTENCE_BREAK.split(text) if EXAMPLE.search(s) for q in quantities(s)}
    found = []
    for piece in pieces:
        claimed = quantities(RATE.sub(" ", piece)) - given
        units = {unit for _, unit in claimed}
        candidates = [(s, n) for s, n in sentences if units & {unit for _, unit in quantities(s)}]
        if candidates:
            said = set(words(piece))
            best = max(candidates, key=lambda c: overlap(words(c[0]), said, idf))
            found.append((piece, *best))
    return found


def overclaims(pieces: Iterable[str], sentences: list[tuple[str, int]], words: Callable[[str], list[str]],
               idf: Callable[[str], float], names: Iterable[str] = ()) -> list[tuple[str, str, int]]:
    """(clause, the document's nearest sentence, its citation number) for each clause that asserts a universal
    ("무조건", "어떤 경우에도", "다 똑같이") where no universal sentence of the document shares its words. The term's
    `names` are not read for universal words ("전부보험")."""
    names = sorted(names, key=len, reverse=True)
    sentence_words: list[set[str]] = []  # tokenized once, when the first clause needs them
    found = []
    for piece in pieces:
        bare = QUOTED.sub(" ", piece)
        for name in names:
            bare = bare.replace(name, " ")
        if not UNIVERSAL.search(bare) or any(p.search(bare) for p in (HEDGED, CONDITIONAL, COLLECTIVE)):
            continue
        sentence_words = sentence_words or [set(words(s)) for s, _ in sentences]
        said = words(piece)
        if any(UNIVERSAL_SOURCE.search(s) and overlap(said, present, idf) >= SUPPORTED_AT
               for (s, _), present in zip(sentences, sentence_words)):
            continue
        if sentences:
            said_set = set(said)
            best = max(zip(sentences, sentence_words), key=lambda sw: overlap(list(sw[1]), said_set, idf))[0]
            found.append((piece, *best))
    return found
