"""`partners ask`: retrieve, refuse when the documents do not cover the question, generate, check every citation."""

import re
import time
import weakref
from functools import lru_cache
from typing import Iterator

from pydantic import BaseModel, Field

from rag.cite import Citation, check_citations, cite_claims
from rag.condense import Condenser
from rag.errors import InputValidationError
from rag.generate import SMALL_TALK, ExtractiveGenerator, Generator
from rag.llm import LLMUnavailableError
from rag.retrieve import Retriever, SearchResult
from rag.small_talk import REPLIES, SmallTalkClassifier, get_classifier, small_talk
from rag.titles import JAMO, NEGATING, normalize
from rag.types import Hit

MAX_QUESTION = 2000
REFUSAL = ("죄송해요, 이 질문은 저희 교육 자료(보험 용어·판매 가이드라인·모범 상담 스크립트)에서 근거를 찾지 못해 "
           "답하기 어려워요. 보험 상품이나 상담 상황에 관한 질문으로 다시 물어봐 주세요.")
MODEL_DOWN = "AI 모델이 응답하지 않아 자료에서 뽑은 요약 답변을 보여 드려요."
NO_VALID_CITATION = "AI 답변에 확인 가능한 근거 표시가 없어 자료에서 뽑은 요약 답변을 보여 드려요."
ELLIPTICAL_END = re.compile(r"(은|는|이|가|도|면|라면|경우|때는)요?\s*[?？]?\s*$")  # "비갱신형은요?", "해지하면요?"
# a refused question within this much of the grounding threshold is a near miss, and gets related terms to try; chosen
# on the refusals of eval/datasets (session 20): the 5 refused in-domain questions score .45-.58, 52 of the 57 refused
# off-domain ones below .45 ("오늘 점심 뭐 먹지?" no longer suggests 유지비)
SUGGEST_MARGIN = 0.15
SCENE = SMALL_TALK | {"상황"}  # a script's sections that set the scene or wrap up rather than answer
# a question starting with one of these points back at the previous one; after a connective it may stand alone
POINTERS = ("그건", "그거", "그것", "그게", "그사이", "그동안", "그때", "이건", "이거", "저건")  # point back to the topic
ANAPHORS = ("그럼", "그러면", "또", *POINTERS)
SWITCH = re.compile(r"^(그거|그건|그것)\s*(말고|그렇고)")  # "그거 말고 …", "그건 그렇고 …": a new subject
# a follow-up whose own words (IDF-weighted) the chunks found with its context hardly hold is about something else
# ("아 참 주말에 눈 온대요?" after a 상해보험 question) and is searched alone; chosen on eval/datasets/followups.jsonl
# and out_of_domain_chat.jsonl (BASELINE session 25): 0 -> 1/3 -> 1/2: refused 38 -> 44 -> 49 of 60 off-domain
# turns, 0 -> 1 -> 2 of 90 follow-ups
FOLLOW_UP_MIN_SHARE = 1 / 3
CONNECTIVE = re.compile(r"^(그리고|근데|그런데|아 참|참)\s*")
# what people add to a chat message that says nothing: letters typed alone (ㅋㅋ, ㅠㅠ, ㅎㅎ) and emoticons (^^, :))
CHAT_NOISE = re.compile(JAMO.pattern + r"|\^\^+|[:;]-?[)D(]")
# family and in-laws a customer may speak of, whom the documents call only 가족, 배우자 or 자녀: a turn that names one
# ("처남이 몰다 사고 나면요?" after a car-insurance question) is still about the chat's topic
KIN = frozenset("처남 처제 처형 시누이 올케 형수 제수 매형 매부 자형 동서 시어머니 시아버지 시부모 장모 장모님 장인 "
                "손자 손녀 손주 외삼촌 삼촌 고모 이모 숙모 큰아버지 작은아버지 할머니 할아버지 외할머니 외할아버지 "
                "조부모 시댁 처가 누나 형 여동생 와이프 사촌 막내".split())


