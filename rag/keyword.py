"""Korean keyword indexes scored by BM25 (bm25s): Kiwi morphemes (prefix-aware, so 비급여 never matches like 급여)
and character n-grams (robust to typos, spacing and unseen compounds)."""

import json
import math
import re
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

NOUNS = {"NNG", "NNP", "NR", "SL", "SH", "SN", "XR"}
VERBS = {"VV", "VA", "VV-R", "VA-R", "VV-I", "VA-I"}


@lru_cache(maxsize=1)
def get_kiwi():
    """One Kiwi per process (its model ships in kiwipiepy-model)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def tokenize(text: str) -> list[str]:
    """Content morphemes for BM25.

    A prefix (XPN: 비, 무, 저 …) is glued to its noun, so 비급여 is one token and never `급여`; a suffix (XSN: 형, 료 …)
    is glued too and the bare noun is kept (갱신형 -> 갱신형, 갱신). Adjacent nouns also give a joined token, so
    해지환급금 and "해지 환급금" both carry 해지환급금.
    """
    out: list[str] = []
    prefix = ""
    prev_noun: str | None = None
    prev_end = -1
    for tok in get_kiwi().tokenize(text):
        tag, form = tok.tag, tok.form
        if tag == "XPN":
            prefix += form
            continue
        if tag in NOUNS or (tag == "SW" and form.isalnum()):
            word = (prefix + form).lower()
            prefix = ""
            out.append(word)
            if prev_noun is not None and tok.start <= prev_end + 1:
                out.append(prev_noun + word)
            prev_noun, prev_end = word, tok.start + tok.len
            continue
        if tag == "XSN" and prev_noun is not None and tok.start == prev_end:
            out.append(prev_noun + form)
            prev_noun, prev_end = prev_noun + form, tok.start + tok.len
            continue
        prefix = ""
        prev_noun = None
        if tag in VERBS:
            out.append(form + "다")
    return out


@lru_cache(maxsize=16384)
def token_set(sentence: str) -> frozenset[str]:
    """`tokenize` as a set, read once per process: the answer's sentence ranking and quoting see the same chunks'
    sentences question after question."""
    return frozenset(tokenize(sentence))


WORD = re.compile(r"\w+")


def char_ngrams(text: str, sizes: tuple[int, ...] = (1, 2), starts: tuple[int, ...] = ()) -> list[str]:
    """Character n-grams inside each word (no n-gram crosses a space), and with `starts` each word's first characters
    marked as its start ("^비", "^비급")."""
    out: list[str] = []
    for word in WORD.findall(text.lower()):
        for n in sizes:
            out.extend(word[i : i + n] for i in range(len(word) - n + 1))
        out.extend("^" + word[:n] for n in starts if len(word) >= n)
    return out


def char_terms(text: str) -> list[str]:
    """The character BM25's terms: unigrams, bigrams, and the first one and two characters of each word as its start.
    비급여 holds every n-gram of 급여, but not its start: a question about 급여 prefers words that begin with it
    (BASELINE session 22: hit@1 of this signal alone +1–4 points on every set)."""
    return char_ngrams(text, (1, 2), starts=(1, 2))


ANALYZERS = {"morph": tokenize, "chars": char_terms}


class KeywordIndex:
    """BM25 over pre-tokenized chunks; saved to and loaded from a folder. `analyzer` tokenizes queries."""

    def __init__(self, retriever, chunk_ids: list[str], analyzer: str = "morph") -> None:
        self._bm25 = retriever
        self.chunk_ids = chunk_ids
        self.analyzer = analyzer
        self._vocab = getattr(retriever, "vocab_dict", None) or {}

    @classmethod
    def build(cls, items: Iterable[tuple[str, list[str]]], analyzer: str = "morph") -> "KeywordIndex":
        import bm25s

        ids, corpus = [], []
        for chunk_id, tokens in items:
            ids.append(chunk_id)
            corpus.append(tokens or [""])
        retriever = bm25s.BM25()
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, ids, analyzer)

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.chunk_ids:
            self._bm25.save(str(tmp), show_progress=False)
        (tmp / "chunk_ids.json").write_text(json.dumps(self.chunk_ids), encoding="utf-8")
        (tmp / "analyzer.txt").write_text(self.analyzer, encoding="utf-8")
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        import bm25s

        chunk_ids = json.loads((folder / "chunk_ids.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if chunk_ids else bm25s.BM25()
        analyzer_file = folder / "analyzer.txt"
        analyzer = analyzer_file.read_text(encoding="utf-8") if analyzer_file.exists() else "morph"
        return cls(retriever, chunk_ids, analyzer)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Best-first (chunk_id, BM25 score); only chunks with a positive score, optionally only `allowed` ones."""
        ids = [self._vocab[t] for t in ANALYZERS[self.analyzer](query) if t in self._vocab]
        if not ids or not self.chunk_ids:
            return []
        scores = self._bm25.get_scores_from_ids(ids)
        if allowed is not None:
            mask = np.fromiter((cid in allowed for cid in self.chunk_ids), dtype=bool, count=len(self.chunk_ids))
            scores = np.where(mask, scores, 0.0)
        n = min(k, int((scores > 0).sum()))
        if n == 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunk_ids[i], float(scores[i])) for i in top]

    def unseen(self, text: str) -> list[str]:
        """The nouns of `text` (bare Kiwi nouns, no prefix or suffix glued) that no chunk contains: "날씨", "파이썬",
        "비트코인". One letter is too little to tell a noun (Kiwi reads "탈 차는요?" as the noun 탈, mask)."""
        if self.analyzer != "morph":
            raise ValueError("unseen() reads the morpheme index")
        nouns = (tok.form.lower() for tok in get_kiwi().tokenize(text) if tok.tag in NOUNS and len(tok.form) > 1)
        return [w for w in dict.fromkeys(nouns) if self.doc_freq(w) == 0]

    def idf(self, token: str) -> float:
        """log((N+1) / (df+0.5)): a word the index has never seen weighs the most."""
        return math.log((len(self.chunk_ids) + 1) / (self.doc_freq(token) + 0.5))

    def doc_freq(self, token: str) -> int:
        """In how many chunks `token` occurs (0 when unknown)."""
        tid = self._vocab.get(token)
        if tid is None or not self.chunk_ids:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])
