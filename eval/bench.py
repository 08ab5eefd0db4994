"""`partners bench`: timings appended as JSON files under eval/results/."""

import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from eval.run import git_commit
from rag.settings import Settings


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
        "bench": "ingest",
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "embedder": settings.embedder,
        "chunking": {"size": settings.chunk_size, "overlap": settings.chunk_overlap},
        "cold": {"wall_s": cold_s, "ingest_s": cold["seconds"], "chunks": cold["chunks_embedded"],
                 "chunks_per_s": round(cold["chunks_embedded"] / cold["seconds"], 1) if cold["seconds"] else None,
                 "documents": cold["added"], "failed": len(cold["failed"])},
        "unchanged": {"wall_s": unchanged_s, "ingest_s": unchanged["seconds"],
                      "chunks_embedded": unchanged["chunks_embedded"]},
        "one_file": {"wall_s": one_s, "ingest_s": one["seconds"], "chunks_embedded": one["chunks_embedded"],
                     "updated": one["updated"]},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bench_ingest_{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result, path
