"""`partners eval --report FILE.md`: the current run as Markdown tables, the eval history as a table and a PNG."""

import json
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from rag.errors import PartnersError

PLOT_METRICS = ("hit@1", "hit@5", "mrr")
HISTORY_ROWS = 20
PLOT_RUNS = 100
MAX_FAILURES = 15
LABELS = {"mrr": "MRR", "ndcg@10": "nDCG@10"}


class ReportError(PartnersError):
    code = "report"


def read_history(path: Path) -> tuple[list[dict], int]:
    """The JSON-object lines of a history file (oldest first) and how many malformed lines were skipped."""
    path = Path(path)
    if not path.exists():
        return [], 0
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ReportError(f"Cannot read the eval history {path}: {exc.strerror}. Move it aside to start anew.") from exc
    records, bad = [], 0
    for line in filter(str.strip, lines):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    return records, bad


def load_history(path: Path, dataset: str | None = None) -> list[dict]:
    """History records, oldest first, malformed lines skipped; only those of `dataset` when given."""
    records, _ = read_history(path)
    return [r for r in records if dataset is None or r.get("dataset") == dataset]


def is_retrieval(record: dict) -> bool:
    return isinstance(record.get("metrics"), dict) and isinstance(record.get("mode"), str)


def chunking_of(record: dict) -> str:
    """`size/overlap` of a history record or a run (older runs carry it only in their config)."""
    c, config = record.get("chunking") or {}, record.get("config") or {}
    return f"{c.get('size', config.get('chunk_size', '-'))}/{c.get('overlap', config.get('chunk_overlap', '-'))}"


def run_labels(runs: list[dict]) -> list[str]:
    """The mode, prefixed by the chunking when the runs do not all share one."""
    chunked = len({chunking_of(r) for r in runs}) > 1
    return [f"{chunking_of(r)} {r['mode']}" if chunked else r["mode"] for r in runs]


def fmt(value, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def cell(value, limit: int = 160) -> str:
    """A Markdown table cell: whitespace and newlines flattened, `|` escaped, long text cut."""
    text = " ".join(("; ".join(map(str, value)) if isinstance(value, list) else str(value)).split())
    return (text if len(text) <= limit else text[: limit - 1] + "…").replace("|", "\\|")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


# Fonts with Hangul that `make system-deps` installs (fonts-nanum, fonts-noto-cjk); without one, plot text stays ASCII
HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "NanumBarunGothic")