class Answer(BaseModel):
    question: str
    answer: str
    grounded: bool
    citations: list[Citation] = Field(default_factory=list)
    generator: str
    prompt_version: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
    fallback: str | None = None  # why the extractive answer replaced the model's: "llm_unavailable", "no_valid_citation"
    notice: str | None = None  # Korean note for the partner when a fallback happened
    suggestions: list[str] = Field(default_factory=list)  # related terms to try after a refusal
    search_query: str = ""  # what was retrieved with (differs from `question` for a follow-up)
    rewritten: str | None = None  # the chat turn as the LLM rewrote it to stand alone (`rag.condense`)
    respelled: dict[str, str] = Field(default_factory=dict)  # names said one letter wrong: as written -> as meant
    small_talk: str | None = None  # thanks, a greeting, a word to the assistant: `answer` is its reply (rag.small_talk)

    def to_json(self) -> dict:
        same = {"search_query"} if self.search_query == self.question else set()
        return self.model_dump(exclude=same | ({"rewritten"} if self.rewritten is None else set())
                               | ({"respelled"} if not self.respelled else set())
                               | ({"small_talk"} if self.small_talk is None else set()))


def validate_question(question: str) -> str:
    question = (question or "").strip()
    if not question:
        raise InputValidationError("The question is empty. Type a question about insurance terms or sales.",
                                   field="question", limit=(1, MAX_QUESTION), length=0)
    if len(question) > MAX_QUESTION:
        raise InputValidationError(f"The question has {len(question):,} characters; the limit is {MAX_QUESTION:,}.",
                                   field="question", limit=(1, MAX_QUESTION), length=len(question))
    return question


def without_noise(question: str) -> str:
    """The question without chat noise (CHAT_NOISE): "ㅋㅋ 그럼 해지하면요?" is the follow-up "그럼 해지하면요?"; a
    message that is only noise stays as it is."""
    return re.sub(r"\s+", " ", CHAT_NOISE.sub(" ", question)).strip() or question


def contextualize(question: str, history: list[str], retriever: Retriever, *,
                  follow_up: bool = False) -> tuple[str, tuple[str, ...]]:
    """Search text for a follow-up, and the names it leaves behind.

    A follow-up is short and elliptical ("그럼 비갱신형은요?", "해지하면요?") or points back ("그사이 사고 나면요?",
    "그거 세금은요?") without naming a term of its own; a question that names its term ("근데 해약공제가 뭐예요?")
    stands alone. A follow-up borrows the previous question; each term it names replaces the previous question's name
    most like it ("그럼 비갱신형은요?" after "갱신형 보험료는 나중에 오르나요?" searches "… 비갱신형 보험료는 나중에
    오르나요?"), so 비갱신형 material is found, not 갱신형; the replaced names' documents are then ranked down
    (`Retriever.search(left_out=…)`). Names no new name stands in for (보험료 there) stay: they are the context. A
    common name (보험료, 보험사) never replaces one: "보험사 망하면요?" after a 저축보험 question is still about it.
    A question that says a noun no document contains ("그럼 점심 뭐 먹지?", "비트코인은요?") is about something else
    and stands alone, so it is refused rather than answered from the previous topic.
    `follow_up=True`: the caller knows it is one, unless it says such a noun (`search_turn`)."""
    if not history:
        return question, ()
    previous = history[-1].strip()
    titles = retriever.titles
    new_names = [name for name in titles.names_in(question) if not titles.is_common(name)]
    short = len(normalize(question)) <= 12 and ELLIPTICAL_END.search(question) is not None
    leads_back = after_connective(question).startswith(ANAPHORS) and not new_names
    if not previous or not (short or leads_back or follow_up) or unseen_nouns(question, retriever):
        return question, ()
    old_names = [name for name in titles.names_in(previous) if name not in new_names]
    replaced = {}  # old name -> the new name said in its place
    for new in new_names:
        old = replaced_name(new, old_names)
        if old is not None:
            replaced.setdefault(old, new)
    context = previous
    for old, new in replaced.items():  # normalized: "갱신형 보험" is the name 갱신형보험
        context = re.sub(r"[\W_]*".join(map(re.escape, contrasted(old, new))), new, context, flags=re.I)
    return f"{question} {context}".strip(), tuple(replaced)


def contrasted(old: str, new: str) -> str:
    """The part of the old name the new one stands in for: only the head when the two differ by a negating prefix
    ("비급여 진료비" → 급여 replaces 비급여 and keeps 진료비; "갱신형 보험" → 비갱신형 keeps 보험), else all of it."""
    for prefix in NEGATING:
        if old.startswith(prefix + new):
            return prefix + new
        if new.startswith(prefix) and len(new) > 2 and old.startswith(new[1:]):
            return new[1:]
    return old


