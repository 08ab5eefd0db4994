"""The 평가 tab: run the retrieval evaluation on a dataset and mode, see metrics, failures and the run history."""

import logging

from rag.errors import PartnersError
from ui import messages as M
from ui.render import korean_error

log = logging.getLogger(__name__)
METRICS = ["hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10"]
METRIC_COLUMNS = ["방식", *METRICS, "p50 ms", "p95 ms", "거절률"]


def retrieval_datasets() -> list[str]:
    from eval.run import retrieval_datasets

    return retrieval_datasets()


def metric_rows(runs: list[dict]) -> list[list]:
    rows = []
    for run in runs:
        m, lat, ref = run["metrics"], run["latency_ms"], run["refusals"]
        rows.append([M.MODES.get(run["mode"], run["mode"]), *(round(m[k], 3) if k in m else None for k in METRICS),
                     round(lat["p50"], 2), round(lat["p95"], 2),
                     ref.get("in_domain_refused", ref.get("out_of_domain_refused"))])
    return rows


def failure_rows(failures: list[dict], limit: int = 30) -> list[list]:
    """(question, gold, gold's rank, the first three documents retrieved: two chunks of one document show once)."""
    return [[r["question"], ", ".join(r["gold"]), r["rank"] or "-", " · ".join(list(dict.fromkeys(r["retrieved"]))[:3])]
            for r in failures[:limit]]


class EvalHandler:
    def __init__(self, services) -> None:
        self.services = services

    def run(self, dataset: str, mode: str) -> tuple[list, list, object, str]:
        """(metric table rows, failures of the hybrid run, history figure, status text); the same `run_eval` as
        `partners eval`, with the app's loaded embedder, so the history records are alike."""
        from eval.run import run_eval

        if dataset not in retrieval_datasets():
            return [], [], None, M.UNKNOWN_DATASET
        try:
            result, _ = run_eval(self.services.settings, dataset=dataset, mode=mode, source="app",
                                 embedder=self.services.retriever.embedder)
        except Exception as exc:
            if not isinstance(exc, PartnersError):
                log.exception("evaluation failed")
            return [], [], self.history(dataset), korean_error(exc)
        runs = result.get("runs", [result])
        focus = next((run for run in runs if run["mode"] == "hybrid"), runs[-1])
        status = f"{dataset} · {result['n']}문항"
        return metric_rows(runs), failure_rows(focus["failures"]), self.history(dataset), status

    def history(self, dataset: str | None):
        """A matplotlib figure of hit@1/hit@5/MRR over past runs of the dataset (None when there are none)."""
        from eval.report import history_figure, load_history

        path = self.services.settings.data_dir / "eval" / "history.jsonl"
        records = load_history(path, dataset=dataset) if path.exists() else []
        return history_figure(records) if records else None
