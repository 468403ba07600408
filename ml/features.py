"""Which columns a PD model may see: origination-time fields only.

A loan's status, payments and post-issue dates describe its outcome; a model that sees any of
them scores well in testing and is useless at origination. The lists live here so training,
scoring and the leakage test read the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ingest.events import PERFORMANCE_FIELDS

KEY = "loan_id"
# The model families (ml.model_runs.model_family): the origination PD, scored once per loan
# from its application, and the behavioural score (ml/behaviour.py), per open loan-month.
ORIGINATION, BEHAVIOUR = "origination", "behaviour"
LABEL = "is_default"
# The labels a model can be trained on (`ml train --target`), and what each one measures.
TARGETS = {
    "is_default": "default among resolved loans (charged off or defaulted, against fully paid): "
    "a lifetime PD for a loan like those resolved; recent cohorts count their early defaults "
    "and early prepayments only",
    "is_default_12m": "default (120+ days past due or charged off) within 12 months of issue, on "
    "the cohorts observed that long: a 12-month PD",
    "is_default_24m": "default (120+ days past due or charged off) within 24 months of issue, on "
    "the cohorts observed that long: a 24-month PD",
}
ISSUE_DATE = "issue_date"

# The original analysis' logistic regression.
BASELINE_FEATURES = (
    "loan_amnt", "int_rate", "dti", "revol_util", "credit_history_years", "delinq_2yrs",
    "inq_last_6mths",
)  # fmt: skip
NUMERIC_FEATURES = (
    *BASELINE_FEATURES, "term_months", "installment", "emp_length_years", "annual_inc",
    "revol_bal", "fico_range_low", "fico_range_high", "open_acc", "pub_rec", "total_acc",
    "mort_acc", "pub_rec_bankruptcies",
)  # fmt: skip
CATEGORICAL_FEATURES = (
    "grade", "sub_grade", "home_ownership", "verification_status", "purpose", "addr_state",
    "application_type",
)  # fmt: skip
RICH_FEATURES = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES)
# Likely proxies for protected characteristics, left out of the models by default
# (Settings.ml_excluded_features, ML_EXCLUDED_FEATURES): the borrower's state stands in for
# race and ethnicity in US fair-lending reviews (ECOA / Regulation B disparate impact).
PROXY_FEATURES = ("addr_state",)

# The behavioural score (ml/behaviour.py) reads a loan-month of marts.ml_behaviour_features:
# what its payment history showed by that month-end (the mart's windows end at the row's
# month), its rate, and the origination PD of the model in use then (a backtest cutoff's).
BEHAVIOUR_FEATURES = (
    "months_on_book", "dpd_level", "worst_dpd_level_6m", "worst_dpd_level_12m",
    "months_30_plus_6m", "months_30_plus_12m", "shortfall_share_3m", "share_repaid",
    "int_rate", "origination_pd",
)  # fmt: skip
# Its labels, by horizon in months: charged off within the next 6 or 12 months.
BEHAVIOUR_TARGETS = {"is_charged_off_6m": 6, "is_charged_off_12m": 12}


def target_text(target: str) -> str:
    """What a label measures, for either family (model cards, the README's table)."""
    if target in BEHAVIOUR_TARGETS:
        return (
            f"charged off within the {BEHAVIOUR_TARGETS[target]} months after a month-end the "
            "loan was open at, on the months whose window the book has seen whole"
        )
    return TARGETS.get(target, "unknown")


MONTH = "month_date"

# Everything known only after issue: the export's performance fields and what the warehouse
# derives from them (status, outcome, dates and amounts after issue, earlier predictions and
# the stream scorer's live decisions).
LEAKAGE_COLUMNS = frozenset(PERFORMANCE_FIELDS) | {
    "outcome", "is_default", "is_default_12m", "is_default_24m", "is_resolved", "loan_status", "loan_status_raw", "as_of_date",
    "months_on_book", "first_default_date", "months_to_default", "last_pymnt_date",
    "meets_credit_policy", "pd", "risk_decile", "model_run_id", "is_model_watchlist",
    "live_event_id", "live_decided_at", "live_model_run_id", "live_pd", "live_risk_decile",
    "live_risk_tier", "live_reason_codes", "effective_pd", "effective_pd_source",
}  # fmt: skip


class UnknownFeatureError(ValueError):
    """ML_EXCLUDED_FEATURES names a column that is not a feature."""


def kept(features: Sequence[str], excluded: Iterable[str]) -> tuple[str, ...]:
    """`features` without `excluded`, whose every name must be a feature."""
    excluded = tuple(excluded)
    unknown = sorted(set(excluded) - set(RICH_FEATURES))
    if unknown:
        raise UnknownFeatureError(
            f"ML_EXCLUDED_FEATURES names {', '.join(unknown)}, not among the features: "
            f"{', '.join(RICH_FEATURES)}"
        )
    return tuple(name for name in features if name not in excluded)


class LeakageError(ValueError):
    """A post-origination column was about to become a model feature."""


def check_no_leakage(features: Iterable[str]) -> None:
    leaked = sorted(set(features) & LEAKAGE_COLUMNS)
    if leaked:
        raise LeakageError(f"outcome or payment columns among the features: {', '.join(leaked)}")


def check_behaviour_features(features: Iterable[str]) -> None:
    """The behavioural score sees only the mart's point-in-time columns, never a label."""
    unknown = sorted(set(features) - set(BEHAVIOUR_FEATURES))
    if unknown:
        raise LeakageError(f"not point-in-time behaviour features: {', '.join(unknown)}")


def behaviour_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The behaviour features as floats (None -> NaN), from either warehouse's frame."""
    columns = {
        name: pd.to_numeric(rows[name], errors="coerce").astype(float)
        for name in BEHAVIOUR_FEATURES
    }
    return pd.DataFrame(columns, index=rows.index)


def check_features(features: Iterable[str], family: str) -> None:
    """The family's own rule: origination models see no outcome or payment column, the
    behavioural score only its point-in-time columns."""
    (check_behaviour_features if family == BEHAVIOUR else check_no_leakage)(features)


def frame_for(family: str, rows: pd.DataFrame) -> pd.DataFrame:
    return behaviour_frame(rows) if family == BEHAVIOUR else model_frame(rows)


def model_frame_from_records(records: list[dict], features: Sequence[str]) -> pd.DataFrame:
    """`model_frame(pd.DataFrame(records))[features]` for cleaned records (dicts of plain
    values), built as one array per column: a tenth of the time on the few rows a request
    or a checkpoint brings, where pandas' per-column conversions dominate."""
    columns = {}
    for name in features:
        values = [record.get(name) for record in records]
        if name in CATEGORICAL_FEATURES:
            columns[name] = np.array(
                ["missing" if v is None else str(v) for v in values], dtype=object
            )
        else:
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
    return pd.DataFrame(columns, columns=list(features))


def model_frame(loans: pd.DataFrame) -> pd.DataFrame:
    """The feature columns as the pipelines expect them, from either warehouse's frame.

    Numbers become floats (None -> NaN); categories become strings with an explicit
    'missing' (scikit-learn's imputers do not see None in object columns as missing).
    """
    frame = pd.DataFrame(index=loans.index)
    for column in NUMERIC_FEATURES:
        frame[column] = pd.to_numeric(loans[column], errors="coerce").astype(float)
    for column in CATEGORICAL_FEATURES:
        frame[column] = loans[column].astype(object).where(loans[column].notna(), "missing")
        frame[column] = frame[column].astype(str)
    return frame
