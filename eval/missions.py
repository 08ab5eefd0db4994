"""`partners eval missions`: the offline scorers against our graded explanations and labelled scripts."""

import json
from itertools import product as cartesian
from pathlib import Path
from statistics import mean

from eval.run import DATASET_DIR
from rag.missions.conversation import ConversationMission
from rag.missions.term import TermMission, TermResult, UnknownTermError


def read_rows(pattern: str) -> list[dict]:
    rows = []
    for path in sorted(DATASET_DIR.glob(pattern)):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def eval_terms(mission: TermMission, rows: list[dict]) -> dict:
    """Mean score per grade, and the share of (good, partial, wrong) triples of a term ordered good > partial > wrong."""
    return summarize_terms([(row, mission.score(row["term"], row["explanation"])) for row in rows])


def summarize_terms(scored: list[tuple[dict, TermResult]]) -> dict:
    """eval_terms' report from (row, result) pairs, which may come from differently trained scorers (eval/doubt.py)."""
    scores: dict[str, dict[str, list[int]]] = {}
    myths = detected = false_myths = goods = 0
    by_source: dict[str, list[bool]] = {}  # listed in the document's 오해 section or not
    for row, result in scored:
        scores.setdefault(row["term"], {}).setdefault(row["grade"], []).append(result.score)
        if row.get("kind") == "misconception":
            myths += 1
            detected += bool(result.misconceptions)
            if row.get("myth_source"):
                by_source.setdefault(row["myth_source"], []).append(bool(result.misconceptions))
        if row["grade"] == "good":
            goods += 1
            false_myths += bool(result.misconceptions)
    triples = ordered = 0
    for by_grade in scores.values():
        for g, p, w in cartesian(by_grade.get("good", []), by_grade.get("partial", []), by_grade.get("wrong", [])):
            triples += 1
            ordered += g > p > w
    flat = {grade: [s for t in scores.values() for s in t.get(grade, [])] for grade in ("good", "partial", "wrong")}
    return {
        "n": len(scored), "terms": len(scores),
        "mean_score": {grade: round(mean(v), 1) if v else None for grade, v in flat.items()},
        "ordered_triples": round(ordered / triples, 4) if triples else None, "triples": triples,
        "misconceptions_detected": round(detected / myths, 4) if myths else None,
        **({"misconceptions_detected_by_source": {k: round(mean(v), 4) for k, v in sorted(by_source.items())}}
           if by_source else {}),
        "good_with_false_misconception": round(false_myths / goods, 4) if goods else None,
    }


def eval_claims(mission: TermMission, rows: list[dict]) -> dict:
    """Single claims about terms (eval/datasets/term_claims.jsonl): the share of false claims the misconception
    check catches and of true ones it flags, by kind (a listed myth reworded, a reversed relation, a wrong number, an
    overgeneralisation, the neighbour's property; a plain fact, a myth named to correct it, a caveat)."""
    by_kind: dict[tuple[str, str], list[bool]] = {}
    checks, skipped = set(), set()
    for row in rows:
        try:
            found, check = mission.check(row["term"], row["claim"])
        except UnknownTermError:  # a term the index no longer holds (its document was removed)
            skipped.add(row["term"])
            continue
        checks.add(check)
        by_kind.setdefault((row["label"], row["kind"]), []).append(bool(found))
    share = {label: [f for (lab, _), v in by_kind.items() if lab == label for f in v] for label in ("wrong", "right")}
    return {
        "n": sum(map(len, by_kind.values())), "terms": len({r["term"] for r in rows} - skipped),
        "skipped_terms": sorted(skipped), "checks": sorted(checks),
        "wrong_caught": round(mean(share["wrong"]), 4) if share["wrong"] else None,
        "right_flagged": round(mean(share["right"]), 4) if share["right"] else None,
        "by_kind": {f"{label}/{kind}": {"n": len(v), "flagged": round(mean(v), 4)}
                    for (label, kind), v in sorted(by_kind.items())},
    }


