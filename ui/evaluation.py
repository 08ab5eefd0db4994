"""The 평가 tab: run the retrieval evaluation on a dataset and mode, see metrics, failures and the run history."""

import logging

from rag.errors import PartnersError
from ui import messages as M
from ui.render import korean_error

log = logging.getLogger(__name__)
MISSION_SETS = ("term_explanations", "conversation_scripts")
MODES = ["hybrid", "dense", "bm25", "chars"]
METRICS = ["hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10"]


def retrieval_datasets() -> list[str]:
    from eval.run import DATASET_DIR

    return sorted(p.stem for p in DATASET_DIR.glob("*.jsonl") if not p.stem.startswith(MISSION_SETS))


def metric_rows(runs: list[dict]) -> list[list]:
    rows = []
    for run in runs:
        m, lat, ref = run["metrics"], run["latency_ms"], run["refusals"]
        rows.append([M.MODES.get(run["mode"], run["mode"]), *(round(m[k], 3) if k in m else None for k in METRICS),
                     round(lat["p50"], 2), round(lat["p95"], 2),
                     ref.get("in_domain_refused", ref.get("out_of_domain_refused"))])
    return rows


METRIC_COLUMNS = ["방식", *METRICS, "p50 ms", "p95 ms", "거절률"]


def failure_rows(rows: list[dict], limit: int = 30) -> list[list]:
    failed = [r for r in rows if r["gold"] and r["rank"] != 1][:limit]
    return [[r["question"], ", ".join(r["gold"]), r["rank"] or "-", " · ".join(r["retrieved"][:3])] for r in failed]


class EvalHandler:
    def __init__(self, services) -> None:
        self.services = services

    def run(self, dataset: str, mode: str) -> tuple[list, list, object, str]:
        """(metric table rows, failure rows of the best-listed mode, history figure, status text)."""
        from eval.run import append_history, dataset_path, evaluate, load_questions

        try:
            if dataset not in retrieval_datasets():
                return [], [], None, M.UNKNOWN_DATASET
            questions = load_questions(dataset_path(dataset))
            modes = MODES if mode == "all" else [mode]
            runs = []
            for m in modes:
                result = evaluate(self.services.retriever, questions, mode=m)
                run = {"dataset": dataset, **{k: v for k, v in result.items() if k != "rows"},
                       "config": {"source": "app", "fusion": self.services.retriever.fusion.model_dump()}}
                append_history(self.services.settings, run)
                runs.append((run, result["rows"]))
        except Exception as exc:
            if not isinstance(exc, PartnersError):
                log.exception("evaluation failed")
            return [], [], self.history(dataset), korean_error(exc)
        focus = next((rows for run, rows in runs if run["mode"] == "hybrid"), runs[-1][1])
        status = f"{dataset} · {len(questions)}문항"
        return metric_rows([r for r, _ in runs]), failure_rows(focus), self.history(dataset), status

    def history(self, dataset: str | None):
        """A matplotlib figure of hit@1/hit@5/MRR over past runs of the dataset (None when there are none)."""
        from eval.report import history_figure, load_history

        path = self.services.settings.data_dir / "eval" / "history.jsonl"
        records = load_history(path, dataset=dataset) if path.exists() else []
        return history_figure(records) if records else None
