"""The false-claim model: its features, its exported weights, how it turns a probability into points."""

import numpy as np

from rag.missions.doubt import DoubtModel, Fact, TermFacts, features

IDF = lambda word: 1.0  # noqa: E731 - every word weighs the same here
FACTS = TermFacts(title="우량체", facts=[Fact("우량체는 표준체보다 사망 위험이 낮게 평가되어 보험료가 할인된다.", 1),
                                      Fact("흡연 여부, 혈압, 체질량지수 같은 기준으로 판정한다.", 1)],
                  myths=[("우량체 할인은 가입 후 언제든 받을 수 있다.", "가입할 때 판정받아야 하고 조건은 회사마다 다르다.")],
                  document="우량체는 표준체보다 사망 위험이 낮게 평가되어 보험료가 할인된다. 흡연 여부, 혈압, 체질량지수 "
                           "같은 기준으로 판정한다.")


def test_a_reversed_sentence_is_compared_with_the_definition_sentence_it_is_about():
    f, at = features(FACTS, "우량체는 표준체보다 사망 위험이 높게 평가되는 분이라 보험료가 비싸요.", IDF)
    assert at == 0 and f["align"] > 0.5
    assert f["c:높다"] == 1.0 and f["s:낮다"] == 1.0 and "c:표준체" not in f  # only what the two sides do not share
    assert any(k.startswith("f:") and k.endswith("/EF") for k in f)  # how it ends: asserts, hedges, denies
    f, at = features(FACTS, "혈압이나 흡연 여부 같은 기준으로 판정해요.", IDF)
    assert at == 1 and f["novel"] == 0.0
    f, _ = features(FACTS, "우량체는 주식 투자 수익률로 판정해요.", IDF)
    assert f["novel"] > 0.5  # words the document never uses


def test_weights_exported_from_sklearn_give_the_same_probabilities(tmp_path):
    from eval.doubt import C, fit
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(1)
    X = [{"novel": float(rng.rand()), f"c:{rng.randint(5)}": 1.0} for _ in range(200)]
    y = [x["novel"] > 0.5 for x in X]
    model = fit(X, y)
    vectorizer = DictVectorizer()
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(vectorizer.fit_transform(X), y)
    expected = clf.predict_proba(vectorizer.transform(X))[:, 1]
    assert np.allclose([model.probability(x) for x in X], expected, atol=1e-6)
    model.save(tmp_path / "m.json")
    loaded = DoubtModel.load(tmp_path / "m.json")
    assert np.allclose([loaded.probability(x) for x in X], expected, atol=1e-3)  # weights are stored rounded
    assert DoubtModel.load(tmp_path / "missing.json") is None


def test_points_off_grow_from_t0_to_k():
    model = DoubtModel({}, 0.0, t0=0.3, k=15.0)
    assert model.points_off(0.1) == 0.0 and model.points_off(0.3) == 0.0
    assert abs(model.points_off(1.0) - 15.0) < 1e-9 and abs(model.points_off(0.65) - 7.5) < 1e-9


def test_a_sentence_that_says_too_little_is_not_judged():
    model = DoubtModel({"novel": 50.0, "neg": 50.0}, 0.0)
    doubts = model.doubts(FACTS, "둘은 달라요. 우량체는 주식 투자 수익률로 판정해요.", IDF)
    assert [d.sentence for d in doubts] == ["우량체는 주식 투자 수익률로 판정해요."]
    assert doubts[0].probability > 0.99 and doubts[0].n == 1 and doubts[0].fact in [f.text for f in FACTS.facts]
