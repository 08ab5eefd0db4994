"""`partners eval answers`: how well the extractive answers answer, against blind sentence judgments.

Judges graded the candidate sentences of each question on their own (2 = answers it directly, 1 = relevant background
or leans on missing context, 0 = off the question). An answer is read sentence by sentence against those grades; a
sentence nobody graded is reported as unjudged, never counted as right or wrong.
"""

import json
from statistics import mean

from eval.run import DATASET_DIR
from rag.cite import MARKER, claim_spans, sentence_spans, split_myth
from rag.keyword import token_set

DATASET = DATASET_DIR / "answers_judged.jsonl"
# questions whose answer is a time or an amount ("실비 청구 몇 년 안에 해야 돼요?"), written blind in session 28
WHEN_HOW_MUCH = DATASET_DIR / "answers_judged_when.jsonl"
# chat turns after a previous question (the follow-up sets' 240 turns), judged in that chat, session 29
FOLLOW_UPS = DATASET_DIR / "answers_judged_followups.jsonl"
CLAIMS = DATASET_DIR / "term_claims.jsonl"


def load_judged(path=DATASET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer without their `[n]` markers."""
    return [MARKER.sub("", text[start:end]).strip() for start, end in claim_spans(text)]


def evaluate_answers(ask, rows: list[dict]) -> dict:
    """`ask(question, history) -> Answer`, history the chat's earlier questions ([] but for follow-ups). Shares of
    answered questions whose first sentence / any sentence answers directly, the mean grade of judged answer
    sentences, and how many answer sentences were judged at all."""
    firsts: list[bool] = []
    anys: list[bool] = []
    grades: list[int] = []
    sentences = refused = 0
    unjudged: list[dict] = []
    for row in rows:
        answer = ask(row["question"], row.get("history", []))
        if not answer.grounded:
            refused += 1
            continue
        graded = {s["text"]: s["grade"] for s in row["sentences"]}
        said = answer_sentences(answer.answer)
        known = [graded.get(s) for s in said]
        sentences += len(said)
        grades += [g for g in known if g is not None]
        unjudged += [{"id": row["id"], "sentence": s} for s, g in zip(said, known) if g is None]
        firsts.append(bool(known) and known[0] == 2)
        anys.append(2 in known)
    return {
        "n": len(rows),
        "refused": refused,
        "first_direct": _share(firsts),
        "any_direct": _share(anys),
        "mean_grade": round(mean(grades), 3) if grades else None,
        "judged": round(1 - len(unjudged) / sentences, 3) if sentences else None,
        "unjudged": unjudged,
    }


def myth_questions(path=CLAIMS) -> list[dict]:
    """The listed myths of term_claims.jsonl (each a reworded "자주 하는 오해" of its term) asked back as yes/no
    questions: "가입하실 때 공시이율이 만기까지 그대로 고정돼요." -> "… 고정돼요?"."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"term": r["term"], "claim": r["claim"], "question": r["claim"].rstrip(" .") + "?"}
            for r in rows if r["kind"] == "listed_myth"]


def myth_corrections(text: str) -> list[tuple[str, str]]:
    """(myth, correction) of each "오해: … → 사실: …" line of a term document."""
    return [pair for pair in map(split_myth, (span.text for span in sentence_spans(text))) if pair]


def evaluate_myths(ask, rows: list[dict], corrections: dict[str, list[tuple[str, str]]]) -> dict:
    """Share of answered myth questions whose first sentence gives the correction of the listed myth the claim
    rewords (the term's myth sharing the most morphemes with it)."""
    right = answered = 0
    for row in rows:
        answer = ask(row["question"])
        pairs = corrections.get(row["term"], [])
        if not answer.grounded or not pairs:
            continue
        answered += 1
        claim = token_set(row["claim"])
        _, fact = max(pairs, key=lambda pair: len(claim & token_set(pair[0])))
        said = answer_sentences(answer.answer)
        right += bool(said) and fact.rstrip(". ") in said[0]
    return {"n": len(rows), "answered": answered, "first_corrects": round(right / answered, 3) if answered else None}


def summary_lines(result: dict) -> list[str]:
    pct = lambda v: "-" if v is None else f"{v:.0%}"  # noqa: E731
    subsets = [(label, result[key]) for label, key in (("when / how much", "when_how_much"),
                                                       ("chat follow-ups", "follow_ups")) if result.get(key)]
    return [
        f"answers_judged: {result['n']} questions, {result['refused']} refused ({result['generator']})",
        f"first sentence answers directly: {pct(result['first_direct'])}; some sentence does: "
        f"{pct(result['any_direct'])}; mean grade {result['mean_grade']} (0-2)",
        f"answer sentences judged: {pct(result['judged'])} ({len(result['unjudged'])} unjudged: grade them before "
        "reading a change as real)",
        *[f"{label} ({r['n']} questions, {r['refused']} refused): first sentence answers directly "
          f"{pct(r['first_direct'])}, some sentence {pct(r['any_direct'])}, mean grade {r['mean_grade']}, "
          f"{len(r['unjudged'])} unjudged"
          for label, r in subsets],
        *([f"listed myths asked back ({result['myths']['n']} from term_claims, {result['myths']['answered']} "
           f"answered): the first sentence gives the myth's correction in {pct(result['myths']['first_corrects'])}"]
          if result.get("myths") else []),
    ]


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None