def search_turn(question: str, history: list[str], retriever: Retriever, *, k: int = 5, mode: str = "hybrid",
                ground: bool | None = True, rewritten: str | None = None) -> SearchResult:
    """What a chat turn retrieves: the question alone, or a follow-up with the context it borrows
    (`Retriever.search_follow_up`). A question that names no term and that the documents do not cover on its own
    ("아직 취소돼요?", "펀드만 바꿀 수 있어요?") is a follow-up too, once there is a chat to follow; its own words,
    which found nothing convincing, then weigh no more than the context. A turn is searched alone, and refused when
    the documents do not cover it, when it says a noun no document contains (`unseen_nouns`) or when the chunks its
    context finds hold under FOLLOW_UP_MIN_SHARE of its own words, unless it points back ("그거 언제 풀려요?"): an
    off-domain turn in a chat ("아 참 주말에 눈 온대요?") is not answered from the previous topic. A follow-up's own
    words weigh by how much they say (`Retriever.specificity`): "그럼 기간은요?" after a question on claiming is about
    the claim's time limit, not the documents whose names hold 기간. `partners ask`, the chat and `partners eval` all
    search through here.
    `rewritten`: the turn as the LLM rewrote it to stand alone (`rag.condense`), used instead of the rules. A turn
    it left as it was is searched alone. A rewrite is searched, the previous question's names it drops ranked down;
    when the turn's own words find something convincing too, the two searches are fused, the turn's own words
    weighing as much (`Fusion.follow_up_rewritten`): the rewrite names the previous topic, which would otherwise come
    first. A vague turn ("그럼 반대로 안 오르는 건요?") adds nothing, and the rewrite is searched alone."""
    question, history = without_noise(question), topical([without_noise(turn) for turn in history], retriever)
    if chat_kind(question, retriever):  # thanks, a greeting, a word to the assistant: nothing to answer from
        result = retriever.search(question, k=k, mode=mode, ground=ground)
        if result.grounding is not None:
            result.grounding = result.grounding.model_copy(update={"grounded": False})
        return result
    if rewritten and history:
        if normalize(rewritten) == normalize(question):
            return retriever.search(question, k=k, mode=mode, ground=ground)
        kept = set(retriever.titles.names_in(rewritten))
        left_out = tuple(name for name in retriever.titles.names_in(history[-1]) if name not in kept)
        own = retriever.search(question, k=max(k, retriever.candidates), mode=mode, ground=True, left_out=left_out)
        if own.grounding is None or not own.grounding.grounded:
            return retriever.search(rewritten, k=k, mode=mode, ground=ground, left_out=left_out)
        return retriever.search_follow_up(question, rewritten, k=k, mode=mode, ground=ground, left_out=left_out,
                                          own_weight=retriever.fusion.follow_up_rewritten, own=own)
    query, left_out = contextualize(question, history, retriever)
    share = 0.0 if points_back(question) else FOLLOW_UP_MIN_SHARE
    if query != question:
        return retriever.search_follow_up(question, query, k=k, mode=mode, ground=ground, left_out=left_out,
                                          own_weight=retriever.fusion.follow_up_own * retriever.specificity(question),
                                          min_own_share=share)
    if not history:
        return retriever.search(question, k=k, mode=mode, ground=ground)
    depth = max(k, retriever.candidates)  # deep enough to fuse, should it be a follow-up after all
    alone = retriever.search(question, k=depth, mode=mode, ground=True)
    if alone.grounding.grounded or alone.grounding.named:
        alone.hits = alone.hits[:k]
        return alone
    query, left_out = contextualize(question, history, retriever, follow_up=True)
    if query == question:  # it speaks of something no document holds
        alone.hits = alone.hits[:k]
        return alone
    return retriever.search_follow_up(question, query, k=k, mode=mode, ground=ground, left_out=left_out,
                                      own_weight=retriever.fusion.follow_up_uncovered * retriever.specificity(question),
                                      own=alone, min_own_share=share)


def chat_kind(question: str, retriever: Retriever) -> str | None:
    """The kind of small talk a turn is (`rag.small_talk`), or None when it asks something."""
    return _chat_kind(question, retriever.titles, small_talk_classifier(retriever))


