"""`partners eval`: retrieval quality (hit@k, MRR, nDCG, recall, refusals) and latency over a question set."""

import json
import time
from contextlib import closing
from pathlib import Path
from typing import Sequence

from pydantic import AliasChoices, BaseModel, Field

from eval.corpora import EXTERNAL, Chunking, external_dataset, external_name, iter_indexes, parse_chunking
from eval.metrics import hit_at_k, ndcg_at_k, percentiles, recall_at_k, reciprocal_rank
from rag.errors import PartnersError
from rag.retrieve import MODES, Fusion, Retriever
from rag.types import Chunk

DATASET_DIR = Path(__file__).parent / "datasets"
REWRITES_DIR = DATASET_DIR / "rewrites"  # hand-written rewrites of chat turns that stand alone (`--rewrites`)
DEFAULT_KS = (1, 3, 5, 10)


MISSION_SETS = ("term_explanations", "conversation_scripts", "answers_judged", "term_claims")  # not question sets


class Question(BaseModel):
    id: str
    question: str
    gold: list[str] = Field(default_factory=list)
    category: str = Field("", validation_alias=AliasChoices("category", "domain"))  # AutoRAG-ko says "domain"
    expect: str = "answer"  # "refuse" for out-of-domain questions
    history: list[str] = Field(default_factory=list)  # earlier questions of the chat, oldest first (follow-ups)


def retrieval_datasets() -> list[str]:
    """The question sets in eval/datasets/ (the mission sets are read by `partners eval missions|claims|answers`)."""
    return sorted(p.stem for p in DATASET_DIR.glob("*.jsonl") if not p.stem.startswith(MISSION_SETS))


def dataset_path(name: str) -> Path:
    path = DATASET_DIR / f"{name}.jsonl"
    names = ", ".join(retrieval_datasets() + list(EXTERNAL))
    if name.startswith(MISSION_SETS) and path.exists():
        raise PartnersError(f"{name!r} is a mission set, read by `partners eval missions`, `partners eval claims` or "
                            f"`partners eval answers`. Retrieval datasets: {names}.")
    if not path.exists():
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
             ks: tuple[int, ...] = DEFAULT_KS, history: bool = True, condenser=None) -> dict:
    """Metrics over the answerable questions and refusal rates; per-question rows for failure analysis.

    A question with a `history` is searched as `partners ask` searches a chat turn (`rag.answer.search_turn`), first
    rewritten by the LLM when a `condenser` is given (the time it takes counts in the latency); `history=False`
    searches it alone, for comparison."""
    from rag.answer import search_turn
    from rag.keyword import get_kiwi
    from rag.llm import LLMUnavailableError

    depth = max(max(ks), 10)
    first = questions[0]  # load models, indexes and Kiwi (follow-up names need it in every mode) before timing
    get_kiwi()
    search_turn(first.question, first.history, retriever, k=1, mode=mode, ground=None)
    sums: dict[str, float] = {}
    by_category: dict[str, list[float]] = {}
    latency: list[float] = []
    rows: list[dict] = []
    refused_in = refused_out = n_in = n_out = to_rules = 0
    for q in questions:
        started = time.perf_counter()
        rewritten = None
        if condenser is not None and history and q.history:
            try:
                rewritten = condenser.rewrite(q.question, q.history)
            except LLMUnavailableError:
                pass  # searched by the offline rules, as the chat would
            to_rules += rewritten is None
        result = search_turn(q.question, q.history if history else [], retriever, k=depth, mode=mode, ground=None,
                             rewritten=rewritten)
        latency.append((time.perf_counter() - started) * 1000)
        refused = result.grounding is not None and not result.grounding.grounded
        found = [gold_match(h.chunk, q.gold) for h in result.hits]
        flags = [g is not None for g in found]
        row = {"id": q.id, "question": q.question, "gold": q.gold, "refused": refused,
               "retrieved": [h.chunk.title for h in result.hits[:5]],
               "rank": next((i for i, ok in enumerate(flags, start=1) if ok), None)}
        if result.query != q.question:
            row["search_query"] = result.query
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
        # chat turns with no usable rewrite (model down or too slow, unusable text, not in the reference): the
        # offline rules searched them
        **({"condense_left_to_rules": to_rules} if condenser is not None and history else {}),
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
    """One JSON line per run in $PARTNERS_DATA_DIR/eval/history.jsonl (without per-question rows).

    The chunking and corpus are the ones the run actually searched (a record's own `chunking` wins over settings).
    """
    from datetime import datetime, timezone

    path = settings.data_dir / "eval" / "history.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    chunking = record.get("chunking") or {"size": settings.chunk_size, "overlap": settings.chunk_overlap}
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git_commit": git_commit(),
             "embedder": settings.embedder, "chunking": chunking,
             **{k: v for k, v in record.items() if k not in ("rows", "chunking")}}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


