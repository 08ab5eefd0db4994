"""Shared by the missions: limits, Korean clause splitting and polarity, IDF-weighted word overlap, feedback via an LLM."""

import re
from typing import Callable

from rag.cite import check_citations
from rag.errors import InputValidationError
from rag.keyword import tokenize

NEGATION = re.compile(r"않|아니|없|(?<![가-힣])(못|안)(?=\s|[가-힣]*[돼되])|말아|금지|마세요|말고")
SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+|\n+")
CLAUSE = re.compile(r"[,;·]\s*|(?<=니까)\s+|(?<=는데)\s+|(?<=지만)\s+|(?<=고)\s+|(?<=서)\s+|(?<=[.?!])\s+|\n+")
COMMON_BIGRAMS = {"보험", "험료", "험금", "험사", "계약", "약자", "가입", "보장", "받다", "하다", "되다", "있다", "주다"}
# words that turn a true statement into the typical myth: "무조건", "전부 돌려받는다", "두 배", "~만 받는다"
ABSOLUTE = re.compile(r"절대|무조건|전부(?!보험)|전액|100\s*%|항상|언제나|어떤 경우|다 (돌려|보장|받|나와|주)|똑같이|"
                      r"두 배|영영|걱정 없|손해 (볼 )?(일|건|게) 없|(?<![\d천백십억다])만(?=\s|$|[.,])")
STOP_WORDS = {"보험", "하다", "되다", "있다", "없다", "수", "것", "경우", "때", "등", "이", "그", "말", "돈", "거", "분"}


def check_length(text: str, field: str, low: int, high: int, what: str) -> str:
    """The stripped text, or InputValidationError naming the limits."""
    text = (text or "").strip()
    if not low <= len(text) <= high:
        raise InputValidationError(f"The {what} has {len(text):,} characters; it must be {low:,}-{high:,}.",
                                   field=field, limit=(low, high), length=len(text))
    return text


def with_particle(word: str, after_consonant: str, after_vowel: str) -> str:
    """`word` with the particle its last syllable takes: ("소개", "이", "가") -> "소개가", ("확인", "이", "가") -> "확인이".
    A word that does not end in Hangul gets both forms ("KICS이(가)")."""
    last = word[-1:] or " "
    if not "가" <= last <= "힣":
        return f"{word}{after_consonant}({after_vowel})"
    return word + (after_consonant if (ord(last) - ord("가")) % 28 else after_vowel)


def sentences(text: str) -> list[str]:
    """The sentences of an explanation (4 characters or more)."""
    return [s.strip() for s in SENTENCE_BREAK.split(text) if len(s.strip()) >= 4]


def clauses(text: str) -> list[str]:
    """Clauses and whole sentences: a claim may span a clause break ("보험료는 그대로라서 오를 걱정은 없어요")."""
    parts = [c.strip() for c in CLAUSE.split(text) if c and len(c.strip()) >= 4]
    return list(dict.fromkeys(parts + [s for s in sentences(text) if s not in parts]))


def negated(text: str) -> bool:
    return bool(NEGATION.search(text))


def content_words(text: str, drop: set[str] = frozenset()) -> list[str]:
    return [w for w in dict.fromkeys(tokenize(text)) if w not in STOP_WORDS and w not in drop]


def overlap(words: list[str], present: set[str], idf: Callable[[str], float]) -> float:
    """IDF-weighted share of `words` found in `present` (0..1)."""
    mass = sum(idf(w) for w in words)
    return sum(idf(w) for w in words if w in present) / mass if mass > 0 else 0.0


def prompt_sources(chunks) -> list[dict]:
    """Chunks as the prompts number them: [1]..[k] with a label (title, section) and the text."""
    from rag.retrieve import chunk_label

    return [{"n": n, "label": chunk_label(c), "text": c.text} for n, c in enumerate(chunks, start=1)]


def llm_feedback(llm, prompt, values: dict, n_sources: int) -> str | None:
    """Feedback text written by the LLM, citation-checked; None when the model is down or cites nothing valid."""
    from rag.llm import LLMUnavailableError

    try:
        text = "".join(llm.stream(prompt.render(**values), prompt_version=prompt.ref))
    except LLMUnavailableError:
        return None
    cleaned, used = check_citations(text, n_sources)
    return cleaned if used else None


def bigram_containment(source: str, text: str, drop: set[str] = frozenset()) -> float:
    """Share of the source's in-word character bigrams found in `text`: robust where morpheme analyses disagree."""
    from rag.keyword import char_ngrams

    skip = {g for d in drop for g in char_ngrams(d, (2,))} | COMMON_BIGRAMS
    grams = {g for w in content_words(source) for g in char_ngrams(w, (2,)) if g not in skip}
    if not grams:
        return 0.0
    return len(grams & set(char_ngrams(text, (2,)))) / len(grams)
