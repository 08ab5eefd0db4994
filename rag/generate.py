"""Answer generators behind one Protocol: `extractive` (offline, default) and `openai:<model>` (any compatible server)."""

import re
from functools import lru_cache
from typing import Iterator, Protocol

import numpy as np
from pydantic import BaseModel

from rag.cite import PARTNER_NAMES, SPEAKER, Span, sentence_spans, speaker, split_myth
from rag.errors import UnknownBackendError
from rag.keyword import token_set, tokenize
from rag.prompt import Prompt, load_prompt
from rag.retrieve import chunk_label
from rag.types import Embedder, Hit

VALID_FORMS = ["extractive", "openai:<model>"]
BACKGROUND_SECTIONS = {"상황"}
BAD_EXAMPLE = ("나쁜 예", "잘못된 예")  # a guideline's example of what not to say
DEFINITION_CUE = re.compile(r"뭐|뭔|무슨|뜻|의미|개념|이란|란\b|차이|이름|부르")
HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.M)
# a sentence that points back at the one before it; alone in an answer it reads as a fragment
LEANS_BACK = re.compile(r"^(그러니|그래서|그러므로|따라서|그러면|그럼|그리고|그런데|게다가|"
                        r"이때|이 때|그때|이 경우|이런|이렇게|그런|그 |이 |여기|또한|또 |다만|하지만|그러나|반면|대신 )")
MYTH_SHARE = 0.4  # a question that says this much of a listed myth is asking whether the myth holds
LIGHT_VERBS = frozenset({"하다", "있다", "되다"})  # "청약철회는 언제까지 할 수 있어요?" restates no myth by them
REPEAT_SHARE = 0.8  # an answer sentence whose morphemes are this much in an earlier one adds nothing
SMALL_TALK = {"오프닝", "클로징", "니즈 파악", "계약 후 관리"}  # script stages whose lines greet, ask or wrap up
# what kind of fact a question asks for, and what a sentence that gives it says: (question cue, sentence cue)
# ("유예기간이 지나면 …?" names a term, it does not ask how long; "어디까지" asks how far)
ASKS_WHEN = (re.compile(r"언제|며칠|몇\s*(일|년|개월|달|살|세|주|시간)|(?<![가-힣])기간|기한|얼마\s*동안|얼마나\s*(오래|걸)"),
             re.compile(r"\d+\s*(일|개월|년|세|살|주|시간|영업일)|이내|지나|부터|까지|동안|전에|후에"))
ASKS_AMOUNT = (re.compile(r"얼마(?!\s*동안|나\s*(오래|걸))|몇\s*(%|퍼센트|배|원|번|회|명|건)|금액|한도|최대|최소"),
               re.compile(r"\d[\d,.]*\s*(원|만|천|억|%|배|퍼센트|번|회|명|건)|절반|전액|비례|한도"))


class SentenceWeights(BaseModel):
    """How the extractive answer ranks sentences. Chosen on blind judgments of candidate answer sentences for 140
    questions (eval/datasets/answers_judged.jsonl; `partners eval answers`; see eval/results/BASELINE.md)."""

    cosine: float = 0.5  # question-sentence closeness in meaning (when an embedder is given)
    overlap: float = 0.5  # shared content morphemes
    rank: float = 0.3  # divided by the source's number
    definition: float = 0.2  # a term's first sentence, when that term is named or ranked first
    leans_back: float = 0.3  # starts by pointing at a sentence the answer does not show
    small_talk: float = 0.3  # a question, or a script's greeting, needs-finding or closing line
    myth: float = 1.2  # x the share of the question's words a listed myth says: its correction answers "… 맞죠?"
    # a question asks when / how much (ASKS_*) and the sentence says a time / an amount; such a question gets no
    # definition bonus. .1 / .2 / .3 -> first sentence answers directly 56 / 56 / 56 %, some sentence 82 / 82 / 81 % of
    # answers_judged (54 / 80 % without); .2 chosen there; answers_judged_when 36 -> 61 % (BASELINE session 28)
    answer_type: float = 0.2
    # a chat turn's borrowed words (the previous question it leans on, rag.answer.leaned_on) count this much of its
    # own, in the overlap and in the query vector. .3 / .5 / 1 -> mean grade 1.197 / 1.208 / 1.194 on the 240 judged
    # chat turns (1.152 without); .5 chosen (answers_judged_followups.jsonl, BASELINE session 29)
    context: float = 0.5


class Generator(Protocol):
    """Writes an answer from numbered sources: every claim carries `[n]`, n = the source's 1-based position."""

    name: str
    prompt_version: str

    def stream(self, question: str, hits: list[Hit], *, deadline: float | None = None,
               context: str = "") -> Iterator[str]:
        """Pieces of the answer as they are produced; a model must have answered by `deadline`
        (`time.monotonic()`), when given. `context`: the earlier chat words a follow-up leans on ("" for a question
        that stands alone)."""
        ...


