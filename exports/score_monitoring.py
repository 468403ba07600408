"""Is the champion's score still the one it was validated as? Two tables, rewritten whole by
each `python -m exports drift` (the latest report's; each row is a month or quarter already):

- `monitoring.score_stability`: per issue month, the PSI of the champion's risk deciles
  against those of its training cohort. The deciles are the edges fixed at training
  (ml/training.py), so the reference is about a tenth per decile and a later month's PSI says
  how far its score distribution moved (0.1 a shift, 0.25 a major one). The training months
  themselves sit near 0: a check on the figure. A month of fewer than MIN_PSI_LOANS loans
  gets no PSI (`too_few_loans`): with a handful of loans most deciles are empty, and the PSI
  of an empty bin is noise (the first demo months read 10 and more from 3 loans).
- `monitoring.model_performance`: per issue quarter, on its loans whose outcome under the
  champion's own target is known (ml_features' `is_default`, `is_default_12m` or
  `is_default_24m`), the champion's AUC, KS, mean PD and observed default rate: whether it
  still ranks and is still calibrated on each cohort as its loans resolve. Quarters that
  overlap the training or validation windows are marked in-sample: they fitted or chose the
  model.

Pure functions over one frame of the champion's predictions (loan, issue date, PD, risk
decile, outcome); the drift job reads it and writes the tables.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.features import LABEL, TARGETS
from ml.metrics import ks_statistic
from ml.registry import LOAN_PREDICTIONS

SCORE_STABILITY = "monitoring.score_stability"
MODEL_PERFORMANCE = "monitoring.model_performance"
SHIFT_PSI, MAJOR_SHIFT_PSI = 0.1, 0.25
MIN_PSI_LOANS = 100  # ten a decile on average
DDL = (
    "create schema if not exists monitoring",
    f"""create table if not exists {SCORE_STABILITY} (
        report_date date not null,
        run_id text not null,
        issue_month date not null,
        loans integer not null,
        mean_pd double precision not null,
        psi double precision,
        stability text not null,
        is_training_month boolean not null,
        primary key (report_date, issue_month)
    )""",
    f"""create table if not exists {MODEL_PERFORMANCE} (
        report_date date not null,
        run_id text not null,
        issue_quarter date not null,
        resolved_loans integer not null,
        defaults integer not null,
        auc double precision,
        ks double precision,
        mean_pd double precision not null,
        default_rate double precision not null,
        is_in_sample boolean not null,
        primary key (report_date, issue_quarter)
    )""",
)
PREDICTIONS_QUERY = f"""
select features.issue_date, predictions.pd, predictions.risk_decile,
    features.{{target}} as is_default
from {LOAN_PREDICTIONS} as predictions
inner join marts.ml_features as features on predictions.loan_id = features.loan_id
where predictions.run_id = ?
"""


def _psi(expected: pd.Series, actual: pd.Series) -> float:
    shares = pd.concat([expected, actual], axis=1).fillna(0).clip(lower=1e-6)
    e, a = shares.iloc[:, 0].to_numpy(), shares.iloc[:, 1].to_numpy()
    return float(np.sum((a - e) * np.log(a / e)))


def stability_label(psi: float) -> str:
    if psi >= MAJOR_SHIFT_PSI:
        return "major_shift"
    return "shift" if psi >= SHIFT_PSI else "stable"


def score_stability(predictions: pd.DataFrame, train_from: date, train_to: date) -> pd.DataFrame:
    """One row per issue month: loans, mean PD, and the PSI of its risk deciles against the
    training cohort's (none below MIN_PSI_LOANS loans)."""
    issued = pd.to_datetime(predictions["issue_date"])
    in_training = issued.between(pd.Timestamp(train_from), pd.Timestamp(train_to))
    if not in_training.any():
        return pd.DataFrame(columns=["issue_month", "loans", "mean_pd", "psi", "stability"])
    reference = predictions.loc[in_training, "risk_decile"].value_counts(normalize=True)
    months = issued.dt.to_period("M").dt.to_timestamp()
    rows = []
    for month, group in predictions.groupby(months, sort=True):
        enough = len(group) >= MIN_PSI_LOANS
        psi = _psi(reference, group["risk_decile"].value_counts(normalize=True)) if enough else None
        rows.append({
            "issue_month": month.date(), "loans": len(group), "mean_pd": float(group["pd"].mean()),
            "psi": psi, "stability": stability_label(psi) if enough else "too_few_loans",
            "is_training_month": bool(
                pd.Timestamp(train_from).replace(day=1) <= month <= pd.Timestamp(train_to)
            ),
        })  # fmt: skip
    return pd.DataFrame(rows)


def predictions_query(target: str | None) -> str:
    """The champion's predictions with the outcome under its target (older runs recorded
    none: theirs is is_default)."""
    target = target or LABEL
    if target not in TARGETS:
        raise ValueError(f"the champion's target {target!r} is not one of {', '.join(TARGETS)}")
    return PREDICTIONS_QUERY.format(target=target)


def cohort_performance(
    predictions: pd.DataFrame, in_sample_from: date, in_sample_to: date
) -> pd.DataFrame:
    """One row per issue quarter with resolved loans: their count, defaults, AUC and KS (null
    with a single outcome), mean PD and default rate, and whether the quarter overlaps the
    in-sample window (training and validation)."""
    resolved = predictions[predictions["is_default"].notna()]
    issued = pd.to_datetime(resolved["issue_date"])
    quarters = issued.dt.to_period("Q").dt.to_timestamp()
    rows = []
    for quarter, group in resolved.groupby(quarters, sort=True):
        labels = group["is_default"].astype(bool).to_numpy().astype(int)
        scores = group["pd"].to_numpy(dtype=float)
        both = 0 < labels.sum() < len(labels)
        rows.append({
            "issue_quarter": quarter.date(), "resolved_loans": len(group),
            "defaults": int(labels.sum()),
            "auc": float(roc_auc_score(labels, scores)) if both else None,
            "ks": ks_statistic(labels, scores) if both else None,
            "mean_pd": float(scores.mean()), "default_rate": float(labels.mean()),
            "is_in_sample": bool(
                quarter <= pd.Timestamp(in_sample_to)
                and quarter + pd.offsets.QuarterEnd(0) >= pd.Timestamp(in_sample_from)
            ),
        })  # fmt: skip
    return pd.DataFrame(rows)