@lru_cache(maxsize=1024)  # a chat's earlier turns are read again at every turn, by the search and the answer alike
def _chat_kind(question: str, titles, classifier: SmallTalkClassifier | None) -> str | None:
    return small_talk(question, [name for name in titles.names_in(question) if not titles.is_common(name)], classifier)


_CLASSIFIERS: "weakref.WeakKeyDictionary[object, SmallTalkClassifier | None]" = weakref.WeakKeyDictionary()


def small_talk_classifier(retriever: Retriever) -> SmallTalkClassifier | None:
    """The small-talk classifier of the index's documents: their `questions:` are what is not small talk. Kept per
    title matcher, which a refresh after an ingest replaces."""
    if retriever.titles not in _CLASSIFIERS:
        store = retriever.index.docstore
        docs = store.list_docs()

        def questions() -> list[str]:  # read only when it must be trained
            chunks = store.get_chunks([cid for doc in docs for cid in store.chunk_ids_of(doc["doc_id"])])
            return [q for chunk in chunks.values() for q in chunk.questions or []]

        _CLASSIFIERS[retriever.titles] = get_classifier("\n".join(sorted(d["doc_hash"] for d in docs)), questions,
                                                        cache_dir=retriever.index.settings.index_dir)
    return _CLASSIFIERS[retriever.titles]


def topical(history: list[str], retriever: Retriever) -> list[str]:
    """The chat's earlier turns without its small talk: after "고마워요", "그럼 비갱신형은요?" still follows the
    question before it."""
    return [turn for turn in history if not chat_kind(turn, retriever)]


def leaned_on(question: str, query: str, history: list[str]) -> str:
    """What a chat turn leans on, for the writer (`Generator.stream(context=…)`): the words its search borrowed
    (`contextualize`, with the names it replaced), else the previous question; a turn on a new topic loses nothing by
    it (`SentenceWeights.context`, BASELINE session 29)."""
    if query != question and query.startswith(question):
        return query[len(question):].strip()
    return history[-1].strip() if history else ""


def after_connective(question: str) -> str:
    """The turn without its leading 그리고 / 근데 / 아 참."""
    return CONNECTIVE.sub("", question.strip())


def points_back(question: str) -> bool:
    """The turn starts with a word that points back to the chat's topic (그거, 그사이), not with "그거 말고"."""
    rest = after_connective(question)
    return rest.startswith(POINTERS) and not SWITCH.match(rest)


def unseen_nouns(question: str, retriever: Retriever) -> list[str]:
    """The nouns of a chat turn, past its connective and pointing word (그사이, 그거), that no document contains;
    family words (KIN) are not counted."""
    rest = after_connective(question)
    rest = rest[len(next((a for a in ANAPHORS if rest.startswith(a)), "")):]
    return [noun for noun in retriever.index.keyword.unseen(rest) if noun not in KIN]


def replaced_name(new: str, old_names: list[str]) -> str | None:
    """The name `new` stands in for: the one that shares most of its letters, one with the same last letter (the
    head noun: 암보험 for 실손보험, not 보험금청구) first, the first said on a tie; None when none shares a letter."""
    best = max(old_names, default=None, key=lambda old: ((old[-1] == new[-1]) + len(set(old) & set(new)),
                                                       -old_names.index(old)))
    return best if best is not None and set(best) & set(new) else None


def with_script_body(hits: list[Hit], retriever: Retriever) -> list[Hit]:
    """The sources an answer draws on. When the top hit is a model script, its scene-setting chunks among the hits
    (상황, 오프닝, 니즈 파악, 클로징, 계약 후 관리), whose lines answer little, give way to the same script's other
    chunks, in script order: "설계사 다 똑같다는 고객이랑 어떻게 신뢰 쌓아요?" finds the trust-repair script by its
    situation, opening and after-care, and is answered from its objection handling (BASELINE session 22).
    """
    if not hits or hits[0].chunk.doc_type != "script":
        return hits
    top = hits[0]
    scene = [h for h in hits if h.chunk.doc_id == top.chunk.doc_id and (h.chunk.section or "") in SCENE]
    have = {h.chunk_id for h in hits}
    docstore = retriever.index.docstore
    body = sorted((c for c in docstore.get_chunks(docstore.chunk_ids_of(top.chunk.doc_id)).values()
                   if c.chunk_id not in have and (c.section or "") not in SCENE), key=lambda c: c.chunk_index)
    if not scene or not body:
        return hits
    kept = [h for h in hits if h not in scene]
    return [Hit(chunk=c, score=top.score) for c in body[: len(scene)]] + kept