@lru_cache(maxsize=1)
def hangul_font() -> str | None:
    """The first installed font of HANGUL_FONTS that matplotlib knows, or None."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in known), None)


def ascii_text(text: str) -> str:
    """Plot text for the default font, which has no Hangul glyphs."""
    return str(text).encode("ascii", "replace").decode("ascii")


def history_figure(records: list[dict]):
    """hit@1, hit@5 and MRR per run (x = run, oldest left), one line per mode; non-retrieval records are ignored.

    Returns:
        A `matplotlib.figure.Figure` (no pyplot state), ready for `savefig` or a Gradio `gr.Plot`.
    """
    from matplotlib import rc_context

    font = hangul_font()
    with rc_context({"font.family": [font, "DejaVu Sans"]} if font else {}):  # text takes the font when created
        return _draw_history(records, korean=font is not None)


def _draw_history(records: list[dict], *, korean: bool):
    from matplotlib.figure import Figure

    text = str if korean else ascii_text  # Korean labels only with a font that has Hangul
    runs = [r for r in records if is_retrieval(r)]
    slots: dict[tuple, int] = {}
    for r in runs:  # the modes of one `--mode all` run share a time, hence an x position
        slots.setdefault((r.get("time"), r.get("git_commit")), len(slots))
    several = len({r.get("dataset") for r in runs}) > 1
    series: dict[str, list[tuple[int, dict]]] = {}
    for r, label in zip(runs, run_labels(runs)):
        label = text(f"{r.get('dataset')}/{label}" if several else label)
        series.setdefault(label, []).append((slots[(r.get("time"), r.get("git_commit"))], r["metrics"]))
    fig = Figure(figsize=(9, 7), layout="constrained")
    axes = fig.subplots(len(PLOT_METRICS), 1, sharex=True)
    for ax, key in zip(axes, PLOT_METRICS):
        for label, points in series.items():
            kept = [(x, m[key]) for x, m in points if fmt(m.get(key)) != "-"]
            ax.plot([x for x, _ in kept], [y for _, y in kept], marker="o", label=label)
        ax.set_ylabel(LABELS.get(key, key))
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    if series:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
        step = max(1, len(slots) // 12)
        labels = [text(f"{str(t or '?')[5:16].replace('T', ' ')}\n{c or ''}") for t, c in list(slots)[::step]]
        axes[-1].set_xticks(range(0, len(slots), step), labels, rotation=30, ha="right", fontsize=8)
    else:
        axes[0].text(0.5, 0.5, "아직 검색 평가 기록이 없어요" if korean else "no retrieval runs yet", ha="center",
                     va="center", transform=axes[0].transAxes)
    name = str(runs[0].get("dataset")) if runs and not several else ""
    if korean:
        fig.suptitle(f"평가 기록: {name}" if name else "평가 기록")
    else:
        fig.suptitle(f"Eval history: {name}" if name.isascii() and name else "Eval history")
    axes[-1].set_xlabel("실행 (시각, 커밋)" if korean else "run")
    return fig


def plot_history(records: list[dict], out_png: Path) -> Path:
    """Write `history_figure(records)` as a PNG (Agg) and return its path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out_png = Path(out_png)
    fig = history_figure(records)
    FigureCanvasAgg(fig)
    try:
        out_png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_png, format="png", dpi=100)
    except OSError as exc:
        raise ReportError(f"Cannot write the plot {out_png}: {exc.strerror}. Pick another --report path.") from exc
    return out_png


def runs_of(result: dict) -> list[dict]:
    if isinstance(result.get("runs"), list) and result["runs"]:
        return result["runs"]
    if is_retrieval(result):
        return [result]
    raise ReportError("This eval result has no retrieval runs or mission scores to report. "
                      "Pass what `run_eval` returned.")


def header_lines(title: str, dataset: str, n, current: dict, config: dict, chunking: str) -> list[str]:
    """Title and run facts; `current` is the history record of this run when found (its time and commit)."""
    from eval.run import git_commit

    facts = [("dataset", dataset), ("questions", n if n is not None else "-"),
             ("time", current.get("time") or datetime.now(timezone.utc).isoformat(timespec="seconds")),
             ("git commit", current.get("git_commit") or git_commit() or "-"),
             ("embedder", current.get("embedder") or config.get("embedder", "-")),
             ("chunking (size/overlap)", chunking)]
    facts += [("ground threshold", config["ground_threshold"])] if config.get("ground_threshold") is not None else []
    facts += [("fusion", ", ".join(f"{k}={v}" for k, v in config["fusion"].items()))] if config.get("fusion") else []
    return [f"# {title}", ""] + [f"- **{k}**: {cell(v)}" for k, v in facts] + [""]


def run_table(runs: list[dict]) -> list[str]:
    cuts = sorted({int(k[4:]) for r in runs for k in r["metrics"] if k.startswith("hit@") and k[4:].isdigit()})
    keys = [f"hit@{k}" for k in cuts] + ["mrr", "ndcg@10"]
    head = ["run", *(LABELS.get(k, k) for k in keys), "p50 ms", "p95 ms", "refused in-domain", "refused out-of-domain"]
    rows = []
    for r, label in zip(runs, run_labels(runs)):
        lat, ref = r.get("latency_ms") or {}, r.get("refusals") or {}
        rows.append([cell(label), *(fmt(r["metrics"].get(k)) for k in keys), fmt(lat.get("p50"), 2),
                     fmt(lat.get("p95"), 2), fmt(ref.get("in_domain_refused")), fmt(ref.get("out_of_domain_refused"))])
    return table(head, rows)


