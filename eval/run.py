"""`partners eval`: retrieval quality (hit@k, MRR, nDCG, recall, refusals) and latency over a question set."""

import json
import time
from pathlib import Path

from pydantic import BaseModel, Field

from eval.metrics import hit_at_k, ndcg_at_k, percentiles, recall_at_k, reciprocal_rank
from rag.errors import PartnersError
from rag.retrieve import Retriever
from rag.types import Chunk

DATASET_DIR = Path(__file__).parent / "datasets"
DEFAULT_KS = (1, 3, 5, 10)


class Question(BaseModel):
    id: str
    question: str
    gold: list[str] = Field(default_factory=list)
    category: str = ""
    expect: str = "answer"  # "refuse" for out-of-domain questions


def dataset_path(name: str) -> Path:
    path = DATASET_DIR / f"{name}.jsonl"
    if not path.exists():
        names = ", ".join(sorted(p.stem for p in DATASET_DIR.glob("*.jsonl")))
        raise PartnersError(f"No dataset {name!r}. Known datasets: {names}; or pass --questions FILE.jsonl.")
    return path


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file; a broken line names its line number."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate_json(line))
        except ValueError as exc:
            raise PartnersError(f"{path}:{number}: not a question line ({exc.__class__.__name__}).") from exc
    if not questions:
        raise PartnersError(f"{path} holds no questions.")
    return questions


def gold_match(chunk: Chunk, gold: list[str]) -> str | None:
    """The gold entry a chunk satisfies: its title, its source file name, or its doc_id."""
    name = chunk.source.split("#")[0].rsplit("/", 1)[-1]
    for entry in gold:
        if entry in (chunk.title, name, chunk.doc_id, chunk.source):
            return entry
    return None


def evaluate(retriever: Retriever, questions: list[Question], *, mode: str = "hybrid",
             ks: tuple[int, ...] = DEFAULT_KS) -> dict:
    """Metrics over the answerable questions and refusal rates; per-question rows for failure analysis."""
    depth = max(max(ks), 10)
    retriever.search(questions[0].question, k=1, mode=mode)  # load models and indexes before timing
    sums: dict[str, float] = {}
    by_category: dict[str, list[float]] = {}
    latency: list[float] = []
    rows: list[dict] = []
    refused_in = refused_out = n_in = n_out = 0
    for q in questions:
        started = time.perf_counter()
        result = retriever.search(q.question, k=depth, mode=mode)
        latency.append((time.perf_counter() - started) * 1000)
        refused = result.grounding is not None and not result.grounding.grounded
        found = [gold_match(h.chunk, q.gold) for h in result.hits]
        flags = [g is not None for g in found]
        row = {"id": q.id, "question": q.question, "gold": q.gold, "refused": refused,
               "retrieved": [h.chunk.title for h in result.hits[:5]],
               "rank": next((i for i, ok in enumerate(flags, start=1) if ok), None)}
        rows.append(row)
        if q.expect == "refuse":
            n_out += 1
            refused_out += refused
            continue
        n_in += 1
        refused_in += refused
        values = {f"hit@{k}": hit_at_k(flags, k) for k in ks}
        values |= {f"recall@{k}": recall_at_k(found, len(q.gold), k) for k in ks}
        values["mrr"] = reciprocal_rank(flags)
        values["ndcg@10"] = ndcg_at_k(found, len(q.gold), 10)
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + value
        by_category.setdefault(q.category or "-", []).append(values[f"hit@{min(ks, key=lambda k: abs(k - 5))}"])
    metrics = {key: round(value / n_in, 4) for key, value in sums.items()} if n_in else {}
    refusals = {}
    if n_out:
        refusals["out_of_domain_refused"] = round(refused_out / n_out, 4)
    if n_in and mode == "hybrid":  # only the hybrid search judges grounding
        refusals["in_domain_refused"] = round(refused_in / n_in, 4)
    hit_key = f"hit@{min(ks, key=lambda k: abs(k - 5))}"
    return {
        "n": len(questions),
        "mode": mode,
        "metrics": metrics,
        "refusals": refusals,
        "per_category": {c: {hit_key: round(sum(v) / len(v), 4), "n": len(v)} for c, v in sorted(by_category.items())},
        "latency_ms": percentiles(latency),
        "rows": rows,
    }