def evaluate_claims(retriever, *, llm=None) -> dict:
    """`partners eval claims`; with `llm` the model's misconception check runs on every claim (one call each)."""
    return {"llm": llm.name if llm is not None else None,
            "term_claims": eval_claims(TermMission(retriever, llm), read_rows("term_claims.jsonl"))}


def eval_scripts(mission: ConversationMission, rows: list[dict]) -> dict:
    """Recall of planted violations, false findings on clean scripts, and the misses."""
    planted = found = clean = clean_flagged = extra = 0
    misses = []
    for row in rows:
        result = mission.review(row["script"], product=row.get("product"),
                                renewable=True if row.get("renewal") == "갱신형" else None)
        got = {f.code for f in result.findings}
        want = set(row.get("violations", []))
        planted += len(want)
        found += len(want & got)
        extra += len(got - want)
        if not want:
            clean += 1
            clean_flagged += bool(got)
        if got != want:
            misses.append({"id": row["id"], "missed": sorted(want - got), "false": sorted(got - want)})
    return {
        "n": len(rows), "planted": planted,
        "violations_found": round(found / planted, 4) if planted else None,
        "clean_scripts_flagged": round(clean_flagged / clean, 4) if clean else None,
        "false_findings": extra, "misses": misses,
    }


def evaluate_missions(retriever, *, llm=None, include_holdout: bool = True) -> dict:
    """Both mission sets; each held-out file (written after the rules were tuned, never tuned on) is reported
    separately under its own name. With `llm` the term scorer also runs the model's misconception check."""
    terms, conversation = TermMission(retriever, llm), ConversationMission(retriever, llm)
    out = {
        "llm": llm.name if llm is not None else None,
        "term_explanations": eval_terms(terms, tuning_rows("term_explanations")),
        "conversation_scripts": eval_scripts(conversation, tuning_rows("conversation_scripts")),
    }
    if include_holdout:
        for path in sorted(DATASET_DIR.glob("*_holdout*.jsonl")):
            rows = read_rows(path.name)
            if path.name.startswith("term_explanations") and rows:
                out[path.stem] = eval_terms(terms, rows)
            elif path.name.startswith("conversation_scripts") and rows:
                out[path.stem] = eval_scripts(conversation, rows)
    return out


def tuning_rows(kind: str) -> list[dict]:
    return [row for path in sorted(DATASET_DIR.glob(f"{kind}_*.jsonl")) if "holdout" not in path.name
            for row in read_rows(path.name)]


def summary_lines(result: dict) -> list[str]:
    lines = [f"misconceptions also checked by {result['llm']}"] if result.get("llm") else []
    for name, r in result.items():
        if not isinstance(r, dict):
            continue
        if "wrong_caught" in r:
            lines.append(f"{name}: n={r['n']} ({r['terms']} terms, checks {', '.join(r['checks'])}): false claims "
                         f"caught {_pct(r['wrong_caught'])}, true claims flagged {_pct(r['right_flagged'])}")
            lines += [f"  {kind}: {_pct(v['flagged'])} of {v['n']}" for kind, v in r["by_kind"].items()]
            if r["skipped_terms"]:
                lines.append(f"  skipped, not in the index: {', '.join(r['skipped_terms'])}")
        elif "ordered_triples" in r:
            m = r["mean_score"]
            lines.append(f"{name}: n={r['n']} good {m['good']} / partial {m['partial']} / wrong {m['wrong']}; "
                         f"ordered {_pct(r['ordered_triples'])} of {r['triples']} triples; "
                         f"misconceptions found {_pct(r['misconceptions_detected'])}")
        else:
            lines.append(f"{name}: n={r['n']} planted violations found {_pct(r['violations_found'])} of "
                         f"{r['planted']}; clean scripts flagged {_pct(r['clean_scripts_flagged'])}")
    return lines


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
