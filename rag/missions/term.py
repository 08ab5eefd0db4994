"""Term mission: a partner explains a term in their own words; scored against our definition, with cited feedback."""

import json
import logging
import re
import unicodedata
from functools import partial

import numpy as np
from rapidfuzz import fuzz, process

from rag.cite import Citation, sentence_spans, split_myth
from rag.errors import PartnersError
from rag.missions.common import (ABSOLUTE, bigram_containment, check_length, clauses, content_words, llm_feedback,
                                 negated, overlap, prompt_sources)
from rag.missions.direction import contradicts
from rag.missions.doubt import Doubt, DoubtModel
from rag.missions.llm_check import find_misconceptions
from rag.missions.term_result import (KeyPoint, Misconception, RubricItem, TermDoc, TermResult, accuracy_reason,
                                      completeness_reason, feedback, gated, grade, term_facts)
from rag.missions.unsupported import overclaims, wrong_numbers
from rag.prompt import load_prompt
from rag.retrieve import Retriever
from rag.titles import normalize

log = logging.getLogger(__name__)
MIN_CHARS, MAX_CHARS = 10, 500
EXAMPLE_CUE = re.compile(r"예를 들|예컨대|예시|처럼|같은 거|마치|\d")
CUSTOMER_CUE = re.compile(r"고객님|하시|드려|드릴|세요|시면|셔서|으시|께서")
CAVEAT_CUE = re.compile(r"손해|불리|주의|조심|적을 수|없을 수|오를 수|달라질|확인|꼭|반드시|다만|단,|하지만|대신")
# "…는 건 아니에요", "…게 아니라": the clause denies the proposition it embeds, i.e. it corrects the myth it names
DENIAL = re.compile(r"(건|게|것은|것도|것이|거는|거)\s*아니|만은 아니|하지 마|마세요|마시고")
# "밀린 보험료만 내신다고 | 부활되는 건 아니고": a clause ending in a quotative 다고/라고 frames what the next one
# denies or reports ("…다고들 하시는데"); alone it asserts nothing (its sentence is read whole as well)
REPORTED = re.compile(r"(다|라|냐)고(들)?\s*$")
ANTONYMS = [("같", "다르"), ("같", "다른"), ("다르", "같"), ("오르", "내리"), ("오르", "낮아"), ("많", "적"),
            ("적", "많"), ("높", "낮"), ("낮", "높"), ("크", "작"), ("있", "없"), ("없", "있")]
# the share of the clause's words (IDF-weighted) a definition sentence with the same absolute word must share for the
# clause to be the definition's own claim; chosen on eval/datasets/term_claims.jsonl (BASELINE session 18)
SAID_BY_DOC = 0.6
MIN_TERMS_TO_IDENTIFY = 30
MATCHED = 0.35  # a key point's score (0..1) from which the explanation makes it
UNCREDITED = 0.5  # a sentence the false-claim model finds this likely false makes no key point (nor does a myth)
IDENTIFIED = {1: 1.0, 2: 0.9, 3: 0.8, 4: 0.6, 5: 0.6}  # the term's rank when searched by the explanation


class UnknownTermError(PartnersError):
    code = "unknown_term"

    def __init__(self, term: str, closest: list[str]) -> None:
        super().__init__(f"No term {term!r} in the index. Closest terms: {', '.join(closest) or '-'}.")
        self.term = term
        self.closest = closest


