"""`partners eval doubt`: train the term mission's false-claim model (rag/missions/doubt.py) and measure it on terms it
never saw; `--write` saves the model trained on everything to rag/missions/doubt_model.json.

Training data: the 4,480 true and false claims of eval/datasets/term_claims.jsonl, and as true sentences every sentence
of the tuning explanations graded good or partial (a partial explanation leaves points out but says nothing false).
The held-out explanation sets are never trained on.

Measured with terms held out, so the numbers say what a content owner's new term would get:
- claims: 5 folds grouped by term; false claims caught and true ones flagged at each probability;
- tuning explanations: 5 folds grouped by term, each scored by a model that saw neither that term's claims nor its
  explanations;
- each held-out explanation set: scored by a model that saw none of its terms' claims.
"""

from datetime import date

import numpy as np

from eval.missions import read_rows, summarize_terms, tuning_rows
from rag.missions.common import sentences
from rag.missions.doubt import DoubtModel, features
from rag.missions.term import TermMission, term_facts

C = 0.3  # L2 strength; C, t0 and k were chosen on the tuning explanations' term-grouped folds (BASELINE session 19)
T0, K = 0.3, 15.0
FOLDS = 5
THRESHOLDS = (0.5, 0.7, 0.9)


def training_data(mission: TermMission, tuning: list[dict]) -> tuple[list[dict], list[bool], list[str]]:
    """(features, is false, term) for every claim and every sentence of a good or partial tuning explanation."""
    facts: dict[str, object] = {}

    def featurize(term: str, sentence: str) -> dict:
        if term not in facts:
            facts[term] = term_facts(mission.load(mission.resolve(term)))
        return features(facts[term], sentence, mission.idf)[0]

    X, y, terms = [], [], []
    for row in read_rows("term_claims.jsonl"):
        X.append(featurize(row["term"], row["claim"]))
        y.append(row["label"] == "wrong")
        terms.append(row["term"])
    for row in tuning:
        if row["grade"] in ("good", "partial"):
            for sentence in sentences(row["explanation"]):
                X.append(featurize(row["term"], sentence))
                y.append(False)
                terms.append(row["term"])
    return X, y, terms


def fit(X: list[dict], y: list[bool], meta: dict | None = None) -> DoubtModel:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(vectorizer.fit_transform(X), y)
    weights = dict(zip(vectorizer.get_feature_names_out(), clf.coef_[0].tolist()))
    return DoubtModel(weights, float(clf.intercept_[0]), T0, K, meta)


def _subset(X, y, terms, keep):
    idx = [i for i, t in enumerate(terms) if keep(t)]
    return [X[i] for i in idx], [y[i] for i in idx]


def _term_folds(terms: list[str], folds: int = FOLDS) -> list[set[str]]:
    order = np.random.RandomState(0).permutation(sorted(set(terms)))
    return [set(part) for part in np.array_split(order, folds)]


def claims_cv(X, y, terms, n_claims: int) -> dict:
    """Claims only: each fold's claims scored by a model trained without their terms (tuning sentences included)."""
    claims = terms[:n_claims]
    probability = [0.0] * n_claims
    for fold in _term_folds(claims):
        model = fit(*_subset(X, y, terms, lambda t: t not in fold))
        for i in range(n_claims):
            if claims[i] in fold:
                probability[i] = model.probability(X[i])
    false = [p for p, wrong in zip(probability, y[:n_claims]) if wrong]
    true = [p for p, wrong in zip(probability, y[:n_claims]) if not wrong]
    return {f"p>={t}": {"false_caught": round(float(np.mean([p >= t for p in false])), 4),
                        "true_flagged": round(float(np.mean([p >= t for p in true])), 4)} for t in THRESHOLDS}


def evaluate_doubt(retriever, *, write: bool = False) -> dict:
    """The term-held-out report; with `write`, the model trained on all the data is saved for the term mission."""
    mission = TermMission(retriever, doubt=None)
    tuning = tuning_rows("term_explanations")
    X, y, terms = training_data(mission, tuning)
    n_claims = len(read_rows("term_claims.jsonl"))
    out: dict = {"training": {"claims": n_claims, "true_sentences": len(X) - n_claims, "C": C, "t0": T0, "k": K},
                 "claims_cv": claims_cv(X, y, terms, n_claims)}
    scored = []
    for fold in _term_folds([r["term"] for r in tuning]):
        scorer = TermMission(retriever, doubt=fit(*_subset(X, y, terms, lambda t: t not in fold)))
        scored += [(row, scorer.score(row["term"], row["explanation"])) for row in tuning if row["term"] in fold]
    out["term_explanations_cv"] = summarize_terms(scored)
    for name in ("term_explanations_holdout", "term_explanations_holdout2", "term_explanations_holdout3"):
        rows = read_rows(f"{name}.jsonl")
        if rows:
            unseen = {r["term"] for r in rows}
            scorer = TermMission(retriever, doubt=fit(*_subset(X, y, terms, lambda t: t not in unseen)))
            out[f"{name}_new_terms"] = summarize_terms([(r, scorer.score(r["term"], r["explanation"])) for r in rows])
    if write:
        model = fit(X, y, meta={"trained": date.today().isoformat(), **out["training"]})
        model.save()
        out["written"] = len(model.weights)
    return out


def summary_lines(result: dict) -> list[str]:
    t = result["training"]
    lines = [f"trained on {t['claims']} claims + {t['true_sentences']} true explanation sentences (C {t['C']}, "
             f"points off from p {t['t0']} up to {t['k']:.0f})"]
    for threshold, r in result["claims_cv"].items():
        lines.append(f"claims, terms held out, {threshold}: false caught {r['false_caught']:.0%}, "
                     f"true flagged {r['true_flagged']:.0%}")
    for name, r in result.items():
        if isinstance(r, dict) and "ordered_triples" in r:
            m = r["mean_score"]
            lines.append(f"{name}: good {m['good']} / partial {m['partial']} / wrong {m['wrong']}; "
                         f"ordered {r['ordered_triples']:.0%} of {r['triples']} triples")
    if "written" in result:
        lines.append(f"wrote rag/missions/doubt_model.json ({result['written']} weights)")
    return lines
