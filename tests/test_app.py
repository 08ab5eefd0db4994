"""Chat handler without a browser: limits, escaping, empty results."""

from rag.retrieve import SearchResult
from rag.types import Chunk, Hit
from ui import messages as M
from rag.errors import IndexNotFoundError
from ui.app import MAX_QUESTION, answer_question, build_app, make_respond


class ScriptedRetriever:
    """Returns queued hits and records the queries it was asked."""

    def __init__(self, hits):
        self.hits, self.queries = hits, []

    def search(self, query, k=5, **_):
        self.queries.append(query)
        return SearchResult(query=query, mode="hybrid", hits=self.hits[:k], timings_ms={"total": 3.0})


def hit(text, title="해지환급금"):
    chunk = Chunk(chunk_id="c1", doc_id="d", text=text, title=title, source="corpus/terms/해지환급금.md")
    return Hit(chunk=chunk, score=0.5, rank=1)


def test_empty_and_too_long_questions_never_reach_the_retriever():
    retriever = ScriptedRetriever([hit("본문")])
    assert answer_question(retriever, "   ") == M.EMPTY_QUESTION
    long = "가" * (MAX_QUESTION + 1)
    assert answer_question(retriever, long) == M.QUESTION_TOO_LONG.format(limit=MAX_QUESTION, length=len(long))
    assert retriever.queries == []


def test_sources_are_numbered_and_html_is_escaped():
    reply = answer_question(ScriptedRetriever([hit("<script>alert(1)</script> 돌려받는 돈", title="<b>제목</b>")]), "질문")
    assert "[1]" in reply and "corpus/terms/해지환급금.md" in reply
    assert "<script>" not in reply and "&lt;script&gt;" in reply and "<b>" not in reply


def test_no_hits_gives_the_korean_hint():
    assert answer_question(ScriptedRetriever([]), "질문") == M.NO_RESULTS


def test_build_app_has_the_chat_parts():
    app = build_app(ScriptedRetriever([]))
    ids = {getattr(block, "elem_id", None) for block in app.blocks.values()}
    assert {"chat", "question", "send"} <= ids


class FailingRetriever:
    def __init__(self, exc):
        self.exc = exc

    def search(self, query, k=5, **_):
        raise self.exc


def test_handler_turns_failures_into_korean_messages_and_keeps_the_history():
    earlier = [{"role": "user", "content": "이전 질문"}, {"role": "assistant", "content": "이전 답"}]
    box, history = make_respond(FailingRetriever(RuntimeError("boom")))("질문 <b>", earlier)
    assert box == "" and history[:2] == earlier
    assert history[2] == {"role": "user", "content": "질문 &lt;b&gt;"}
    assert history[3]["content"] == M.INTERNAL_ERROR
    _, history = make_respond(FailingRetriever(IndexNotFoundError("x")))("질문", [])
    assert history[-1]["content"] == M.INDEX_MISSING


def test_latency_line_shows_search_and_total_time():
    reply = answer_question(ScriptedRetriever([hit("본문")]), "질문")
    assert "검색 3 ms" in reply and "전체" in reply