def ask_stream(question: str, retriever: Retriever, generator: Generator, *, k: int = 5,
               history: list[str] | None = None, fallback: Generator | None = None,
               condenser: Condenser | None = None) -> Iterator[str | Answer]:
    """Answer text pieces as they are generated, then the checked `Answer` (whose text replaces the pieces).

    With a `condenser` (an LLM is configured) a chat turn is first rewritten to stand alone; the rewrite is searched
    and answered. A model that is down for the rewrite is not asked again for the answer: the offline rules search
    the turn and the extractive answer is shown with the notice. The rewrite and the answer share one budget, the
    model's timeout: a slow model keeps the partner waiting once, not twice."""
    started = time.perf_counter()
    typed = validate_question(question)
    # read as meant by the search, the rewrite and the writer alike: without chat noise, and a name said one letter
    # wrong ("헤지환급금") spelled right
    question, respelled = retriever.titles.respell(without_noise(typed))
    history = topical([retriever.titles.respell(without_noise(turn))[0] for turn in history or []], retriever)
    chat = chat_kind(question, retriever)
    timings: dict[str, float] = {}
    rewritten = reason = deadline = None
    if condenser is not None and history and not chat:
        deadline = time.monotonic() + condenser.timeout
        try:
            rewritten = condenser.rewrite(question, history, deadline=deadline)
        except LLMUnavailableError:
            reason = "llm_unavailable"
        timings["condense"] = _ms(started)
    result = search_turn(question, history or [], retriever, k=k, rewritten=rewritten)
    query = result.query
    timings["retrieve"] = result.timings_ms["total"]
    hits = result.hits
    if result.grounding is None or not result.grounding.grounded:
        timings["generate"] = 0.0
        timings["total"] = _ms(started)
        near = result.grounding is not None and result.grounding.score >= retriever.ground_threshold - SUGGEST_MARGIN
        yield Answer(question=typed, answer=REPLIES[chat] if chat else REFUSAL, grounded=False, small_talk=chat,
                     generator=generator.name, prompt_version=generator.prompt_version, timings_ms=timings,
                     search_query=query, rewritten=rewritten, respelled=respelled,
                     suggestions=[h.chunk.title for h in hits if h.chunk.doc_type == "term"][:3] if near and not chat
                     else [])
        return
    hits = with_script_body(hits, retriever)
    t = time.perf_counter()
    pieces: list[str] = []
    used_generator = generator
    asked = rewritten or question  # what the writer answers: the turn as it stands alone, when the LLM rewrote it
    context = "" if rewritten else leaned_on(question, query, history or [])
    if reason is None:
        try:
            for piece in generator.stream(asked, hits, deadline=deadline, context=context):
                pieces.append(piece)
                yield piece
        except LLMUnavailableError:
            reason = "llm_unavailable"
    text, used = check_citations("".join(pieces), len(hits))
    if reason is None and not used:
        reason = "no_valid_citation"
    if reason:
        used_generator = fallback or ExtractiveGenerator()
        text, _ = check_citations("".join(used_generator.stream(asked, hits, context=context)), len(hits))
    timings["generate"] = _ms(t)
    answer, citations = cite_claims(text, hits)
    timings["total"] = _ms(started)
    yield Answer(question=typed, answer=answer, grounded=bool(citations), citations=citations,
                 generator=generator.name if not reason else f"{used_generator.name} (fallback from {generator.name})",
                 prompt_version=used_generator.prompt_version, timings_ms=timings, fallback=reason,
                 notice={"llm_unavailable": MODEL_DOWN, "no_valid_citation": NO_VALID_CITATION}.get(reason or ""),
                 search_query=query, rewritten=rewritten, respelled=respelled)


def ask(question: str, retriever: Retriever, generator: Generator, **kwargs) -> Answer:
    """The checked answer (streaming consumed)."""
    final = None
    for event in ask_stream(question, retriever, generator, **kwargs):
        if isinstance(event, Answer):
            final = event
    assert final is not None
    return final


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