def to_json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False)


def parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(k) for k in str(text).split(",") if k.strip()}))
    except ValueError as exc:
        raise PartnersError(f"--k {text!r}: give cut-offs like 1,3,5,10.") from exc
    if not ks or ks[0] < 1:
        raise PartnersError(f"--k {text!r}: give cut-offs like 1,3,5,10.")
    return ks


def git_commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def append_history(settings, record: dict) -> Path:
    """One JSON line per run in $PARTNERS_DATA_DIR/eval/history.jsonl (without per-question rows)."""
    from datetime import datetime, timezone

    path = settings.data_dir / "eval" / "history.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git_commit": git_commit(),
             "embedder": settings.embedder, "chunking": {"size": settings.chunk_size, "overlap": settings.chunk_overlap},
             **{k: v for k, v in record.items() if k != "rows"}}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


def run_eval(settings, *, what: str = "retrieval", dataset: str = "terms", questions: Path | None = None,
             mode: str = "hybrid", ks: str = "1,3,5,10") -> tuple[dict, list[str]]:
    """`partners eval`: the result (JSON-ready) and summary lines; every run is appended to the history."""
    from rag.service import Services

    services = Services(settings)
    if what == "missions":
        from eval.missions import evaluate_missions, summary_lines

        result = {"dataset": "missions", **evaluate_missions(services.retriever)}
        append_history(settings, result)
        return result, summary_lines({k: v for k, v in result.items() if isinstance(v, dict)})
    cutoffs = parse_ks(ks)
    path = questions or dataset_path(dataset)
    qs = load_questions(path)
    modes = ["dense", "bm25", "chars", "hybrid"] if mode == "all" else [mode]
    runs = []
    for m in modes:
        r = evaluate(services.retriever, qs, mode=m, ks=cutoffs)
        runs.append({"dataset": path.stem, "n": r["n"], "mode": m, "metrics": r["metrics"], "refusals": r["refusals"],
                     "per_category": r["per_category"], "latency_ms": r["latency_ms"],
                     "config": {"k": list(cutoffs), "fusion": services.retriever.fusion.model_dump(),
                                "ground_threshold": services.retriever.ground_threshold,
                                "embedder": settings.embedder, "chunk_size": settings.chunk_size,
                                "chunk_overlap": settings.chunk_overlap},
                     "failures": [row for row in r["rows"] if row["rank"] != 1 and row["gold"]][:50]})
    for run in runs:
        append_history(settings, {k: v for k, v in run.items() if k != "failures"})
    result = runs[0] if len(runs) == 1 else {"dataset": path.stem, "n": runs[0]["n"], "mode": "all", "runs": runs}
    return result, table_lines(runs, cutoffs)


def table_lines(runs: list[dict], ks: tuple[int, ...]) -> list[str]:
    keys = [f"hit@{k}" for k in ks] + ["mrr", "ndcg@10"]
    head = f"{'mode':8s} " + " ".join(f"{k:>8s}" for k in keys) + "   p50 ms   p95 ms  refused(in/out)"
    lines = [f"{runs[0]['dataset']} (n={runs[0]['n']})", head]
    for run in runs:
        m, lat, ref = run["metrics"], run["latency_ms"], run["refusals"]
        cells = " ".join(f"{m[k]:8.3f}" if m.get(k) is not None else f"{'-':>8s}" for k in keys)
        refused = f"{ref.get('in_domain_refused', '-')}/{ref.get('out_of_domain_refused', '-')}"
        lines.append(f"{run['mode']:8s} {cells} {lat['p50']:8.2f} {lat['p95']:8.2f}  {refused}")
    return lines
