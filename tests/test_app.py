"""Chat handler without a browser: limits, escaping, empty results."""

from rag.retrieve import SearchResult
from rag.types import Chunk, Hit
from ui import messages as M
from ui.app import MAX_QUESTION, answer_question, build_app


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