class TermMission:
    """Scores explanations offline (morpheme overlap, USE similarity, negation cues); an LLM may write the feedback."""

    def __init__(self, retriever: Retriever, llm=None, doubt: DoubtModel | None | str = "shipped") -> None:
        self.retriever = retriever
        self.doubt = DoubtModel.load() if doubt == "shipped" else doubt  # None: the rules alone judge accuracy
        self.docstore = retriever.index.docstore
        self.llm = llm
        self._terms = {d["title"]: d for d in self.docstore.list_docs() if d["doc_type"] == "term"}
        self._aliases = {t: json.loads(d.get("extra") or "{}").get("aliases", []) for t, d in self._terms.items()}
        self._names: dict[str, str] = {}
        for title in self._terms:
            for name in [title, *self._aliases[title]]:
                self._names.setdefault(normalize(name), title)
        self.idf = retriever.index.keyword.idf

    def terms(self, category: str | None = None) -> list[str]:
        return sorted(t for t, d in self._terms.items() if not category or d["category"] == category)

    def categories(self) -> list[str]:
        return sorted({d["category"] for d in self._terms.values()})

    def known(self, name: str) -> bool:
        """Whether `name` is a term's title or alias as written (spacing aside)."""
        return normalize(name or "") in self._names

    def resolve(self, term: str) -> str:
        """The term's title from its title or an alias, or either said with one letter wrong; UnknownTermError lists
        the closest titles."""
        found = self._names.get(normalize(term or ""))
        if found:
            return found
        meant, _ = self.retriever.titles.respell(term or "")  # "헤지환급금": one letter off a name
        if found := self._names.get(normalize(meant)):
            return found
        closest = process.extract(term or "", list(self._terms), scorer=_likeness, limit=5)
        raise UnknownTermError(term, [c[0] for c in closest])

    def load(self, title: str) -> TermDoc:
        doc = self._terms[title]
        chunks = list(self.docstore.get_chunks(self.docstore.chunk_ids_of(doc["doc_id"])).values())
        chunks.sort(key=lambda c: c.chunk_index)
        term = TermDoc(title=title, chunks=chunks)
        for n, chunk in enumerate(chunks, start=1):
            for span in sentence_spans(chunk.text):
                section = _section_at(chunk.text, span.start) or chunk.section
                if "오해" in section and (pair := split_myth(span.text)):
                    term.myths.append((*pair, n))
                elif "예시" in section:
                    term.examples.append((span.text, n))
                elif "정의" in section or "핵심" in section:
                    term.points.append(KeyPoint(text=span.text, section=section, n=n))
                    if "정의" in section:
                        term.definition += span.text + " "
        return term

    def score(self, term: str, explanation: str) -> TermResult:
        """Score an explanation (10-500 characters) of `term` (a title or alias)."""
        explanation = check_length(explanation, "explanation", MIN_CHARS, MAX_CHARS, "explanation")
        doc = self.load(self.resolve(term))
        drop = set(content_words(doc.title))
        said = set(content_words(explanation))
        pieces = clauses(explanation) or [explanation]
        embed = self.retriever.embedder
        vectors = np.array(embed.embed_documents([explanation, doc.definition or doc.title, *pieces,
                                                  *[p.text for p in doc.points]]), dtype=np.float32)
        whole, definition = vectors[0], vectors[1]
        piece_vecs = vectors[2 : 2 + len(pieces)]
        point_vecs = vectors[2 + len(pieces):]
        similarity = float(whole @ definition)
        relevance = _clamp((similarity - 0.25) / 0.35)

        myths, check, llm_up = self._find_misconceptions(doc, explanation, pieces, piece_vecs, drop)
        doubts = self._doubts(doc, explanation) if not myths else []
        # a sentence that is more likely false than not earns no key point: only the rest of the explanation is
        # credited, and a point that only such a sentence makes is "unconfirmed" (BASELINE session 22)
        flagged = [m.claim for m in myths] + [d.sentence for d in doubts if d.probability >= UNCREDITED]
        trusted = explanation
        for claim in flagged:
            trusted = trusted.replace(claim, " ")
        trusted_vecs = piece_vecs[[i for i, p in enumerate(pieces) if not any(p in f or f in p for f in flagged)]]
        trusted_words = set(content_words(trusted))
        matched, unconfirmed, missing = [], [], []
        for point, vec in zip(doc.points, point_vecs):
            point.score = round(self._point_score(point, vec, trusted, trusted_words, trusted_vecs, drop), 3)
            if point.score >= MATCHED:
                matched.append(point)
            elif flagged and self._point_score(point, vec, explanation, said, piece_vecs, drop) >= MATCHED:
                unconfirmed.append(point)
            else:
                missing.append(point)
        top = sorted((p.score for p in doc.points), reverse=True)[:2]
        best_point = sum(top) / len(top) if top else 0.0  # two points: one loosely shared word is not relevance
        relevance = 0.3 * relevance + 0.7 * _clamp((best_point - 0.15) / 0.35)
        identified = self.identify(doc.title, explanation)
        if identified is not None:
            relevance = 0.5 * relevance + 0.5 * identified if identified else min(relevance, 0.25)
        weight = {True: 2.0, False: 1.0}
        total = sum(weight["정의" in p.section] for p in doc.points) or 1.0
        covered = sum(weight["정의" in p.section] for p in matched)
        completeness = _clamp(covered / (0.6 * total))
        accuracy = 30 * relevance if not myths else min(5.0, 30 * relevance)
        # the most doubtful sentence costs up to DoubtModel.k points: from 정확성 first, the rest from the total
        off = self.doubt.points_off(doubts[0].probability) if doubts else 0.0
        accuracy, off = max(0.0, accuracy - off), max(0.0, off - accuracy)
        easy_factor = 0.5 + 0.25 * bool(EXAMPLE_CUE.search(explanation)) + 0.25 * (_avg_sentence(explanation) <= 70)
        customer_factor = 0.4 + 0.3 * bool(CUSTOMER_CUE.search(explanation)) + 0.3 * bool(CAVEAT_CUE.search(explanation))
        gate = relevance * (0.5 + 0.5 * completeness)
        items = [
            RubricItem(name="정확성", score=round(accuracy), max=30, reason=accuracy_reason(relevance, myths, doubts)),
            RubricItem(name="완전성", score=round(30 * completeness), max=30,
                       reason=completeness_reason(len(doc.points), len(matched), len(unconfirmed))),
            RubricItem(name="쉬운 설명", score=round(20 * gate * easy_factor), max=20,
                       reason=gated("예시나 비유가 있어 이해하기 쉬워요.", gate) if EXAMPLE_CUE.search(explanation)
                       else "고객 상황에 맞춘 예시나 숫자를 하나 넣어 보세요."),
            RubricItem(name="고객 관점", score=round(20 * gate * customer_factor), max=20,
                       reason=gated("고객에게 불리할 수 있는 점까지 짚었어요.", gate) if CAVEAT_CUE.search(explanation)
                       else "고객이 손해 보거나 주의할 점을 함께 말해 주세요."),
        ]
        score = max(0, sum(i.score for i in items) - 15 * len(myths) - round(off))
        citations = [Citation.of(n, c, (doc.points[0].text if doc.points else c.text[:120]) if n == 1 else c.text[:120])
                     for n, c in enumerate(doc.chunks, start=1)]
        model_answer = " ".join(f"{t} [{n}]" for t, n in doc.examples[:3]) or (
            f"{doc.points[0].text} [{doc.points[0].n}]" if doc.points else "")
        result = TermResult(term=doc.title, score=score, grade=grade(score), rubric=items, matched_points=matched,
                            missing_points=missing, unconfirmed_points=unconfirmed, misconceptions=myths,
                            doubts=doubts, model_answer=model_answer, citations=citations,
                            feedback=feedback(doc, matched, missing, myths, doubts), similarity=round(similarity, 3))
        if check:
            result.misconception_check, result.check_prompt_version = f"rules+{self.llm.name}", check
        if llm_up:  # a model that just failed the check is not waited for twice
            prompt = load_prompt("term_feedback")
            values = {"term": doc.title, "sources": prompt_sources(doc.chunks), "explanation": explanation,
                      "score": score, "missing": [p.text for p in missing], "misconceptions": [m.claim for m in myths]}
            text = llm_feedback(self.llm, prompt, values, len(doc.chunks))
            if text:
                result.feedback, result.generator, result.prompt_version = text, self.llm.name, prompt.ref
        return result

    def check(self, term: str, text: str) -> tuple[list[Misconception], str]:
        """The misconceptions `score` finds in `text` (10-500 characters) and which checks ran ("rules", or
        "rules+openai:<model>" when the configured LLM answered): `partners eval claims` reads single claims with it."""
        text = check_length(text, "explanation", MIN_CHARS, MAX_CHARS, "explanation")
        doc = self.load(self.resolve(term))
        pieces = clauses(text) or [text]
        piece_vecs = np.array(self.retriever.embedder.embed_documents(pieces), dtype=np.float32)
        myths, llm_checked, _ = self._find_misconceptions(doc, text, pieces, piece_vecs, set(content_words(doc.title)))
        return myths, f"rules+{self.llm.name}" if llm_checked else "rules"

    def _find_misconceptions(self, doc: TermDoc, explanation: str, pieces: list[str], piece_vecs,
                             drop: set[str]) -> tuple[list[Misconception], str | None, bool]:
        """Listed myths, reversed relations, numbers and universals the document does not give, then what the LLM
        finds beyond them (see _llm_misconceptions)."""
        myths = self._misconceptions(doc, pieces, piece_vecs, drop)
        myths += self._reversals(doc, pieces, {m.claim for m in myths})
        myths += self._unsupported(doc, explanation, pieces, {m.claim for m in myths}, drop)
        found, check, llm_up = self._llm_misconceptions(doc, explanation, myths)
        return _one_per_statement(myths + found), check, llm_up

    def _doubts(self, doc: TermDoc, explanation: str) -> list[Doubt]:
        """The explanation's sentences the false-claim model (doubt.py) doubts enough to cost points, worst first."""
        if self.doubt is None:
            return []
        found = self.doubt.doubts(term_facts(doc), explanation, self.idf)
        return [d for d in found if self.doubt.points_off(d.probability) >= 1]

    def _point_score(self, point: KeyPoint, vector, text: str, words: set[str], piece_vecs, drop: set[str]) -> float:
        """How well `text` (its content words, its clauses' vectors) makes a key point: shared words, or meaning."""
        lexical = max(overlap(content_words(point.text, drop), words, self.idf),
                      0.7 * bigram_containment(point.text, text, drop))
        semantic = _clamp((float((piece_vecs @ vector).max()) - 0.3) / 0.4) if len(piece_vecs) else 0.0
        return 0.6 * lexical + 0.4 * semantic

    def identify(self, title: str, explanation: str) -> float | None:
        """How surely the term is found from the explanation alone, its name masked: the reverse-dictionary test.

        An explanation of another term finds that term instead; a short but correct one still finds this one.
        None when the index holds too few terms for a rank to mean anything.
        """
        if len(self._terms) < MIN_TERMS_TO_IDENTIFY:
            return None
        masked = explanation
        for name in sorted([title, *self._aliases[title]], key=len, reverse=True):
            masked = masked.replace(name, " ")
        hits = self.retriever.search(masked, k=20, mode="hybrid", doc_types=["term"], ground=False).hits
        ranked = list(dict.fromkeys(h.chunk.title for h in hits))
        rank = ranked.index(title) + 1 if title in ranked else None
        return IDENTIFIED.get(rank, 0.3 if rank and rank <= 10 else 0.0)

    def _misconceptions(self, doc: TermDoc, pieces: list[str], piece_vecs, drop: set[str]) -> list[Misconception]:
        """Clauses that state one of the definition's listed misconceptions rather than its correction.

        Myth and fact share most words ("낸 보험료를 다 돌려받는다" vs "낸 보험료보다 적다"), so similarity alone is not
        enough: the clause must also make the myth's claim, i.e. have the myth's polarity where myth and fact differ
        in polarity, or an absolute word ("무조건", "전부", "두 배", "~만") where they do not. A clause that denies what
        it embeds ("…는 건 아니에요") names the myth to correct it.
        """
        if not pieces or not doc.myths:
            return []
        texts = [myth for myth, _, _ in doc.myths] + [fact for _, fact, _ in doc.myths]
        vecs = np.array(self.retriever.embedder.embed_documents(texts), dtype=np.float32)
        found: dict[str, Misconception] = {}
        # per clause, read once for every myth: its words, and whether it has an absolute word the definition lacks
        words = {piece: set(content_words(piece)) for piece in pieces}
        points = [(point.text, set(content_words(point.text))) for point in doc.points]
        absolute_of = {piece: bool(ABSOLUTE.search(piece)) and not _doc_says_it(piece, points, drop, self.idf)
                       for piece in pieces}
        for (myth, fact, n), myth_vec, fact_vec in zip(doc.myths, vecs, vecs[len(doc.myths):]):
            myth_words = content_words(myth, drop)
            polarity_differs = negated(myth) != negated(fact)
            # a myth that hinges on an absolute word ("다 돌려받는다") is stated only by a clause that has one too;
            # "…을 빼고 돌려받는 돈" states the fact
            myth_absolute = bool(ABSOLUTE.search(myth))
            for piece, pvec in zip(pieces, piece_vecs):
                if negated(piece) != negated(myth) or piece in found:
                    continue
                if (DENIAL.search(piece) and not DENIAL.search(myth)) or REPORTED.search(piece):
                    continue
                lexical = overlap(myth_words, words[piece], self.idf)
                cosine = float(pvec @ myth_vec)
                if _antonym(myth, piece):
                    continue
                absolute = absolute_of[piece]
                by_cue = absolute and (lexical >= 0.6 or (lexical >= 0.4 and cosine >= 0.5) or cosine >= 0.7)
                by_polarity = (polarity_differs and lexical >= 0.65 and cosine >= 0.65
                               and (absolute or not myth_absolute))
                # a clause nearer the correction than the myth states the correction ("한 분만 가입하셔도 가족 전체가
                # 보장돼요" for the myth "가족 모두 각자 들어야 한다")
                if (by_cue or by_polarity) and cosine > float(pvec @ fact_vec):
                    found[piece] = Misconception(claim=piece, correction=fact, n=n)
        return list(found.values())

    def _llm_misconceptions(self, doc: TermDoc, explanation: str,
                            known: list[Misconception]) -> tuple[list[Misconception], str | None, bool]:
        """The contradictions the LLM finds beyond `known` (checked quotes, see llm_check.py), the check's prompt
        version when the model answered in JSON, and whether the model is up. Without an LLM: nothing, None, False."""
        from rag.llm import LLMUnavailableError

        if self.llm is None:
            return [], None, False
        prompt = load_prompt("term_check")
        try:
            found = find_misconceptions(self.llm, prompt, doc.title, doc.chunks, explanation)
        except LLMUnavailableError as exc:
            log.warning("misconception check skipped, the rules alone score: %s", exc)
            return [], None, False
        if found is None:
            return [], None, True
        extra: list[Misconception] = []
        for claim, correction, n in found:
            if not any(claim in m.claim or m.claim in claim for m in known + extra):
                extra.append(Misconception(claim=claim, correction=correction, n=n, by=self.llm.name))
        return extra, prompt.ref, True

    @staticmethod
    def _reversals(doc: TermDoc, pieces: list[str], known: set[str]) -> list[Misconception]:
        """Clauses that relate two quantities of a definition sentence the other way round ("예정이율이 높을수록
        보험료가 비싸요" against "예정이율이 높으면 보험료가 낮아진다"); see rag/missions/direction.py."""
        facts = [(p.text, p.n) for p in doc.points] + [(fact, n) for _, fact, n in doc.myths]
        found: list[Misconception] = []
        for piece in pieces:
            if piece in known or any(piece in m.claim or m.claim in piece for m in found):
                continue
            for fact, n in facts:
                if any(contradicts(piece, part) for part in clauses(fact) or [fact]):
                    found.append(Misconception(claim=piece, correction=fact, n=n))
                    break
        return found

    def _unsupported(self, doc: TermDoc, text: str, pieces: list[str], known: set[str],
                     drop: set[str]) -> list[Misconception]:
        """Clauses with a number the document does not give, or an "always" it does not say (unsupported.py); the
        correction is the document's sentence about the same thing."""
        facts = [(p.text, p.n) for p in doc.points] + [(fact, n) for _, fact, n in doc.myths]
        words = partial(content_words, drop=drop)
        document = "\n".join(c.text for c in doc.chunks)
        names = [doc.title, *self._aliases[doc.title]]
        found: list[Misconception] = []
        for piece, correction, n in (wrong_numbers(text, pieces, document, facts, words, self.idf)
                                     + overclaims(pieces, facts + doc.examples, words, self.idf, names)):
            if not any(piece in k or k in piece for k in known | {m.claim for m in found}):
                found.append(Misconception(claim=piece, correction=correction, n=n))
        return found


