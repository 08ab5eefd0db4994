"""Server mode: a real `chroma run` on loopback, reached through HttpClient when PARTNERS_CHROMA_HOST is set."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from rag.errors import StoreUnavailableError
from rag.index import Index
from rag.retrieve import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen([exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path / "srv")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma run exited at start")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not answer within 60 s")
    yield port, tmp_path / "srv"
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_search_through_a_chroma_server(chroma_server, small_corpus, tmp_path, use_embedder):
    port, server_dir = chroma_server
    settings = Settings(data_dir=tmp_path / "data", collection="server-test", chroma_host="127.0.0.1",
                        chroma_port=port, _env_file=None)
    report = run_ingest([small_corpus], settings, embedder=use_embedder)
    assert report.failed == [] and report.chunks_total > 0
    assert not settings.chroma_path.exists()  # vectors live in the server, not on local disk
    assert server_dir.exists()
    index = Index(settings)
    assert index.vectors.count() == report.chunks_total
    hits = Retriever(index, use_embedder).search("비급여 진료비는 누가 부담하나요", k=3, mode="dense").hits
    assert hits and "비급여" in [h.chunk.title for h in hits]
    vector = use_embedder.embed_query("비급여")  # asking for more than the server holds returns what it holds
    assert len(index.vectors.query(vector, 10_000)) == report.chunks_total
    assert {cid for cid, _ in index.vectors.query(vector, 10_000, {"doc_type": "guideline"})} == \
        index.docstore.chunk_ids_where(["guideline"], None)
    (small_corpus / "terms" / "비급여.md").unlink()
    assert run_ingest([small_corpus], settings, embedder=use_embedder).deleted == 1
    assert Index(settings).vectors.count() == Index(settings).docstore.chunk_count()


def test_unreachable_server_is_a_clear_error(small_corpus, tmp_path, use_embedder):
    settings = Settings(data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=free_port(), _env_file=None)
    with pytest.raises(StoreUnavailableError, match="chroma run"):
        run_ingest([small_corpus], settings, embedder=use_embedder)