class ExtractiveGenerator:
    """Composes the answer from the sources' best sentences, each followed by its `[n]`; adds no words of its own.

    A sentence's score: how close it is to the question in meaning (cosine of the embedder's vectors, when one is
    given), its content-word overlap with the question, its source's rank, a bonus for a term's definition, and a
    penalty when it leans on a sentence before it ("그러니 …", "이 경우 …"), which the answer would not show.
    """

    name = "extractive"
    # 1.2: a repeat is skipped; 1.3: a restated myth is answered by its correction; 1.4: light verbs restate no myth;
    # 1.5: a when / how-much question leads with a time / an amount; 1.6: a chat turn's context counts half
    prompt_version = "extractive@1.6"

    def __init__(self, embedder: Embedder | None = None, *, max_sentences: int = 3, max_chars: int = 420,
                 sources: int = 4, weights: SentenceWeights | None = None) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.sources = sources
        self.weights = weights or SentenceWeights()
        self._vectors = lru_cache(maxsize=4096)(self._embed)  # a chunk's sentences, by their exact texts

    def stream(self, question: str, hits: list[Hit], *, deadline: float | None = None,
               context: str = "") -> Iterator[str]:
        picked = self.pick(question, hits, context=context)  # no model: nothing to wait for
        for i, (n, sentence) in enumerate(picked):
            yield ("" if i == 0 else " ") + f"{sentence} [{n}]"

    def candidates(self, question: str, hits: list[Hit], *, context: str = "") -> list[tuple[float, int, int, str]]:
        """(score, source number, position, sentence) of every sentence that can stand in an answer, best first.
        A follow-up's `context` (the words it borrows) weighs `weights.context` of its own words."""
        w = self.weights
        words = set(tokenize(question))
        context = context if w.context else ""
        borrowed = set(tokenize(context)) - words
        mass = len(words) + w.context * len(borrowed)
        # each word of the question as its morphemes, light verbs left out: "… 할 수 있어요?" says no myth
        spoken = [word for word in (token_set(w) - LIGHT_VERBS for w in question.split()) if word]
        wants_definition = bool(DEFINITION_CUE.search(question))
        # "그 비율을 뭐라고 해요?" asks for a name, not an amount
        wants = [] if wants_definition else [said for asks, said in (ASKS_WHEN, ASKS_AMOUNT) if asks.search(question)]
        query = self._query_vector(question, context)
        scored: list[tuple[float, int, int, str]] = []
        for n, hit in enumerate(hits[: self.sources], start=1):
            chunk = hit.chunk
            named = chunk.title in question or any(a and a in question for a in chunk.aliases)
            parts = [(position, span, answer_part(chunk.text, span)) for position, span in
                     enumerate(sentence_spans(chunk.text))]
            parts = [part for part in parts if part[2]]
            closeness = self._closeness(query, tuple(sentence for _, _, sentence in parts))
            for (position, span, sentence), cosine in zip(parts, closeness):
                tokens = token_set(sentence)
                shared = len(words & tokens) + w.context * len(borrowed & tokens)
                overlap = shared / (mass ** 0.5 * max(len(tokens), 1) ** 0.25 or 1)
                score = w.overlap * overlap + w.cosine * cosine + w.rank / n
                if (chunk.doc_type == "term" and chunk.chunk_index == 0 and position == 0 and not wants
                        and (named or n == 1 or (wants_definition and n == 2))):
                    score += w.definition  # a term's first sentence is its definition (not a time or amount)
                restated = 0.0 if wants_definition else myth_restated(spoken, span.text)
                if restated:  # the question says a listed myth: the whole "오해: … → 사실: …" line answers it
                    score += w.myth * restated
                    sentence = span.text
                if any(said.search(sentence) for said in wants):
                    score += w.answer_type
                if LEANS_BACK.match(sentence):
                    score -= w.leans_back
                small_talk = chunk.doc_type == "script" and section(chunk.text, span.start) in SMALL_TALK
                if sentence.endswith("?") or small_talk:
                    score -= w.small_talk
                scored.append((score, n, position, sentence))
        scored.sort(key=lambda s: (-s[0], s[1], s[2]))
        return scored

    def pick(self, question: str, hits: list[Hit], *, context: str = "") -> list[tuple[int, str]]:
        """(source number, sentence) pairs, best first, within the sentence and length limits."""
        picked: list[tuple[int, str]] = []
        length = 0
        for _, n, _, sentence in self.candidates(question, hits, context=context):
            if len(picked) >= self.max_sentences:
                break
            if length + len(sentence) > self.max_chars and picked:
                continue
            if any(_repeats(sentence, s) for _, s in picked):
                continue
            picked.append((n, sentence))
            length += len(sentence)
        return picked

    def _query_vector(self, question: str, context: str = ""):
        if self.embedder is None:
            return None
        vector = _unit(np.asarray(self.embedder.embed_query(question), dtype=np.float32))
        if context:
            vector = _unit(vector + self.weights.context * _unit(np.asarray(self.embedder.embed_query(context),
                                                                             dtype=np.float32)))
        return vector

    def _closeness(self, query, sentences: tuple[str, ...]) -> list[float]:
        if query is None or not sentences:
            return [0.0] * len(sentences)
        return (self._vectors(sentences) @ query).tolist()

    def _embed(self, sentences: tuple[str, ...]):
        vectors = np.asarray(self.embedder.embed_documents(list(sentences)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def myth_restated(words: list[frozenset[str]], sentence: str) -> float:
    """The share of the question's words (each as its content morphemes) that the myth half of an "오해: … → 사실:
    …" sentence says, when it says at least two and MYTH_SHARE of them ("변액보험 원금 보장돼요?" against
    "변액보험도 원금은 보장된다": 3 of 3); 0 otherwise, and for any other sentence."""
    pair = split_myth(sentence)
    if pair is None or not words:
        return 0.0
    myth = token_set(pair[0])
    shared = sum(bool(word & myth) for word in words)
    return shared / len(words) if shared >= 2 and shared / len(words) >= MYTH_SHARE else 0.0


def _repeats(a: str, b: str, share: float = REPEAT_SHARE) -> bool:
    """`a` and `b` say the same thing: one holds the other, or the shorter one's morphemes are nearly all in the longer
    ("3월 1일에 가입하시면 … 5월 30일부터 암 보장이 시작돼요" in two term documents)."""
    if a in b or b in a:
        return True
    small, big = sorted((token_set(a), token_set(b)), key=len)
    return bool(small) and len(small & big) / len(small) >= share


def section(text: str, position: int) -> str:
    """The heading of the chunk section that holds `position` ("" before any heading)."""
    headings = HEADING.findall(text, 0, position)
    return headings[-1].strip() if headings else ""


def answer_part(text: str, span: Span) -> str | None:
    """What of a chunk sentence can stand in an answer, word for word. A customer's line never does (it is a
    question or an objection), nor a guideline's bad example, nor a script's setting (it tells the situation, not
    what to do in it); of "오해: … → 사실: …" only the correction stands; of a partner's line, what is said."""
    sentence = span.text
    if section(text, span.start) in BACKGROUND_SECTIONS:
        return None
    line = text[text.rfind("\n", 0, span.start) + 1:span.end].lstrip("-*•> ")
    if line.startswith(BAD_EXAMPLE):
        return None
    who = speaker(text, span.start)
    if who is not None and who not in PARTNER_NAMES:
        return None
    if sentence.startswith("오해"):
        pair = split_myth(sentence)
        return pair[1] if pair else None
    said = SPEAKER.match(sentence)
    return sentence[said.end():].strip() or None if said else sentence


class LLMGenerator:
    """An LLM writes the answer from the versioned `answer` prompt; citations are checked by the caller."""

    def __init__(self, llm, prompt: Prompt | None = None) -> None:
        self.llm = llm
        self.prompt = prompt or load_prompt("answer")
        self.name = llm.name
        self.prompt_version = self.prompt.ref

    def stream(self, question: str, hits: list[Hit], *, deadline: float | None = None,
               context: str = "") -> Iterator[str]:
        messages = self.prompt.render(question=question, sources=numbered_sources(hits), context=context)
        yield from self.llm.stream(messages, prompt_version=self.prompt_version, deadline=deadline)


def numbered_sources(hits: list[Hit]) -> list[dict]:
    """What a prompt shows: `[n] 해지환급금 (corpus/terms/해지환급금.md, v1)` and the chunk text."""
    return [{"n": n, "label": chunk_label(h.chunk), "text": h.chunk.text} for n, h in enumerate(hits, start=1)]


def get_generator(settings, embedder: Embedder | None = None) -> Generator:
    """`extractive` (ranking sentences with `embedder` when given) or `openai:<model>` (with PARTNERS_LLM_BASE_URL /
    PARTNERS_LLM_API_KEY)."""
    spec = settings.llm.strip()
    if spec == "extractive":
        return ExtractiveGenerator(embedder)
    if spec.startswith("openai:") and spec[len("openai:"):]:
        from rag.llm import build_llm

        return LLMGenerator(build_llm(settings))
    raise UnknownBackendError("PARTNERS_LLM", spec, VALID_FORMS)
