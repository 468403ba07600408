"""Reason codes: on a hand-made logistic case they add up to the loan's log-odds against the
mean loan's, and name the feature that moved it, with the right direction."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml.explain import score_and_explain, top_contributions, top_features, transformed_means


def contributions(pipeline, frame, metadata):
    return score_and_explain(pipeline, frame, metadata)[1]


def _data(n: int = 2_000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "dti": rng.normal(20, 8, n),
            "annual_inc": rng.normal(60_000, 15_000, n),
            "grade": rng.choice(["A", "B", "C"], n),
        }
    )
    frame.loc[::50, "dti"] = np.nan  # a missing-value indicator column too
    log_odds = 0.08 * (frame.dti.fillna(20) - 20) - 0.00004 * (frame.annual_inc - 60_000)
    log_odds += frame.grade.map({"A": -0.8, "B": 0.0, "C": 0.8}) - 1.2
    labels = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return frame, labels


def _logistic() -> Pipeline:
    prepare = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()),
                ["dti", "annual_inc"],
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["grade"]),
        ]
    )
    return Pipeline([("prepare", prepare), ("model", LogisticRegression())])


def test_logistic_contributions_add_up_to_the_log_odds_against_the_mean_loan():
    frame, labels = _data()
    pipeline = _logistic().fit(frame, labels)
    means = transformed_means(pipeline, frame)
    raw, (values, features) = score_and_explain(pipeline, frame, {"transformed_means": means})
    np.testing.assert_allclose(raw, pipeline.predict_proba(frame)[:, 1])
    assert features == ["dti", "annual_inc", "grade"]  # the indicator counts as dti's
    model = pipeline[-1]
    at_mean = model.intercept_[0] + np.dot(model.coef_[0], means)
    np.testing.assert_allclose(values.sum(axis=1), pipeline.decision_function(frame) - at_mean)
    # Over the training loans each feature's contributions average to 0 (deviation from
    # the training mean).
    np.testing.assert_allclose(values.mean(axis=0), 0, atol=1e-9)


def test_the_feature_that_moved_the_pd_is_named_with_its_direction():
    frame, labels = _data()
    pipeline = _logistic().fit(frame, labels)
    metadata = {"transformed_means": transformed_means(pipeline, frame)}
    typical = pd.DataFrame({"dti": [20.0], "annual_inc": [60_000.0], "grade": ["B"]})
    stretched = typical.assign(dti=60.0)  # five standard deviations of leverage
    rich = typical.assign(annual_inc=160_000.0)
    codes = [
        top_features(*contributions(pipeline, loan, metadata))[0] for loan in (stretched, rich)
    ]
    assert codes[0].split(";")[0] == "dti:raises"
    assert codes[1].split(";")[0] == "annual_inc:lowers"
    assert len(codes[0].split(";")) == 3


def test_other_models_explain_by_setting_each_feature_to_its_reference():
    frame, labels = _data()
    x = frame.assign(grade=frame.grade.map({"A": 0, "B": 1, "C": 2}))
    trees = Pipeline([("model", HistGradientBoostingClassifier(random_state=0))]).fit(x, labels)
    reference = {"dti": 20.0, "annual_inc": 60_000.0, "grade": 1}
    loan = pd.DataFrame({"dti": [20.0], "annual_inc": [60_000.0], "grade": [2]})
    values, features = contributions(trees, loan, {"reference": reference})
    # Only the grade differs from the reference: only it contributes, by exactly the PD
    # change from grade B to C.
    expected = trees.predict_proba(loan)[0, 1] - trees.predict_proba(loan.assign(grade=1))[0, 1]
    assert values[0].tolist() == pytest.approx([0.0, 0.0, expected])
    assert expected != 0
    assert top_features(values, features) == [f"grade:{'raises' if expected > 0 else 'lowers'}"]
    assert contributions(trees, loan, {}) is None


def test_top_features_match_the_per_loan_ranking_however_many_are_asked_for():
    rng = np.random.default_rng(8)
    names = [f"f{i}" for i in range(100)]
    values = np.round(rng.normal(size=(300, 100)), 1)  # ties and zeros
    values[::4] = 0
    for top in (1, 3, 10):  # 10 of 100: the packed code would overflow 64 bits
        expected = [
            ";".join(
                f"{n}:{'raises' if x > 0 else 'lowers'}"
                for n, x in top_contributions(r, names, top)
            )
            for r in values
        ]
        assert top_features(values, names, top) == expected
