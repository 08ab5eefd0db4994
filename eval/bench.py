"""`partners bench`: ingest timings and query latency at scale, written as JSON (and a PNG) under eval/results/."""

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from eval.metrics import percentiles
from eval.run import dataset_path, git_commit, gold_match, load_questions
from eval.scale import QUERY_MODES, SYNTHETIC_METHOD, ScaleSpec
from rag.errors import PartnersError
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# (what, size or None for every size, mode, statistic, limit in ms) from the scale issue; 2 CPU cores
TARGETS = [("retrieval", 10000, m, "p50", 15.0) for m in QUERY_MODES] + \
          [("retrieval", 10000, m, "p95", 40.0) for m in QUERY_MODES] + \
          [("retrieval", 100000, m, "p95", 80.0) for m in QUERY_MODES] + [("ask", None, "ask", "p50", 100.0)]
WARMUP = 5


def _timed_cli(args: list[str], env_data_dir: Path) -> tuple[float, dict]:
    """Wall-clock seconds of `partners ... --json` in a new process (process start included), and its JSON."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ui.cli", "--data-dir", str(env_data_dir), *args],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"partners {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return round(seconds, 3), json.loads(proc.stdout)


def bench_ingest(settings: Settings, *, out_dir: Path) -> tuple[dict, Path]:
    """Cold ingest of the shipped corpus, then an unchanged re-ingest and a one-file edit, each in a new process."""
    with tempfile.TemporaryDirectory(prefix="partners-bench-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(settings.corpus_dir, corpus)
        data = Path(tmp) / "data"
        cold_s, cold = _timed_cli(["ingest", str(corpus), "--json"], data)
        unchanged_s, unchanged = _timed_cli(["ingest", str(corpus), "--json"], data)
        target = sorted((corpus / "terms").glob("*.md"))[0]
        target.write_text(target.read_text(encoding="utf-8") + "\n벤치마크용으로 덧붙인 문장입니다.\n", encoding="utf-8")
        one_s, one = _timed_cli(["ingest", str(corpus), "--json"], data)
    result = {
        **_header("ingest", settings),
        "cold": {"wall_s": cold_s, "ingest_s": cold["seconds"], "chunks": cold["chunks_embedded"],
                 "chunks_per_s": round(cold["chunks_embedded"] / cold["seconds"], 1) if cold["seconds"] else None,
                 "documents": cold["added"], "failed": len(cold["failed"])},
        "unchanged": {"wall_s": unchanged_s, "ingest_s": unchanged["seconds"],
                      "chunks_embedded": unchanged["chunks_embedded"]},
        "one_file": {"wall_s": one_s, "ingest_s": one["seconds"], "chunks_embedded": one["chunks_embedded"],
                     "updated": one["updated"]},
    }
    path = _write_json(result, out_dir, "ingest")
    return result, path


def _header(bench: str, settings: Settings) -> dict:
    return {"bench": bench, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git_commit": git_commit(), "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "embedder": settings.embedder, "chunking": {"size": settings.chunk_size, "overlap": settings.chunk_overlap}}


def _write_json(result: dict, out_dir: Path, bench: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bench_{bench}_{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def bench_query(settings: Settings, *, sizes=(1000, 10000, 100000), out_dir: Path = Path("eval/results"),
                queries: int = 200, seed: int = 13, real_chunks: int | None = None, pool: int | None = None,
                query_threads: int | None = None) -> tuple[dict, Path, Path]:
    """Query latency (every retrieval mode and extractive `ask`) and peak RSS on indexes of each size.

    Each size's index is grown synthetically from the shipped corpus (see eval/scale.py) and cached under
    `<data>/bench/<size>`; building and querying each run in a new process, so peak RSS is per size and per step.

    Args:
        sizes: chunk counts of the indexes.
        queries: terms.jsonl questions per mode (a seeded sample; at most the whole set).
        real_chunks: at most this many shipped chunks per index (None: the whole shipped corpus when it fits).
        pool: recombine only this many shipped sentences (None: all of them).
        query_threads: measure query embedding on this many BLAS threads (a proposed rag/embed.py change;
            None: as shipped).

    Returns:
        (result, JSON path, PNG path).

    Raises:
        PartnersError: bad sizes or query count, or a worker process failed.
    """
    sizes = sorted({int(s) for s in sizes})
    if not sizes or sizes[0] < 1 or queries < 1:
        raise PartnersError(f"Give positive index sizes and query count (got sizes {sizes}, queries {queries}), "
                            "e.g. `partners bench query --sizes 1000,10000,100000`.")
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve(),
                                           "corpus_dir": settings.corpus_dir.resolve()})
    rows = []
    with tempfile.TemporaryDirectory(prefix="partners-bench-") as tmp:
        for size in sizes:
            spec = ScaleSpec(size=size, seed=seed, real_chunks=real_chunks, pool=pool)
            job = Path(tmp) / f"job-{size}.json"
            job.write_text(json.dumps({"settings": settings.model_dump(mode="json"), "spec": spec.model_dump(),
                                       "queries": queries, "query_threads": query_threads}), encoding="utf-8")
            build = _run_worker("build", job, Path(tmp) / f"build-{size}.json")
            build.pop("key", None)
            query = _run_worker("query", job, Path(tmp) / f"query-{size}.json")
            rows.append({"size": size, "build": build, "query": query})
    result = {**_header("query", settings),
              "hnsw": {"ef_search": settings.hnsw_ef_search, "ef_construction": settings.hnsw_ef_construction,
                       "max_neighbors": settings.hnsw_max_neighbors},
              "synthetic": {"method": SYNTHETIC_METHOD, "seed": seed, "real_chunks_cap": real_chunks, "pool": pool},
              "measured": "wall-clock ms per call in a warm process (models and indexes loaded, process start "
                          "excluded); `ask` = rag.answer.ask with ExtractiveGenerator (hybrid retrieval + grounding)",
              "sizes": rows, "targets": check_targets(rows)}
    path = _write_json(result, out_dir, "query")
    png = path.with_suffix(".png")
    plot_latency(rows, png, note=f"query embedding on {query_threads} BLAS thread(s)" if query_threads else "")
    return result, path, png


def parse_sizes(text: str) -> tuple[int, ...]:
    """`1000,10000,100000` or `1k,10k,100k` -> (1000, 10000, 100000)."""
    try:
        sizes = tuple(int(float(p[:-1]) * 1000) if p.lower().endswith("k") else int(p)
                      for p in (x.strip() for x in str(text).split(",")) if p)
    except ValueError as exc:
        raise PartnersError(f"--sizes {text!r}: give chunk counts like 1000,10000,100000 (or 1k,10k,100k).") from exc
    if not sizes or min(sizes) < 1:
        raise PartnersError(f"--sizes {text!r}: give chunk counts like 1000,10000,100000 (or 1k,10k,100k).")
    return sizes


def _run_worker(what: str, job: Path, out: Path) -> dict:
    """`python -m eval.scale` in a new process; its logs go to our stderr."""
    proc = subprocess.run([sys.executable, "-m", "eval.scale", what, str(job), str(out)], cwd=ROOT,
                          stdout=subprocess.DEVNULL)
    if proc.returncode != 0 or not out.exists():
        raise PartnersError(f"The bench {what} worker failed (exit {proc.returncode}); its log is above. Rerun "
                            f"`partners bench query` once the cause is fixed; cached indexes are reused.")
    return json.loads(out.read_text(encoding="utf-8"))


def pick_questions(queries: int, seed: int) -> list:
    """A seeded sample of `queries` real questions from eval/datasets/terms.jsonl."""
    import random

    questions = load_questions(dataset_path("terms"))
    random.Random(seed).shuffle(questions)
    return questions[:queries]


def measure_queries(settings: Settings, *, queries: int, seed: int = 13, k: int = 5,
                    query_threads: int | None = None) -> dict:
    """Per-call latency of each retrieval mode and of extractive `ask` against the index of `settings`.

    The modes are interleaved per question so background load hits them alike; warm-up uses other questions.
    `query_threads` swaps in QueryThreadsEmbedder (USE only) to measure that proposed change.
    """
    from rag.answer import ask
    from rag.generate import ExtractiveGenerator
    from rag.service import Services

    started = time.perf_counter()
    load_before = os.getloadavg()
    retriever = Services(settings).retriever
    if query_threads:
        if settings.embedder != "use-multilingual":
            raise PartnersError("query_threads applies to the use-multilingual embedder only; leave it unset.")
        from eval.scale import QueryThreadsEmbedder

        retriever.embedder = QueryThreadsEmbedder(retriever.embedder, query_threads)
    generator = ExtractiveGenerator(retriever.embedder)  # as the app builds it (rag.service.Services.extractive)
    for q in load_questions(dataset_path("scripts_guidelines"))[:WARMUP]:
        for mode in QUERY_MODES:
            retriever.search(q.question, k=k, mode=mode)
        ask(q.question, retriever, generator, k=k)
    load_s = time.perf_counter() - started
    questions = pick_questions(queries, seed)
    latency: dict[str, list[float]] = {m: [] for m in (*QUERY_MODES, "ask")}
    stages: dict[str, list[float]] = {}
    hits = dict.fromkeys(QUERY_MODES, 0)
    forget = getattr(retriever.embedder, "clear_query_cache", lambda: None)  # each timed call embeds its query
    for q in questions:
        for mode in QUERY_MODES:
            forget()
            t = time.perf_counter()
            result = retriever.search(q.question, k=k, mode=mode)
            latency[mode].append((time.perf_counter() - t) * 1000)
            hits[mode] += any(gold_match(h.chunk, q.gold) for h in result.hits)
            for stage, ms in result.timings_ms.items():
                stages.setdefault(f"{mode}.{stage}", []).append(ms)
        forget()
        t = time.perf_counter()
        answer = ask(q.question, retriever, generator, k=k)
        latency["ask"].append((time.perf_counter() - t) * 1000)
        for stage, ms in answer.timings_ms.items():
            stages.setdefault(f"ask.{stage}", []).append(ms)
    index = retriever.index
    return {"chunks": index.docstore.chunk_count(), "vectors": index.vectors.count(), "questions": len(questions),
            "k": k, "load_and_warmup_s": round(load_s, 3), "query_embed_threads": query_threads,
            "loadavg_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
            "latency_ms": {m: _summary(v) for m, v in latency.items()},
            "stages_p50_ms": {s: percentiles(v)["p50"] for s, v in stages.items()},
            f"hit@{k}": {m: round(n / len(questions), 4) for m, n in hits.items()}}


def _summary(values: list[float]) -> dict[str, float]:
    return {**percentiles(values), "mean": round(sum(values) / len(values), 2), "max": round(max(values), 2)}


def check_targets(rows: list[dict]) -> list[dict]:
    """Every latency target that applies to a measured size, with the measured value and whether it is met."""
    checked = []
    for what, size, mode, stat, limit in TARGETS:
        for row in rows:
            if size is None or row["size"] == size:
                measured = row["query"]["latency_ms"][mode][stat]
                checked.append({"what": what, "size": row["size"], "mode": mode, "stat": stat, "limit_ms": limit,
                                "measured_ms": measured, "met": measured <= limit})
    return checked


def plot_latency(rows: list[dict], path: Path, *, note: str = "") -> Path:
    """Latency against index size (log x and y): one colour per mode, p50 solid, p95 dashed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    fig = Figure(figsize=(8, 5.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    sizes = [row["query"]["chunks"] for row in rows]
    for i, mode in enumerate((*QUERY_MODES, "ask")):
        label = "ask (extractive)" if mode == "ask" else mode
        lat = [row["query"]["latency_ms"][mode] for row in rows]
        ax.plot(sizes, [v["p50"] for v in lat], "-o", color=f"C{i}", label=f"{label} p50")
        ax.plot(sizes, [v["p95"] for v in lat], "--s", color=f"C{i}", label=f"{label} p95", markersize=4)
    for limit, text in ((15, "retrieval p50 target @10k"), (40, "p95 target @10k"), (80, "p95 target @100k"),
                        (100, "ask p50 target")):
        ax.axhline(limit, color="grey", linestyle=":", linewidth=0.8)
        ax.annotate(text, (0.01, limit), xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                    fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, [f"{s / 1000:g}k" if s >= 1000 else str(s) for s in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("chunks in the index (synthetic growth of the shipped corpus)")
    ax.set_ylabel("latency per call (ms)")
    ax.set_title("partners bench query: latency vs index size" + (f" ({note})" if note else ""), fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=2, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
