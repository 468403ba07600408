"""The candidate PD models, each one scikit-learn pipeline from raw feature columns to a PD.

Imputation, scaling and encoding live inside the pipeline, fitted on training rows only, so
the saved artifact scores a raw `ml_features` row with nothing else to reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ml.features import (
    BASELINE_FEATURES,
    BEHAVIOUR_FEATURES,
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    PROXY_FEATURES,
    kept,
)


@dataclass(frozen=True)
class Candidate:
    name: str
    model_type: str
    features: tuple[str, ...]
    pipeline: Pipeline


def _numeric() -> Pipeline:
    return make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())


def _categorical_one_hot() -> OneHotEncoder:
    # Missing categories arrive as the string 'missing' (features.model_frame).
    return OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20)


def candidates(seed: int, excluded: tuple[str, ...] = PROXY_FEATURES) -> list[Candidate]:
    """The candidates, simplest first (the champion rule prefers the earlier of two close
    ones), none of them seeing the `excluded` features."""
    baseline_features = kept(BASELINE_FEATURES, excluded)
    numeric, categorical = kept(NUMERIC_FEATURES, excluded), kept(CATEGORICAL_FEATURES, excluded)
    rich_features = (*numeric, *categorical)
    baseline = Pipeline(
        [
            ("prepare", ColumnTransformer([("numeric", _numeric(), list(baseline_features))])),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    )
    rich_logistic = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numeric", _numeric(), list(numeric)),
                        ("categorical", _categorical_one_hot(), list(categorical)),
                    ]
                ),
            ),
            ("model", LogisticRegression(max_iter=2000, C=0.5)),
        ]
    )
    # Trees need no scaling or imputation; categories become ordinal codes it splits on natively.
    boosted = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numeric", "passthrough", list(numeric)),
                        (
                            "categorical",
                            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                            list(categorical),
                        ),
                    ]
                ),
            ),
            (
                "model",
                HistGradientBoostingClassifier(
                    learning_rate=0.08,
                    max_iter=300,
                    max_leaf_nodes=31,
                    l2_regularization=1.0,
                    early_stopping=True,
                    validation_fraction=0.1,
                    n_iter_no_change=20,
                    categorical_features=list(range(len(numeric), len(rich_features))),
                    random_state=seed,
                ),
            ),
        ]
    )
    return [
        Candidate("baseline_logistic", "LogisticRegression", baseline_features, baseline),
        Candidate("rich_logistic", "LogisticRegression", rich_features, rich_logistic),
        Candidate("gradient_boosting", "HistGradientBoostingClassifier", rich_features, boosted),
    ]


def behaviour_candidates(seed: int) -> list[Candidate]:
    """The behavioural score's candidates, simplest first: a logistic regression on the
    standardised history features (missing values imputed, with indicators), and boosted
    trees, which can learn that a late month matters more early in a loan's life."""
    features = BEHAVIOUR_FEATURES
    logistic = Pipeline(
        [
            ("prepare", ColumnTransformer([("numeric", _numeric(), list(features))])),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    )
    boosted = Pipeline(
        [
            ("prepare", ColumnTransformer([("numeric", "passthrough", list(features))])),
            (
                "model",
                HistGradientBoostingClassifier(
                    learning_rate=0.08,
                    max_iter=200,
                    max_leaf_nodes=15,
                    l2_regularization=1.0,
                    early_stopping=True,
                    validation_fraction=0.1,
                    n_iter_no_change=20,
                    random_state=seed,
                ),
            ),
        ]
    )
    return [
        Candidate("behaviour_logistic", "LogisticRegression", features, logistic),
        Candidate("behaviour_boosting", "HistGradientBoostingClassifier", features, boosted),
    ]