def _likeness(a: str, b: str, **_) -> float:
    """How alike two names are, by their letters (jamo: "헤지" is one letter from 해지) and by their syllables, parts
    weighed too ("청약철회기간" holds 청약철회)."""
    return (fuzz.ratio(unicodedata.normalize("NFD", a), unicodedata.normalize("NFD", b)) + fuzz.WRatio(a, b)) / 2


def _one_per_statement(myths: list[Misconception]) -> list[Misconception]:
    """A clause and the sentence holding it are one statement, found once and penalised once: the longer quote stays
    ("…처음 가입할 때 금액 그대로라서 절대 오르지 않아요." rather than "절대 오르지 않아요.")."""
    kept: list[Misconception] = []
    for myth in sorted(myths, key=lambda m: len(m.claim), reverse=True):
        if not any(myth.claim in k.claim for k in kept):
            kept.append(myth)
    return [m for m in myths if m in kept]


def _doc_says_it(piece: str, points: list[tuple[str, set[str]]], drop: set[str], idf) -> bool:
    """The definition makes the clause's absolute claim itself: a definition or key-point sentence (text, words) has
    every absolute word of the clause and shares SAID_BY_DOC of its words ("암 진단비 전액이 나오는 기준" for 일반암,
    whose definition says "가입한 암 진단비 전액을 지급하는 기준이 된다")."""
    cues = {m.group(0) for m in ABSOLUTE.finditer(piece)}
    said = content_words(piece, drop)
    return any(all(cue in text for cue in cues) and overlap(said, present, idf) >= SAID_BY_DOC
               for text, present in points)


def _antonym(myth: str, piece: str) -> bool:
    """The clause uses the opposite word of the myth ("같은 말" vs "다른 말"): it corrects the myth, not repeats it."""
    return any(a in myth and b in piece and a not in piece for a, b in ANTONYMS)


def _section_at(text: str, offset: int) -> str:
    heads = [(m.start(), m.group(1).strip()) for m in re.finditer(r"^##\s+(.+)$", text, flags=re.M)]
    current = ""
    for start, name in heads:
        if start <= offset:
            current = name
    return current


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _avg_sentence(text: str) -> float:
    parts = [p for p in re.split(r"[.?!]\s*", text) if p.strip()]
    return sum(len(p) for p in parts) / (len(parts) or 1)
