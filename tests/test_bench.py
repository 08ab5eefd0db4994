"""`partners bench query` on small synthetic indexes: real USE, Kiwi, Chroma on disk, one worker process per size."""

import json
import struct

import numpy as np
import pytest

from eval.bench import bench_query, parse_sizes
from eval.scale import SYNTHETIC_PREFIX, ScaleSpec, SentenceMeanEmbedder, build_scaled_index, scale_settings
from rag.errors import PartnersError
from rag.index import Index
from rag.settings import Settings
from tests.conftest import CORPUS

SIZES = (300, 600)
MODES = ("dense", "bm25", "chars", "hybrid", "ask")
SMALL = {"queries": 20, "real_chunks": 40, "pool": 200}


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    settings = Settings(data_dir=root / "data", corpus_dir=CORPUS, _env_file=None)
    result, json_path, png_path = bench_query(settings, sizes=(600, 300), out_dir=root / "results", **SMALL)
    return settings, result, json_path, png_path


def test_json_reports_every_size_mode_and_target(small_bench):
    _, result, json_path, _ = small_bench
    assert json.loads(json_path.read_text(encoding="utf-8")) == result
    assert result["bench"] == "query" and "synthetic" in result["synthetic"]["method"]
    assert [row["size"] for row in result["sizes"]] == list(SIZES)
    for row in result["sizes"]:
        build, query = row["build"], row["query"]
        assert build["shipped_chunks"] + build["synthetic_chunks"] == row["size"]
        assert 0 < build["shipped_chunks"] <= SMALL["real_chunks"] and build["pool_sentences"] == SMALL["pool"]
        assert build["vectors"] == {"real": build["shipped_chunks"], "sentence_mean": build["synthetic_chunks"]}
        assert build["cold_build_s"] > 0 and build["reused"] is False
        assert query["chunks"] == query["vectors"] == row["size"] and query["questions"] == SMALL["queries"]
        for mode in MODES:
            lat = query["latency_ms"][mode]
            assert 0 < lat["p50"] <= lat["p95"] <= lat["max"]
        assert query["stages_p50_ms"]["hybrid.embed"] > 0 and query["stages_p50_ms"]["ask.generate"] > 0
        # a process holding USE, Kiwi and Chroma is well over 100 MiB; the build process is separate
        assert query["peak_rss_mib"] > 100 and build["peak_rss_mib"] > 100
    asks = [t for t in result["targets"] if t["mode"] == "ask"]
    assert [t["size"] for t in asks] == list(SIZES)
    assert all(t["met"] == (t["measured_ms"] <= t["limit_ms"]) for t in result["targets"])


def test_each_index_really_holds_the_requested_chunks(small_bench):
    settings, result, _, _ = small_bench
    for row in result["sizes"]:
        index = Index(scale_settings(settings, row["size"]))
        assert index.docstore.chunk_count() == row["size"]
        assert index.vectors.count() == row["size"]
        assert len(index.keyword) == len(index.chars) == row["size"]
        synthetic = [d for d in index.docstore.list_docs() if d["title"].startswith(SYNTHETIC_PREFIX)]
        assert len(synthetic) == row["build"]["synthetic_chunks"]
        assert {d["doc_type"] for d in synthetic} == {"other"}


def test_plot_is_a_valid_png(small_bench):
    _, _, json_path, png_path = small_bench
    assert png_path == json_path.with_suffix(".png")
    data = png_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 600 and height >= 400 and len(data) > 20_000


def test_a_cached_index_is_reused(small_bench):
    settings, result, _, _ = small_bench
    spec = ScaleSpec(size=300, real_chunks=SMALL["real_chunks"], pool=SMALL["pool"])
    again = build_scaled_index(settings.model_copy(update={"data_dir": settings.data_dir.resolve()}), spec)
    assert again["reused"] is True
    assert again["cold_build_s"] == result["sizes"][0]["build"]["cold_build_s"]


def test_a_cached_index_is_rebuilt_when_only_a_documents_questions_change(tmp_path):
    """The questions are indexed with the text, so an edit to them alone makes the cached bench index stale."""
    import shutil

    from eval.scale import build_key, load_shipped

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, _env_file=None)
    spec = ScaleSpec(size=300, real_chunks=SMALL["real_chunks"], pool=SMALL["pool"])
    before = build_key(settings, spec, load_shipped(settings))
    term = next(p for p in sorted((corpus / "terms").glob("*.md")) if "\nquestions:\n" in p.read_text(encoding="utf-8"))
    text = term.read_text(encoding="utf-8")
    term.write_text(text.replace("\nquestions:\n", '\nquestions:\n  - "새로 추가한 질문은 뭐라고 해요?"\n', 1),
                    encoding="utf-8")
    assert build_key(settings, spec, load_shipped(settings)) != before


def test_synthetic_vectors_are_the_mean_of_their_sentences(use_embedder):
    sentences = ["해지환급금은 중간에 해지할 때 돌려받는 돈이다.", "갱신형은 보험료가 갱신 때 오를 수 있다."]
    vectors = dict(zip(sentences, np.asarray(use_embedder.embed_documents(sentences))))
    embedder = SentenceMeanEmbedder(use_embedder, vectors)
    real_text = "해지환급금\n해지환급금은 보험계약이 해지되었을 때 돌려주는 금액이다."
    synthetic, real = embedder.embed_documents([SYNTHETIC_PREFIX + "해지환급금\n" + "\n".join(sentences), real_text])
    mean = (vectors[sentences[0]] + vectors[sentences[1]]) / 2
    assert np.allclose(synthetic, mean / np.linalg.norm(mean), atol=1e-5)
    assert np.allclose(real, use_embedder.embed_documents([real_text])[0], atol=1e-5)
    assert embedder.counts == {"real": 1, "sentence_mean": 1}


@pytest.mark.parametrize("kwargs", [{"sizes": (0,)}, {"sizes": ()}, {"queries": 0}])
def test_bad_sizes_or_query_count_fail_with_a_fix(tmp_path, kwargs):
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=CORPUS, _env_file=None)
    with pytest.raises(PartnersError, match="partners bench query"):
        bench_query(settings, out_dir=tmp_path, **kwargs)


def test_sizes_parse_from_the_command_line():
    assert parse_sizes("1000,10000,100000") == parse_sizes("1k, 10k,100k") == (1000, 10000, 100000)
    for bad in ("", "ten", "0,1k"):
        with pytest.raises(PartnersError, match="--sizes"):
            parse_sizes(bad)
