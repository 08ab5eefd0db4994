"""Exact mentions of a document's title or alias in a query: the strongest hint of which document is meant."""

import json
import re
from functools import lru_cache
from typing import Sequence

from rag.docstore import DocStore
from rag.keyword import get_kiwi, token_set

NAMED_TYPES = ("term", "guideline")
SHORT = 3  # a short name that many chunks contain (보험료, 보험금) counts only when it is most of the query
COMMON = 0.10  # "many": this share of the sampled chunks
SAMPLE = 2000
NEGATING = "비무저미불"  # 비급여 / 급여, 비갱신형 / 갱신형, 무배당 / 배당: a prefix that makes the opposite term
MISSPELT = 3  # names of this many letters or more are found misspelt ("보험게약", "뇌졸증"); shorter ones are other words


# words that ask how to be told about a name rather than about something else: "감액기간 쉽게 설명해 주세요", "고객이
# IRP 물어보면 어떻게 설명해요?" ask for that term as much as "감액기간" alone (Kiwi lemmas and nouns)
# (들다 only with an example: "보험을 든다던데" buys insurance; "해피콜 답변 미리 알려줘도 됨?" asks leave: PERMISSION)
REQUEST_WORDS = frozenset("쉽다 설명 묻다 물어보다 어떻다 뜻 의미 정의 개념 알리다 알다 말 말하다 대하다 정리 요약 핵심 "
                          "고객 고객님 손님 무엇 뭐 무슨 용어 이해 가르치다 예 예시 자세히 자세하다 간단히 간단하다 "
                          "궁금하다 한마디 쉽게 초보자 풀다 답 답변 답하다 포인트 중요 중요하다 헷갈리다 방법 눈높이 "
                          "맞추다 쓰이다 보험 신입 초보 설계사 기초 기본 모르다 관련 처음 접하다 교육 상담 멘트 만들다 "
                          "하나 부탁 구체 구체적 사례 비유 입장 얘기 어르신 알아듣다 짚다 감 오다 나오다 이내 정확 "
                          "정확하다 요즘 얼마 정도 "
                          "하다 있다 되다 좋다 주다 드리다 때 점 줄 것 수".split())  # light verbs and bound nouns
# the request words that ask what a name is, not only how it goes: a common short name asked about needs one
# ("보험료가 뭐예요?"; "보험료는 어때요?" after a 간편심사보험 question asks about that product's premium). "보험료
# 얼마예요?" asks what sets it: the 보험료 document says, where "보험료의 10%" made the gift limit come first (session 32)
DEFINING = frozenset("뜻 의미 정의 개념 설명 요약 핵심 포인트 정리 예 예시 용어 이해 뭐 무엇 무슨 가르치다 헷갈리다 풀다 "
                     "쉽다 쉽게 간단히 간단하다 자세히 자세하다 궁금하다 한마디 답 답변 답하다 얼마".split())
JAMO = re.compile(r"[ㄱ-ㅎㅏ-ㅣ]+")  # letters typed alone: chat noise
WHAT = re.compile(r"뭐|뭔|무엇|무슨|뭘")  # Kiwi keeps no token of "뭔가요?"
EXAMPLE_WORDS = frozenset("예 예시".split())  # with one of these, "들어 주세요" asks for an example
GIVE_EXAMPLE = frozenset("들다 듣다".split())  # Kiwi reads "들어줘" as 듣다 too
# "알려줘도 돼요?", "보험사에 말해야 돼요?" ask whether something may or must be done: a rule, not the name's meaning
PERMISSION = re.compile(r"[가-힣][도야]\s*(?:돼|되|됨|될)")
# request words that stand for the name when the rest of a query is read: one whose last letter takes the particle
# that follows the name ("감액기간을" is read "개념을", "보험료를" "용어를"; Kiwi misreads "용어을")
PLACEHOLDERS = {True: "개념", False: "용어"}  # the name's last syllable has a final consonant -> placeholder
CONSONANT_PARTICLES, VOWEL_PARTICLES = ("을", "은", "이", "과", "으로"), ("를", "는", "가", "와", "로", "랑")


def normalize(text: str) -> str:
    """Lowercase, without spaces or punctuation, so 'K-ICS', 'k ics' and 'KICS' meet."""
    return re.sub(r"[\W_]+", "", text.lower())