def category_table(runs: list[dict]) -> list[str]:
    cats = {c: v for r in runs for c, v in (r.get("per_category") or {}).items() if isinstance(v, dict)}
    if not cats:
        return ["No per-category numbers (the questions have no categories, or none is answerable)."]
    key = next((k for v in cats.values() for k in v if k != "n"), "hit@5")
    rows = [[cell(c), str(v.get("n", "-")), *(fmt((r.get("per_category") or {}).get(c, {}).get(key)) for r in runs)]
            for c, v in sorted(cats.items())]
    return table(["category", "n", *(f"{key} {cell(label)}" for label in run_labels(runs))], rows)


def failure_lines(runs: list[dict]) -> list[str]:
    run, label = next((p for p in zip(runs, run_labels(runs)) if p[0]["mode"] == "hybrid"), (runs[-1], "last"))
    failures = run.get("failures")
    if failures is None:
        return ["No per-question rows in this result."]
    if not failures:
        return [f"No failing questions in the `{label}` run: every gold document came first."]
    # not retrieved at all first, then the deepest rank; sort is stable, so dataset order breaks ties
    worst = sorted(failures, key=lambda f: (f.get("rank") is None, f.get("rank") or 0), reverse=True)[:MAX_FAILURES]
    rows = [[str(i), cell(f.get("id", "")), cell(f.get("question", "")), cell(f.get("gold", [])),
             str(f["rank"]) if f.get("rank") else "miss", "yes" if f.get("refused") else "",
             cell(f.get("retrieved", []))] for i, f in enumerate(worst, start=1)]
    note = f"The {len(worst)} worst of the `{label}` run (rank of the first gold document; miss = not retrieved)."
    return [note, ""] + table(["#", "id", "question", "gold", "rank", "refused", "retrieved (top 5)"], rows)


def change_lines(runs: list[dict], history: list[dict]) -> list[str]:
    """Per mode and chunking: the plot metrics against the run of that kind before this one."""
    lines = []
    for run, label in zip(runs, run_labels(runs)):
        same = [r for r in history if r["mode"] == run["mode"] and chunking_of(r) == chunking_of(run)]
        # the history already holds this run (run_eval appends it); compare with the one before
        mine = [i for i, r in enumerate(same) if r["metrics"] == run["metrics"]]
        earlier = same[: mine[-1]] if mine else same
        if not earlier:
            continue
        prev, parts = earlier[-1], []
        for key in PLOT_METRICS:
            old, new = prev["metrics"].get(key), run["metrics"].get(key)
            delta = f" ({new - old:+.3f})" if "-" not in (fmt(old), fmt(new)) else ""
            parts.append(f"{LABELS.get(key, key)} {fmt(old)} → {fmt(new)}{delta}")
        lines.append(f"- **{cell(label)}** vs {cell(prev.get('time', '?'))} "
                     f"({cell(prev.get('git_commit') or '-')}): " + ", ".join(parts))
    return ["Change since the previous run of each mode:", ""] + lines + [""] if lines else []


def history_lines(runs: list[dict], dataset: str, records: list[dict], bad: int, png: Path,
                  history_path: Path) -> list[str]:
    history = [r for r in records if r.get("dataset") == dataset and is_retrieval(r)]
    lines = ["## History", ""] + ([f"{bad} malformed line(s) in {history_path} skipped.", ""] if bad else [])
    if not history:
        return lines + [f"No runs of `{cell(dataset)}` in {history_path} yet: nothing to compare, so no plot."]
    shown = history[-HISTORY_ROWS:]
    rows = [[cell(r.get("time", "-")), cell(r.get("git_commit") or "-"), cell(r["mode"]), chunking_of(r),
             *(fmt(r["metrics"].get(k)) for k in PLOT_METRICS), fmt((r.get("latency_ms") or {}).get("p50"), 2)]
            for r in shown]
    lines += change_lines(runs, history)
    lines += [f"The last {len(shown)} of {len(history)} runs of `{cell(dataset)}`, oldest first:", ""]
    lines += table(["time", "commit", "mode", "chunking", "hit@1", "hit@5", "MRR", "p50 ms"], rows)
    plot_history(history[-PLOT_RUNS:], png)
    return lines + ["", f"![history]({png.name})"]


