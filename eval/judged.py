"""Pooled relevance judgments: a question set whose gold also holds the other documents that answer each question.

terms.jsonl gives each question the one term it was written for. Many questions are also answered outright by a
neighbouring term, a guideline or a model script (입원일당 for a 입원급여금 question, the travel-insurance script for
"미국 여행 중에 아프면 실비로 돼요?"). To count those as right, the top documents of every search mode were pooled
per question, shuffled together with the written-for document, and graded blind (judges saw neither which document
the question was written for nor any ranking): 2 = answers it directly, 1 = related or partial, 0 = no.

`python -m eval.judged` writes terms_judged.jsonl: terms.jsonl with every document graded 2 added to `gold` (the
written-for term always stays, whatever its grade). A document no judge saw counts as not relevant, as in any pooled
evaluation; pool it and grade it before reading a new system's misses as real.
"""

import json
from pathlib import Path

DATASETS = Path(__file__).parent / "datasets"
RELEVANT = 2


def judged_rows(questions: Path, judgments: Path) -> list[dict]:
    """The rows of `questions` with the documents graded RELEVANT in `judgments` appended to their gold."""
    grades: dict[str, dict[str, int]] = {}
    for line in judgments.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            best = grades.setdefault(row["id"], {})  # a document graded in two rounds keeps its higher grade
            for source, grade in row["grades"].items():
                best[source] = max(grade, best.get(source, 0))
    rows = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        extra = sorted(s for s, g in grades.get(row["id"], {}).items()
                       if g >= RELEVANT and Path(s).stem.replace("_", " ") not in row["gold"] and s not in row["gold"])
        rows.append(row | {"gold": row["gold"] + extra})
    return rows


def main() -> None:
    rows = judged_rows(DATASETS / "terms.jsonl", DATASETS / "judgments" / "terms.jsonl")
    out = DATASETS / "terms_judged.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    added = sum(len(r["gold"]) - 1 for r in rows)
    print(f"{out}: {len(rows)} questions, {added} documents judged relevant besides the written-for ones")


if __name__ == "__main__":
    main()