def parse_fusion(text: str) -> Fusion:
    """`dense=0.5,bm25=1,rrf_k=20`: hybrid weights over the shipped defaults (unnamed weights keep theirs)."""
    bad = f"--fusion {text!r}: give weights like dense=0.25,bm25=1,chars=1,title=0.5,rrf_k=10."
    values: dict[str, float] = {}
    for part in str(text).split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in Fusion.model_fields:
            raise PartnersError(bad)
        try:
            values[key] = float(value)
        except ValueError:
            raise PartnersError(bad) from None
    if "rrf_k" in values:
        if values["rrf_k"] < 1 or values["rrf_k"] != int(values["rrf_k"]):
            raise PartnersError(bad)
        values["rrf_k"] = int(values["rrf_k"])
    return Fusion(**values)


def resolve_questions(dataset: str, questions: Path | None, corpus: Path | None) -> tuple[str, Path, Path | None]:
    """(dataset name, question file, corpus folder or None): an external alias brings its own corpus."""
    if questions is not None:
        return external_name(questions) or questions.stem, questions, corpus
    external = external_dataset(dataset)
    if external is not None:
        return dataset, external[0], corpus or external[1]
    return dataset, dataset_path(dataset), corpus


def run_eval(settings, *, what: str = "retrieval", dataset: str = "terms", questions: Path | None = None,
             corpus: Path | None = None, chunkings: Sequence[str | Chunking] = (), mode: str = "hybrid",
             ks: str = "1,3,5,10", fusion: str | Fusion | None = None, embedder=None,
             progress=None, ragas: bool = False, source: str = "cli", write: bool = False,
             rewrites: str | Path | None = None) -> tuple[dict, list[str]]:
    """`partners eval`: the result (JSON-ready) and summary lines; every run is appended to the history.

    Args:
        corpus: evaluate on this folder, ingested into its own collection (reused while its files are unchanged).
        chunkings: compare these chunkings (`size=800,overlap=100`), each in a throwaway index of `corpus` (or of
            the shipped corpus folder); the runs are reported side by side.
        fusion: hybrid weights for this run (`dense=0.5,bm25=1`); the shipped defaults otherwise.
        embedder: an already-built embedder (tests reuse one); by default built from settings.
        source: who ran it ("cli", "app"), recorded in each run's config.
        write: with what="doubt", save the false-claim model trained on all the data (eval/doubt.py).
        rewrites: chat turns are rewritten by these reference rewrites (a name in eval/datasets/rewrites or a
            JSONL file) instead of by the configured LLM (rag.condense).
        ragas: add ragas context precision/recall (non-LLM) to the hybrid run, and faithfulness / answer relevancy
            when PARTNERS_LLM=openai:<model> is configured.

    Raises:
        PartnersError: unknown dataset or mode, bad --k/--chunking/--fusion, missing corpus folder.
    """
    if what in ("missions", "claims"):
        from eval.missions import evaluate_claims, evaluate_missions, summary_lines
        from rag.service import Services

        services = Services(settings)
        name, evaluate = ("missions", evaluate_missions) if what == "missions" else ("term_claims", evaluate_claims)
        result = {"dataset": name, **evaluate(services.retriever, llm=services.llm)}
        append_history(settings, result)
        return result, summary_lines(result)
    if what == "doubt":
        from eval.doubt import evaluate_doubt, summary_lines
        from rag.service import Services

        result = {"dataset": "doubt", **evaluate_doubt(Services(settings).retriever, write=write)}
        append_history(settings, result)
        return result, summary_lines(result)
    if what == "answers":
        from eval.answers import FOLLOW_UPS, WHEN_HOW_MUCH, evaluate_answers, evaluate_myths, load_judged, \
            myth_corrections, myth_questions, summary_lines
        from rag.answer import ask
        from rag.service import Services

        services = Services(settings)  # the extractive writer even with an LLM configured: judged text is verbatim
        generator = services.extractive
        answer = lambda q, history=(): ask(q, services.retriever, generator, k=settings.top_k,  # noqa: E731
                                           history=list(history))
        corrections: dict[str, list[tuple[str, str]]] = {}
        for chunk in services.retriever.index.docstore.iter_chunks():
            if chunk.doc_type == "term":
                corrections.setdefault(chunk.title, []).extend(myth_corrections(chunk.text))
        result = {"dataset": "answers_judged", "generator": generator.prompt_version,
                  **evaluate_answers(answer, load_judged()),
                  "when_how_much": evaluate_answers(answer, load_judged(WHEN_HOW_MUCH)),
                  "follow_ups": evaluate_answers(answer, load_judged(FOLLOW_UPS)),
                  "myths": evaluate_myths(answer, myth_questions(), corrections)}
        append_history(settings, {k: v for k, v in result.items() if k != "unjudged"}
                       | {key: {k: v for k, v in result[key].items() if k != "unjudged"}
                          for key in ("when_how_much", "follow_ups")})
        return result, summary_lines(result)
    if mode not in (*MODES, "all"):
        raise PartnersError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)} or all.")
    cutoffs = parse_ks(ks)
    variants = [c if isinstance(c, Chunking) else parse_chunking(c) for c in chunkings]
    weights = parse_fusion(fusion) if isinstance(fusion, str) else fusion or Fusion()
    name, path, corpus = resolve_questions(dataset, questions, corpus)
    qs = load_questions(path)
    modes = list(MODES) if mode == "all" else [mode]
    from rag.embed import get_embedder
    from rag.rerank import get_reranker

    embedder = embedder or get_embedder(settings.embedder)
    reranker = get_reranker(settings.reranker)
    runs: list[dict] = []
    notes: list[str] = []
    with closing(iter_indexes(settings, corpus=corpus, chunkings=variants, embedder=embedder,
                              progress=progress)) as indexes:
        for target in indexes:
            runs.extend(evaluate_index(target, qs, name, modes, cutoffs, weights, embedder, reranker, ragas=ragas,
                                       source=source, rewrites=rewrites))
            if target.report is not None:
                notes.append(f"{target.settings.collection} ({target.corpus.name}, chunking {target.chunking.label}): "
                             f"{target.report.summary()}")
    for run in runs:
        append_history(settings, {k: v for k, v in run.items() if k != "failures"})
    result = runs[0] if len(runs) == 1 else {"dataset": name, "n": runs[0]["n"], "mode": mode, "runs": runs}
    return result, notes + table_lines(runs, cutoffs)


