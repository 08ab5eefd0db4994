"""Prohibited sales statements in new wordings: a sentence classifier trained on written examples.

The patterns in compliance.yaml are precise but only know the wordings they list. This classifier learns each
prohibited code from `compliance_examples.yaml` (violations, and compliant sentences on the same topic, written by us)
plus the partner's lines of the indexed model scripts (compliant by design), and flags a sentence only when it is very
sure. Character 1-3-gram TF-IDF and a multinomial logistic regression (scikit-learn): sentence vectors from USE were
tried as extra features and raised false alarms on the model scripts (eval/results/BASELINE.md).
"""

import hashlib
from pathlib import Path

import yaml

EXAMPLES_FILE = Path(__file__).with_name("compliance_examples.yaml")
OK = "ok"


def load_examples(path: Path = EXAMPLES_FILE) -> list[tuple[str, str]]:
    """(sentence, label) pairs: a code's `violation` sentences carry the code, its `allowed` sentences `ok`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for code, lists in data.items():
        pairs += [(s.strip(), code) for s in lists.get("violation", [])]
        pairs += [(s.strip(), OK) for s in lists.get("allowed", [])]
    return pairs


class StatementClassifier:
    """`predict` gives each sentence's probability of each prohibited code."""

    def __init__(self, pairs: list[tuple[str, str]], *, c: float = 256.0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
                                   LogisticRegression(C=c, max_iter=5000, class_weight="balanced"))
        self.model.fit([t for t, _ in pairs], [label for _, label in pairs])
        self.codes = [code for code in self.model.classes_ if code != OK]

    def predict(self, sentences: list[str]) -> list[dict[str, float]]:
        if not sentences:
            return []
        classes = list(self.model.classes_)
        return [{code: float(row[classes.index(code)]) for code in self.codes}
                for row in self.model.predict_proba(sentences)]


_CACHE: dict[str, StatementClassifier] = {}


def get_classifier(compliant: list[str], path: Path = EXAMPLES_FILE) -> StatementClassifier | None:
    """Trained on first use for this examples file and these compliant sentences (~1 s); None without examples."""
    if not path.exists():
        return None
    digest = hashlib.sha256(path.read_bytes() + "\n".join(compliant).encode()).hexdigest()
    if digest not in _CACHE:
        _CACHE.clear()  # one corpus at a time: an ingest that changes the model scripts retrains
        _CACHE[digest] = StatementClassifier(load_examples(path) + [(s, OK) for s in compliant])
    return _CACHE[digest]
