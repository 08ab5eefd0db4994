"""An ingest that dies half-way leaves the previous index answering; the next run converges to a clean ingest."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ingest.pipeline import run_ingest
from ingest.store import IndexWriter
from rag.index import Index
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.store import ChromaStore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def state(settings):
    index = Index(settings)
    return index.docstore.all_chunk_ids(), index.vectors.ids(), set(index.keyword.chunk_ids)


def assert_converged(settings, corpus, tmp_path, embedder):
    """The index equals what a clean ingest of the same files gives, in every store."""
    docs, vectors, keywords = state(settings)
    clean = Settings(data_dir=tmp_path / "clean", collection=settings.collection, _env_file=None)
    run_ingest([corpus], clean, embedder=embedder)
    clean_docs, clean_vectors, _ = state(clean)
    assert docs == vectors == keywords == clean_docs == clean_vectors
    assert Index(settings).docstore.get_meta("dirty") == "0"


def change_corpus(corpus):
    edited = corpus / "terms" / "갱신형.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n교육용 표식: 갱신 안내문은 초록색 봉투로 발송된다.\n",
                      encoding="utf-8")
    (corpus / "guidelines" / "G11_특별이익_제공_금지.md").unlink()
    (corpus / "terms" / "새용어.md").write_text("# 새용어\n\n새로 추가된 교육 메모: 보험료 영수증은 7년 보관한다.",
                                              encoding="utf-8")


@pytest.mark.parametrize("crash_in", ["before_commit", "after_commit"])
def test_injected_crash_keeps_answering_and_converges(crash_in, small_corpus, settings, use_embedder, tmp_path,
                                                      monkeypatch):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    before = Index(settings).docstore.all_chunk_ids()
    change_corpus(small_corpus)
    target = (IndexWriter, "_build_keyword_index") if crash_in == "before_commit" else (ChromaStore, "delete")

    def die(*_a, **_k):
        raise Crash()

    with monkeypatch.context() as m:
        m.setattr(*target, die)
        with pytest.raises(Crash):
            run_ingest([small_corpus], settings, embedder=use_embedder)
    index = Index(settings)
    assert index.docstore.get_meta("dirty") == "1"
    committed = index.docstore.all_chunk_ids()
    assert (committed == before) == (crash_in == "before_commit")
    hits = Retriever(index, use_embedder).search("갱신형 보험료는 갱신 때 오를 수 있나요", k=3).hits
    assert hits and all(h.chunk_id in committed for h in hits)  # answers from the committed index only
    report = run_ingest([small_corpus], settings, embedder=use_embedder)
    assert report.recovered and report.failed == []
    assert_converged(settings, small_corpus, tmp_path, use_embedder)


def test_sigkill_during_ingest(small_corpus, settings, use_embedder, tmp_path):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    before = Index(settings).docstore.all_chunk_ids()
    change_corpus(small_corpus)
    bulk = small_corpus / "bulk"
    bulk.mkdir()
    for i in range(1500):  # enough work that the kill lands while vectors are being written
        (bulk / f"note{i:04d}.md").write_text(f"# 교육 메모 {i}\n\n메모 {i}번: 고객 상담 기록은 {i % 7 + 1}일 안에 정리한다.",
                                              encoding="utf-8")
    env = dict(os.environ, PARTNERS_COLLECTION=settings.collection)
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "--data-dir", str(settings.data_dir), "ingest",
                             str(small_corpus)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    docstore = Index(settings).layout.docstore_path(Index(settings).gen)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        with sqlite3.connect(f"file:{docstore}?mode=ro", uri=True) as db:
            dirty = db.execute("SELECT value FROM meta WHERE key='dirty'").fetchone()
        if dirty and dirty[0] == "1":
            break
        time.sleep(0.02)
    time.sleep(1.0)  # well inside embedding/upserting 1,500 documents
    assert proc.poll() is None, "ingest finished before it could be killed; make the bulk larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    index = Index(settings)
    assert index.docstore.get_meta("dirty") == "1"
    assert index.docstore.all_chunk_ids() == before  # nothing half-committed
    titles = [h.chunk.title for h in Retriever(index, use_embedder).search("비급여 진료비", k=3).hits]
    assert "비급여" in titles
    report = run_ingest([small_corpus], settings, embedder=use_embedder)
    assert report.recovered and report.failed == [] and report.added == 1501
    assert_converged(settings, small_corpus, tmp_path, use_embedder)
