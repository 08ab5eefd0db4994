"""How likely a sentence of an explanation says something false about the term: a logistic model over how the sentence
differs from the definition sentence it is about. The rules (term.py) catch the myths they can name; this catches the
fluent false claim they cannot, and lowers 정확성 softly, by its probability, instead of calling it a misconception.

Features (`features`): how much of the sentence the best-aligned definition sentence covers and the reverse, the share
of its words the document never uses, a polarity change against that sentence, closeness to a listed myth rather than
its correction, an absolute word, and the lemmas each side has that the other lacks (a claim that says 높다 where the
definition says 낮다), with the sentence's endings and particles. Trained by `partners eval doubt --write` on
eval/datasets/term_claims.jsonl and the sentences of the tuning explanations graded good or partial.
"""

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Callable, NamedTuple

from pydantic import BaseModel

from rag.keyword import get_kiwi
from rag.missions.common import ABSOLUTE, content_words, negated, overlap, sentences

MODEL_FILE = Path(__file__).with_name("doubt_model.json")
LEMMA_TAGS = ("NNG", "NNP", "VV", "VA", "XR", "MAG", "SL", "SN", "VX", "VCN", "NR", "MM")
FORM_TAGS = {"MAG", "JX", "EC", "EF", "VX", "VCN", "MAJ", "NNB", "XSN", "XPN"}
VERB_TAGS = {"VV", "VA", "VX"}
MIN_WORDS = 3  # content words besides the term's own name a sentence needs to be judged


class Fact(NamedTuple):
    text: str
    n: int  # citation number of its chunk


class TermFacts(BaseModel):
    """What the model compares a sentence with: one term document's sentences, read once per document."""

    title: str
    facts: list[Fact]  # definition and key-point sentences, and the corrections of listed myths
    myths: list[tuple[str, str]]  # (listed misconception, its correction)
    document: str  # the whole text: words it never uses are suspect


class Doubt(BaseModel):
    sentence: str  # the partner's words
    probability: float
    fact: str  # the definition sentence it is about (exact text of the chunk)
    n: int


class DoubtModel:
    """Logistic weights by feature name (doubt_model.json); `t0` and `k` turn a probability into points off."""

    def __init__(self, weights: dict[str, float], intercept: float, t0: float = 0.3, k: float = 15.0,
                 meta: dict | None = None) -> None:
        self.weights, self.intercept, self.t0, self.k = weights, intercept, t0, k
        self.meta = meta or {}

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "DoubtModel | None":
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["intercept"], data["t0"], data["k"], data.get("meta"))

    def save(self, path: Path = MODEL_FILE) -> None:
        data = {"meta": self.meta, "t0": self.t0, "k": self.k, "intercept": round(self.intercept, 5),
                "weights": {f: round(w, 5) for f, w in sorted(self.weights.items()) if abs(w) >= 1e-4}}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")

    def probability(self, feats: dict[str, float]) -> float:
        z = self.intercept + sum(self.weights.get(f, 0.0) * v for f, v in feats.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def points_off(self, probability: float) -> float:
        """0 up to `t0`, then linearly up to `k` points at probability 1."""
        return self.k * max(0.0, probability - self.t0) / (1.0 - self.t0)

    def doubts(self, facts: TermFacts, text: str, idf: Callable[[str], float]) -> list[Doubt]:
        """Every sentence of `text` with its probability of being false, most doubtful first."""
        out = []
        drop = _words(facts.title)
        for sentence in sentences(text):
            if len(_words(sentence) - drop) < MIN_WORDS:
                continue  # "둘은 다른 거예요": too little said to compare with a definition sentence
            feats, best = features(facts, sentence, idf)
            fact = facts.facts[best] if best >= 0 else Fact("", 1)
            out.append(Doubt(sentence=sentence, probability=round(self.probability(feats), 4), fact=fact.text,
                             n=fact.n))
        return sorted(out, key=lambda d: -d.probability)


@lru_cache(maxsize=8192)  # a term's definition sentences are read again for every explanation
def morphemes(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """One Kiwi pass: content lemmas (verbs and adjectives as 높다, 없다; numbers and adverbs included), and the
    endings, particles, adverbs and bound nouns that tell how the sentence asserts, hedges or denies (`어요/EF`)."""
    lemmas, forms = set(), []
    for tok in get_kiwi().tokenize(text):
        tag = tok.tag.split("-")[0]
        if tag in LEMMA_TAGS:
            lemmas.add(tok.form + ("다" if tag in VERB_TAGS else ""))
        if tag in FORM_TAGS:
            forms.append(f"{tok.form}/{tag}")
    return frozenset(lemmas), tuple(forms)


_word_list = lru_cache(maxsize=8192)(content_words)  # the gate and the features read a sentence's words once


def _words(text: str) -> frozenset[str]:
    return frozenset(_word_list(text))


def features(facts: TermFacts, sentence: str, idf: Callable[[str], float]) -> tuple[dict[str, float], int]:
    """The sentence's features against the document, and the index of the fact sentence it aligns with (-1: none)."""
    drop = _words(facts.title)
    words = [w for w in _word_list(sentence) if w not in drop]
    said = set(words)
    f: dict[str, float] = {}
    best, at = -1.0, -1
    for i, fact in enumerate(facts.facts):
        share = overlap(words, _words(fact.text), idf)
        if share > best:
            best, at = share, i
    f["align"] = best
    f["novel"] = overlap(words, said - _words(facts.document), idf) if words else 0.0
    if at >= 0:
        fact = facts.facts[at].text
        f["cov"] = overlap(list(_words(fact) - drop), said, idf)
        differs = float(negated(sentence) != negated(fact))
        f["polmis"], f["polmis_b"] = differs * best, differs
        own, its = morphemes(sentence)[0], morphemes(fact)[0]
        mine, theirs = own - its - drop, its - own - drop
        f.update({"c:" + lemma: 1.0 for lemma in mine})
        f.update({"s:" + lemma: 1.0 for lemma in theirs})
    myth_share = fact_share = 0.0
    for myth, correction in facts.myths:
        share = overlap(words, _words(myth), idf)
        if share > myth_share:
            myth_share, fact_share = share, overlap(words, _words(correction), idf)
    f["myth"], f["myth_minus_fact"] = myth_share, myth_share - fact_share
    f["neg"] = float(negated(sentence))
    absolute = bool(ABSOLUTE.search(sentence))
    f["abs"] = float(absolute)
    f["abs_not_doc"] = float(absolute and not any(ABSOLUTE.search(x.text) for x in facts.facts))
    f.update({"f:" + form: 1.0 for form in morphemes(sentence)[1]})
    return f, at