def missions_lines(result: dict, records: list[dict], bad: int, title: str) -> list[str]:
    sets = {k: v for k, v in result.items() if isinstance(v, dict) and "n" in v}
    rows = [[cell(name), fmt(s.get("n"), 0),
             "/".join(fmt(v, 1) for v in (s.get("mean_score") or {}).values()) or "-",
             fmt(s.get("ordered_triples")), fmt(s.get("misconceptions_detected")),
             fmt(s.get("violations_found")), fmt(s.get("clean_scripts_flagged")), fmt(s.get("false_findings"), 0)]
            for name, s in sets.items()]
    current = next((r for r in reversed(records) if r.get("dataset") == "missions"
                    and all(r.get(k) == v for k, v in sets.items())), {})
    lines = header_lines(title, "missions", sum(s.get("n") or 0 for s in sets.values()), current, {},
                         chunking_of(current))
    lines += ["## Mission scorers", ""]
    lines += table(["set", "n", "mean score good/partial/wrong", "ordered triples", "misconceptions found",
                    "violations found", "clean scripts flagged", "false findings"], rows)
    misses = [(name, m) for name, s in sets.items() for m in s.get("misses") or []][:MAX_FAILURES]
    if misses:
        lines += ["", "## Script misses", ""]
        lines += table(["set", "id", "missed", "false"],
                       [[cell(n), cell(m.get("id", "")), cell(m.get("missed", [])), cell(m.get("false", []))]
                        for n, m in misses])
    past = [r for r in records if r.get("dataset") == "missions"][-HISTORY_ROWS:]
    lines += ["", "## History", ""] + ([f"{bad} malformed history line(s) skipped.", ""] if bad else [])
    if not past:
        return lines + ["No earlier mission runs in the history."]
    keys = [(name, "ordered_triples" if "ordered_triples" in s else "violations_found") for name, s in sets.items()]
    return lines + table(["time", "commit", *(f"{n} {k}" for n, k in keys)],
                         [[cell(r.get("time", "-")), cell(r.get("git_commit") or "-"),
                           *(fmt((r.get(n) or {}).get(k)) for n, k in keys)] for r in past])


def write_report(result: dict, history_path: Path, out_path: Path, *, title: str | None = None) -> Path:
    """Write a Markdown eval report, and `<stem>_history.png` next to it when there is a history to plot.

    Args:
        result: what `run_eval` returned: one run, `{"mode": "all", "runs": [...]}`, or a missions result.
        history_path: the `history.jsonl` the runs were appended to; missing or malformed lines are tolerated.
        out_path: the Markdown file to write (its folder is created).
    Returns:
        `out_path`.
    Raises:
        ReportError: the result has nothing to report, or a file cannot be read or written.
    """
    history_path, out_path = Path(history_path), Path(out_path)
    records, bad = read_history(history_path)
    if result.get("dataset") == "missions":
        lines = missions_lines(result, records, bad, title or "Eval report: missions")
    else:
        runs = runs_of(result)
        dataset = result.get("dataset") or runs[0].get("dataset", "-")
        last = runs[-1]  # the history record run_eval appended for it gives the run's time and commit
        current = next((r for r in reversed(records) if r.get("dataset") == dataset
                        and r.get("mode") == last["mode"] and r.get("metrics") == last["metrics"]), {})
        lines = header_lines(title or f"Eval report: {dataset}", dataset, result.get("n", runs[0].get("n")),
                             current, runs[0].get("config") or {}, ", ".join(dict.fromkeys(map(chunking_of, runs))))
        lines += ["## Current run", ""] + run_table(runs)
        lines += ["", "## Hit rate per category", ""] + category_table(runs)
        lines += ["", "## Worst failing questions", ""] + failure_lines(runs) + [""]
        png = out_path.with_name(f"{out_path.stem}_history.png")
        lines += history_lines(runs, dataset, records, bad, png, history_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"Cannot write the report {out_path}: {exc.strerror}. Pick another --report path.") from exc
    return out_path
