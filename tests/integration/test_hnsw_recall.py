"""Our HNSW settings make Chroma's approximate search agree with exact cosine search."""

import numpy as np

from rag.settings import Settings
from rag.store import ChromaStore, HnswParams, open_client
from rag.types import Chunk


def test_approximate_top5_matches_exact_search(tmp_path):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((4000, 512)).astype("float32")  # random 512-d: the hardest case for HNSW
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    defaults = Settings(_env_file=None)
    store = ChromaStore(open_client(tmp_path / "chroma"), "recall-test", create=True,
                        hnsw=HnswParams(defaults.hnsw_ef_search, defaults.hnsw_ef_construction,
                                        defaults.hnsw_max_neighbors))
    chunks = [Chunk(chunk_id=f"c{i}", doc_id="d", text="t", title="t", source="s") for i in range(len(vectors))]
    store.upsert(chunks, vectors.tolist())
    queries = rng.standard_normal((50, 512)).astype("float32")
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]
    recall = np.mean([
        len({f"c{j}" for j in exact[i]} & {cid for cid, _ in store.query(queries[i].tolist(), 5)}) / 5
        for i in range(len(queries))
    ])
    assert recall >= 0.97, recall