def evaluate_index(target, qs: list[Question], name: str, modes: list[str], cutoffs: tuple[int, ...],
                   fusion: Fusion, embedder, reranker, *, ragas: bool = False, source: str = "cli",
                   rewrites: str | Path | None = None) -> list[dict]:
    """One run per mode over one index, each with the config that produced it."""
    from rag.index import Index

    s = target.settings
    retriever = Retriever(Index(s), embedder, fusion=fusion, ground_threshold=s.ground_threshold, reranker=reranker)
    built = target.describe() | {"chunks": retriever.index.docstore.chunk_count(),
                                 "documents": retriever.index.docstore.doc_count()}
    ingest = target.report.model_dump(include={"added", "updated", "unchanged", "deleted", "chunks_embedded",
                                               "chunks_total", "seconds"}) if target.report is not None else None
    condenser = chat_condenser(s, rewrites) if any(q.history for q in qs) else None
    runs = []
    for m in modes:
        r = evaluate(retriever, qs, mode=m, ks=cutoffs, condenser=condenser)
        runs.append({"dataset": name, "n": r["n"], "mode": m, "chunking": built["chunking"], "metrics": r["metrics"],
                     "refusals": r["refusals"], "per_category": r["per_category"], "latency_ms": r["latency_ms"],
                     "config": {"source": source, "k": list(cutoffs), "fusion": fusion.model_dump(),
                                "ground_threshold": retriever.ground_threshold, "embedder": s.embedder,
                                "chunk_size": target.chunking.size, "chunk_overlap": target.chunking.overlap,
                                **({"condense": condenser.label} if condenser else {}),
                                **built},
                     **({"ingest": ingest} if ingest else {}),
                     **{key: r[key] for key in ("condense_left_to_rules",) if key in r},
                     "failures": [row for row in r["rows"] if row["rank"] != 1 and row["gold"]][:50]})
        if any(q.history for q in qs):  # follow-ups: the same questions searched without the chat, side by side
            alone = evaluate(retriever, qs, mode=m, ks=cutoffs, history=False)
            runs[-1]["without_history"] = {"metrics": alone["metrics"], "refusals": alone["refusals"]}
    if ragas:
        focus = next((run for run in runs if run["mode"] == "hybrid"), runs[0])
        focus["ragas"] = ragas_scores(retriever, qs, s, embedder, mode=focus["mode"])
    retriever.index.docstore.close()
    return runs


def chat_condenser(settings, rewrites: str | Path | None = None):
    """What rewrites chat turns in a run: the reference rewrites `--rewrites` names, else the LLM as the chat uses it
    (PARTNERS_LLM=openai:<model>, PARTNERS_LLM_CONDENSE), else nothing (the offline rules)."""
    if rewrites is not None:
        return ReferenceRewrites(rewrites)
    from rag.service import Services

    return Services(settings).condenser