class TitleMatcher:
    """Finds titles and aliases inside a query; a name inside a longer matched name (갱신형 in 비갱신형) does not count."""

    def __init__(self, names: dict[str, list[str]], common: set[str] = frozenset(), text: str = "",
                 spaced: dict[str, set[int]] | None = None) -> None:
        self._names = {n: ids for n, ids in names.items() if len(n) >= 2}
        self._common = common
        # the chunk texts, each word normalized and led by a space (" 계약해제는 …"): a spelling they use is a word, not
        # a slip, and a word they use is matched within a word, never across two ("에게 약관" does not say 게약)
        self._text = "\n".join(" " + " ".join(map(normalize, line.split())) for line in text.splitlines())
        self._spaced = spaced or {}  # a name written in words ("고령자 보호") -> where its later words start (3)
        self._misspelt: dict[str, list[str]] = {}  # each name with one syllable blanked ("보험?약") -> the names
        self._prefixes: dict[int, set[str]] = {}  # name length -> the names' beginnings ("", "보", "보험", "보험계")
        for name in self._names:
            if len(name) >= MISSPELT:
                self._prefixes.setdefault(len(name), set()).update(name[:i] for i in range(len(name)))
                for i, ch in enumerate(name):
                    if _is_syllable(ch):
                        self._misspelt.setdefault(name[:i] + "?" + name[i + 1:], []).append(name)
        self._spans_of: dict[tuple[str, bool], list[tuple[int, int, str]]] = {}  # a search asks several times

    @classmethod
    def from_docstore(cls, docstore: DocStore) -> "TitleMatcher":
        names: dict[str, list[str]] = {}
        spaced: dict[str, set[int]] = {}
        for doc in docstore.list_docs():
            if doc["doc_type"] not in NAMED_TYPES:
                continue
            chunk_ids = docstore.chunk_ids_of(doc["doc_id"])
            if not chunk_ids:
                continue
            aliases = json.loads(doc.get("extra") or "{}").get("aliases", [])
            for written in [doc["title"], *aliases]:
                if len(written.split()) > 1:
                    spaced.setdefault(normalize(written), set()).update(_bounds(written) - {0})
            for name in {normalize(n) for n in [doc["title"], *aliases]}:
                ids = names.setdefault(name, [])
                if chunk_ids[0] not in ids:
                    ids.append(chunk_ids[0])
        texts = []
        for i, chunk in enumerate(docstore.iter_chunks()):
            if i >= SAMPLE:
                break
            texts.append(chunk.text)
        flat = [normalize(t) for t in texts]
        common = {n for n in names if len(n) <= SHORT and flat and _share(n, flat) > COMMON}  # a cheap first cut
        # a name inside a longer one is not said: 보험자 fills 16 % of the chunks, but as itself (not 피보험자) 2 %
        common = {n for n in common if _share(n, flat, [m for m in names if n in m and m != n]) > COMMON}
        return cls(names, common, "\n".join(texts), spaced)

    def names_in(self, query: str) -> list[str]:
        """The (normalized) names a query mentions, longest match wins, common short names included."""
        return [name for _, _, name in self._spans(query, keep_common=True)]

    def asked_alone(self, query: str) -> bool:
        """The query says one name and otherwise only asks to be told about it (REQUEST_WORDS)."""
        spans = self._named_spans(query)
        return len(spans) == 1 and self._only_asks_about(query, spans[0])

    def _named_spans(self, query: str) -> list[tuple[int, int, str]]:
        """The names the title signal reads: common short names left out (`_spans`), unless one is all the query
        names and it only asks to be told about it ("보험료가 뭐예요?", "특약 설명 부탁드립니다")."""
        spans = self._spans(query)
        if not spans:
            every = self._spans(query, keep_common=True)
            if len(every) == 1 and self._only_asks_about(query, every[0], defining=True):
                return every
        return spans

    def _only_asks_about(self, query: str, span: tuple[int, int, str], defining: bool = False) -> bool:
        """Besides the name at `span`, the query only asks to be told about it (REQUEST_WORDS); `defining`: and one
        of its words asks what the name is (DEFINING)."""
        if PERMISSION.search(query):
            return False
        start, end, name = span
        # the name read as a plain noun: what Kiwi makes of a misspelt one ("보험게약": 약) is no request word
        placeholder = _placeholder(query, end, name)
        rest = _replace_span(query, start, end, placeholder)
        parts = token_set(name) | {placeholder}
        # chat noise (ㅠㅠ, ㅎㅎ, ㅋㅋ) asks nothing, alone or glued to a word ("ㅠㅠ비유")
        words = {JAMO.sub("", t) for t in token_set(rest) - parts if not any(p in t for p in parts)} - {""}
        asks = REQUEST_WORDS | (GIVE_EXAMPLE if words & EXAMPLE_WORDS else frozenset())
        # a compound of two request words ("핵심포인트", "보험용어") asks too
        return all(t in asks or any(t[:i] in asks and t[i:] in asks for i in range(1, len(t))) for t in words) and (
            not defining or WHAT.search(query) is not None
            or any(t in DEFINING or any(t[:i] in DEFINING for i in range(1, len(t))) for t in words))

    def respell(self, query: str) -> tuple[str, dict[str, str]]:
        """`query` with each name said with one letter wrong (`_misspelt_spans`) spelled right, and what was
        changed, as written -> as meant ("헤지환급금" -> "해지환급금"): the other signals then search the name too,
        and the answer reads it. Only the wrong letter changes; spaces and the rest stay as typed."""
        q, out, fixed = normalize(query), list(query), {}
        where = _places(query)
        for start, end, name in self._spans(query, keep_common=True):
            for i in range(end - start):
                if q[start + i] != name[i]:
                    out[where[start + i]] = name[i]
            if q[start:end] != name:
                said = query[where[start]:where[end - 1] + 1]
                fixed[said] = "".join(out[where[start]:where[end - 1] + 1])
        return "".join(out), fixed

    def is_common(self, name: str) -> bool:
        """A short name that many chunks contain (보험료, 보험사): a word of any question more than its topic."""
        return name in self._common

    def opposites(self, query: str, left_out: tuple[str, ...] = ()) -> set[str]:
        """First chunk ids of the documents a query is not about though every signal likes them: those whose name
        negates a name the query mentions (the 비갱신형 document when it says 갱신형, or 갱신형 보험, alone), and those
        named by `left_out`, the names a follow-up replaced ("그럼 비갱신형은요?" after a 갱신형 question). A document
        the query names itself is never among them."""
        named = set(self.names_in(query))
        said = {cid for name in named for cid in self._names[name]}
        negated = {prefix + name for name in named for prefix in NEGATING}
        return {cid for name in negated | set(left_out) for cid in self._names.get(name, [])} - said

    def match(self, query: str) -> list[tuple[str, float]]:
        """Best-first (chunk_id, matched length) for the names the query mentions."""
        kept = self._named_spans(query)
        ranked: dict[str, float] = {}
        for start, end, name in kept:
            for cid in self._names[name]:
                ranked[cid] = max(ranked.get(cid, 0.0), float(end - start))
        return sorted(ranked.items(), key=lambda kv: kv[1], reverse=True)

    def _spans(self, query: str, keep_common: bool = False) -> list[tuple[int, int, str]]:
        """(start, end, name) of the names in normalize(query), longest first, none inside a longer one."""
        spans = self._spans_of.get((query, keep_common))
        if spans is None:
            spans = self._find_spans(query, keep_common)
            if len(self._spans_of) >= 4096:
                self._spans_of.clear()
            self._spans_of[(query, keep_common)] = spans
        return list(spans)

    def _find_spans(self, query: str, keep_common: bool) -> list[tuple[int, int, str]]:
        q, bounds = normalize(query), _bounds(query)
        ends: set[int] | None = None
        spans = []
        for name in self._names:
            start = q.find(name)
            while start != -1:
                end = start + len(name)
                across = any(start < b < end for b in bounds)
                if across and ends is None:
                    ends = _morpheme_ends(query)
                # a two-letter name across words is an accident ("수영 배우는데" holds 영배), and so is a name across
                # words that stops inside a morpheme ("갱신형 보험료" holds 갱신형 보험, "변액보험 자산" 보험자)
                if not across or (len(name) > 2 and end in ends):
                    spans.append((start, end, name))
                start = q.find(name, start + 1)
        spans += self._misspelt_spans(query, q, bounds, spans)
        spans.sort(key=lambda s: s[1] - s[0], reverse=True)
        kept: list[tuple[int, int, str]] = []
        for start, end, name in spans:
            if any(a <= start and end <= b for a, b, _ in kept):
                continue
            if not keep_common and name in self._common and len(name) / len(q) < 0.5:
                continue
            kept.append((start, end, name))
        return kept

    def _misspelt_spans(self, query: str, q: str, bounds: set[int],
                        exact: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """(start, end, name) where normalize(query) `q` says a name with one letter (jamo) of one syllable wrong:
        "보험게약" is 보험계약, "뇌졸증" 뇌졸중. Only a spelling no word of the documents begins with counts (제보험
        inside 국제보험자본기준 is still 재보험 misspelt), and only when the wrong syllable is not inside a word they
        use (계약해제 is not 계약해지 misspelt: the documents say 해제); not where a name is said exactly; from the
        start of a word ("세움보험대리점" does not say 암보험), and across words only where the name itself is written in
        words."""
        found = []
        for length, prefixes in self._prefixes.items():
            for start in sorted(b for b in bounds if b <= len(q) - length):  # a word's start: not "에셋보험" for 펫보험
                end = start + length
                said = q[start:end]
                for i in range(length):
                    if said[:i] not in prefixes:  # no name begins so: nor with a slip further on
                        break
                    for name in self._misspelt.get(said[:i] + "?" + said[i + 1:], ()):
                        if (_jamo_distance(said[i], name[i]) == 1 and " " + said not in self._text
                                and _word_at(q, bounds, start + i) not in self._text
                                and not any(a <= start and end <= b for a, b, _ in exact)
                                and {b - start for b in bounds if start < b < end} <= self._spaced.get(name, set())
                                and not self._known_word_at(query, start + i, last=i == length - 1)):
                            found.append((start, end, name))
        return found

    def _known_word_at(self, query: str, at: int, last: bool) -> bool:
        """The Kiwi morphemes at offset `at` of normalize(query) are, at the name's `last` syllable, a particle or an
        ending ("대위권이" is not 대위권리 misspelt; inside a name they are what Kiwi makes of a slip: "입원급어금",
        "고지이무 위반"), or one is a word of two syllables or more the documents use."""
        here = [(form, tag) for a, b, form, tag in _morphemes(query) if a <= at < b]
        return last and bool(here) and all(tag.startswith(("J", "E", "VCP")) for _, tag in here) or any(
            len(form) >= 2 and form in self._text for form, _ in here)


def _is_syllable(ch: str) -> bool:
    return "가" <= ch <= "힣"


def _jamo_distance(a: str, b: str) -> int:
    """How many of two Hangul syllables' letters differ (initial, medial, final): 게 / 계 1, 객 / 계 2; 3 for a
    character that is not a syllable."""
    if not (_is_syllable(a) and _is_syllable(b)):
        return 3
    x, y = ord(a) - 0xAC00, ord(b) - 0xAC00
    return (x // 588 != y // 588) + (x // 28 % 21 != y // 28 % 21) + (x % 28 != y % 28)


def _share(name: str, texts: list[str], longer: Sequence[str] = ()) -> float:
    """Share of `texts` that say `name` outside the `longer` names that contain it."""
    longer = sorted(longer, key=len, reverse=True)
    said = 0
    for text in texts:
        for other in longer:
            text = text.replace(other, "#")
        said += name in text
    return said / len(texts)


def _bounds(query: str) -> set[int]:
    """Offsets in normalize(query) where a new word starts."""
    bounds, offset = set(), 0
    for word in query.split():
        bounds.add(offset)
        offset += len(normalize(word))
    return bounds


def _word_at(q: str, bounds: set[int], at: int) -> str:
    """The word of normalize(query) `q` that holds offset `at` (`bounds`: where words start)."""
    start = max(b for b in bounds | {0} if b <= at)
    end = min([b for b in bounds if b > at] + [len(q)])
    return q[start:end]


def _placeholder(query: str, end: int, name: str) -> str:
    """The placeholder (PLACEHOLDERS) that agrees with the particle after the name ending at offset `end` of
    normalize(query), else with the name's last syllable."""
    after = query[_places(query)[end - 1] + 1:]
    if after.startswith(CONSONANT_PARTICLES) or after.startswith(VOWEL_PARTICLES):
        return PLACEHOLDERS[after.startswith(CONSONANT_PARTICLES)]
    last = name[-1]
    return PLACEHOLDERS[_is_syllable(last) and (ord(last) - 0xAC00) % 28 != 0]


def _replace_span(query: str, start: int, end: int, name: str) -> str:
    """`query` with the characters at [start, end) of normalize(query) replaced by `name`."""
    where = _places(query)
    return query[:where[start]] + name + query[where[end - 1] + 1:]


@lru_cache(maxsize=4096)
def _places(query: str) -> tuple[int, ...]:
    """Each character of normalize(query): its place in `query`."""
    return tuple(i for i, ch in enumerate(query) for _ in normalize(ch))


@lru_cache(maxsize=4096)
def _morpheme_ends(query: str) -> frozenset[int]:
    """Offsets in normalize(query) where a Kiwi morpheme ends."""
    return frozenset(end for _, end, _, _ in _morphemes(query))


@lru_cache(maxsize=4096)
def _morphemes(query: str) -> tuple[tuple[int, int, str, str], ...]:
    """(start, end, normalized form, tag) of each Kiwi morpheme of `query`, offsets in normalize(query)."""
    offsets, n = [], 0
    for ch in query:
        offsets.append(n)
        n += len(normalize(ch))
    offsets.append(n)
    return tuple((offsets[min(tok.start, len(query))], offsets[min(tok.start + tok.len, len(query))],
                  normalize(tok.form), tok.tag) for tok in get_kiwi().tokenize(query))
