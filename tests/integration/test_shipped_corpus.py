"""The whole shipped corpus ingests cleanly, and names and aliases find their term document first."""

import pytest

from ingest.pipeline import run_ingest
from rag.index import Index
from rag.retrieve import Retriever
from rag.settings import Settings
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, use_embedder):
    settings = Settings(data_dir=tmp_path_factory.mktemp("shipped"), collection="shipped", _env_file=None)
    report = run_ingest([CORPUS], settings, embedder=use_embedder)
    return settings, report, Retriever(Index(settings), use_embedder)


def test_first_ingest_of_the_corpus_has_no_failures(shipped):
    _, report, retriever = shipped
    n_files = sum(1 for _ in CORPUS.rglob("*.md"))
    assert report.failed == [] and report.added == n_files
    assert report.chunks_total == retriever.index.docstore.chunk_count() == retriever.index.vectors.count()
    types = {d["doc_type"] for d in retriever.index.docstore.list_docs()}
    assert types == {"term", "script", "guideline"}


def test_term_documents_stay_whole(shipped):
    _, _, retriever = shipped
    docs = [d for d in retriever.index.docstore.list_docs() if d["doc_type"] == "term"]
    assert len(docs) >= 320 and all(d["chunk_count"] == 1 for d in docs)


@pytest.mark.parametrize("query,title", [
    ("해약환급금", "해지환급금"),
    ("고지의무", "계약 전 알릴 의무"),
    ("비급여 항목", "비급여"),
    ("급여 항목", "급여"),
    ("비갱신형", "비갱신형"),
    ("K-ICS", "K-ICS"),
])
def test_a_term_name_or_alias_finds_its_document_first(shipped, query, title):
    _, _, retriever = shipped
    assert retriever.search(query, k=1, mode="hybrid").hits[0].chunk.title == title


def test_guideline_rules_are_their_own_chunks(shipped):
    _, _, retriever = shipped
    hits = retriever.search("첫 달 보험료를 대신 내 드리겠다는 약속", k=5, doc_types=["guideline"]).hits
    assert hits and all(h.chunk.doc_type == "guideline" for h in hits)
    assert any(h.chunk.section.startswith("G11-") for h in hits)