class ReferenceRewrites:
    """Hand-written rewrites of chat turns that stand alone (`eval/datasets/rewrites/`), in place of an LLM's: what
    retrieval reaches with a model that rewrites as people do. A turn the file lacks is left to the offline rules."""

    def __init__(self, name: str | Path) -> None:
        path = Path(name) if Path(name).suffix == ".jsonl" else REWRITES_DIR / f"{name}.jsonl"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in REWRITES_DIR.glob("*.jsonl")))
            raise PartnersError(f"No rewrites {str(name)!r}. Known: {known}; or pass a JSONL file of "
                                '{"history", "question", "rewrite"} lines.')
        self.table: dict[tuple[str, str], str] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                self.table[(row["history"][-1].strip(), row["question"].strip())] = row["rewrite"].strip()
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                raise PartnersError(f"{path}, line {number}: expected {{\"history\": [...], \"question\", "
                                    f"\"rewrite\"}} ({exc.__class__.__name__}).") from exc
        self.label = f"reference rewrites {path.name}"

    def rewrite(self, question: str, history: list[str], *, deadline: float | None = None) -> str | None:
        return self.table.get((history[-1].strip(), question.strip())) if history else None


def ragas_scores(retriever: Retriever, qs: list[Question], settings, embedder, *, mode: str) -> dict:
    """ragas context precision/recall (string-similarity variants, offline); with an LLM configured also
    faithfulness and answer relevancy, judged by that LLM over the answers `partners ask` gives."""
    from eval.ragas_eval import ragas_answer_metrics, ragas_context_metrics

    drop = ("rows",)
    scores = {k: v for k, v in ragas_context_metrics(retriever, qs, k=settings.top_k, mode=mode).items()
              if k not in drop}
    if settings.llm.startswith("openai:"):
        from rag.service import Services

        services = Services(settings)
        services.retriever = retriever
        answers = ragas_answer_metrics(services, qs, llm_base_url=settings.llm_base_url,
                                       llm_model=settings.llm.split(":", 1)[1], api_key=settings.llm_api_key,
                                       embedder=embedder)
        scores |= {k: v for k, v in answers.items() if k not in drop}
    return scores


def table_lines(runs: list[dict], ks: tuple[int, ...]) -> list[str]:
    keys = [f"hit@{k}" for k in ks] + ["mrr", "ndcg@10"]
    labels = [run_label(run, runs) for run in runs]
    width = max(8, *(len(label) + len(" alone") * ("without_history" in run) for run, label in zip(runs, labels)))
    head = f"{'run':{width}s} " + " ".join(f"{k:>8s}" for k in keys) + "   p50 ms   p95 ms  refused(in/out)"
    lines = [f"{runs[0]['dataset']} (n={runs[0]['n']})", head]
    for run, label in zip(runs, labels):
        m, lat, ref = run["metrics"], run["latency_ms"], run["refusals"]
        cells = " ".join(f"{m[k]:8.3f}" if m.get(k) is not None else f"{'-':>8s}" for k in keys)
        refused = f"{ref.get('in_domain_refused', '-')}/{ref.get('out_of_domain_refused', '-')}"
        lines.append(f"{label:{width}s} {cells} {lat['p50']:8.2f} {lat['p95']:8.2f}  {refused}")
        if "condense" in run["config"]:
            lines.append(f"{'':{width}s} chat turns rewritten by {run['config']['condense']}; "
                         f"{run.get('condense_left_to_rules', 0)} left to the offline rules (no usable rewrite)")
    for run, label in zip(runs, labels):
        if "without_history" in run:
            alone, ref = run["without_history"]["metrics"], run["without_history"]["refusals"]
            cells = " ".join(f"{alone[k]:8.3f}" if alone.get(k) is not None else f"{'-':>8s}" for k in keys)
            refused = f"{ref.get('in_domain_refused', '-')}/{ref.get('out_of_domain_refused', '-')}"
            lines.append(f"{label + ' alone':{width}s} {cells} {'':17s}  {refused}  (searched without the chat)")
    for run, label in zip(runs, labels):
        if "ragas" in run:
            scores = {k: v for k, v in run["ragas"].items() if isinstance(v, float)}
            lines.append(f"ragas ({label}): " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    return lines


def run_label(run: dict, runs: list[dict]) -> str:
    """The mode, prefixed by chunking and chunk count when the runs compare chunkings."""
    if len({json.dumps(r["chunking"], sort_keys=True) for r in runs}) < 2:
        return run["mode"]
    c = run["chunking"]
    return f"{c['size']}/{c['overlap']} ({run['config']['chunks']} ch) {run['mode']}"
