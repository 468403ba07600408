"""`python -m ml backtest-scores`: out-of-time PDs, so the watchlist's backtest never sees the
future.

A model trained today has learnt from every outcome up to today; its PDs on the months of
2016 would let the backtest's model trigger know how 2017 ended. Instead, at each cutoff (the
December of each year, from the first with enough resolved loans of both outcomes) one model
of a candidate family (ml/candidates.py; `rich_logistic` by default) is fitted only on loans
whose outcome was known by the cutoff's end - defaulted at or before it (first_default_date)
or paid off at or before it (the last payment) - and scores every loan still open then and
every loan issued up to the next cutoff (the last cutoff: every loan issued after it). As the
champion is, each is calibrated (Platt scaling, ml/calibration.py): fitted on the known loans
issued before the latest fifth of them, scaled on that fifth, so its PDs are probabilities on
the scale `watchlist_pd_min` is read on (the latest fifth of the loans resolved by a cutoff
leans to early defaults and early prepayments, as the whole fit does). dbt's
watchlist_history gives each as-of month the PD of the latest cutoff before it.

The guarantee: no PD in ml.point_in_time_scores comes from a model that saw an outcome later
than its cutoff; the table is rewritten whole, in one transaction, at each run. The known
bias: loans resolved by a cutoff over-represent early defaults and early prepayments, so
early cutoffs' models are weaker than the champion - which is what an analyst at the time
would have had.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from ingest.warehouse.session import WarehouseSession
from ml.calibration import Calibration, fit_platt
from ml.candidates import candidates
from ml.errors import NotEnoughData
from ml.features import ISSUE_DATE, KEY, LABEL, PROXY_FEATURES, check_no_leakage, model_frame
from ml.time_split import default_cut

POINT_IN_TIME_SCORES = "ml.point_in_time_scores"
DDL = f"""create table if not exists {POINT_IN_TIME_SCORES} (
    cutoff_month date not null,
    loan_id bigint not null,
    pd double precision not null,
    candidate text not null,
    train_rows integer not null,
    scored_at timestamp not null,
    primary key (cutoff_month, loan_id)
)"""
LOANS_QUERY = """
select features.*, loans.first_default_date, loans.last_pymnt_date, loans.as_of_date
from marts.ml_features as features
inner join marts.fct_loans as loans on features.loan_id = loans.loan_id
"""
MIN_RESOLVED = 100  # loans resolved by a cutoff, with both outcomes, to fit its model


@dataclass(frozen=True)
class BacktestScoresReport:
    candidate: str
    cutoffs: list[date]
    rows: int


def _month_start(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def resolution_months(loans: pd.DataFrame) -> pd.Series:
    """The month each loan's outcome became known: its default month, or the month of its
    last payment (else its latest snapshot) for a paid-off loan; NaT while unresolved."""
    defaulted = loans[LABEL].eq(True)
    paid_off = loans[LABEL].eq(False)
    paid_month = _month_start(loans["last_pymnt_date"]).fillna(_month_start(loans["as_of_date"]))
    months = pd.Series(pd.NaT, index=loans.index, dtype="datetime64[ns]")
    months[defaulted] = _month_start(loans.loc[defaulted, "first_default_date"])
    months[paid_off] = paid_month[paid_off]
    return months


def cutoff_months(issued: pd.Series, resolved: pd.Series, labels: pd.Series) -> list[pd.Timestamp]:
    """Each December from the first whose resolved loans (at least MIN_RESOLVED, both
    outcomes) can fit a model, up to the last December before the book's latest month."""
    latest = max(issued.max(), resolved.max())
    if pd.isna(latest):
        return []
    cutoffs = []
    for year in range(issued.min().year, latest.year + 1):
        cutoff = pd.Timestamp(year=year, month=12, day=1)
        if cutoff >= latest:
            break
        known = resolved <= cutoff
        if known.sum() >= MIN_RESOLVED and labels[known].nunique() == 2:
            cutoffs.append(cutoff)
    return cutoffs


def fit_calibrated(
    pipeline, features: pd.DataFrame, labels: np.ndarray, issued: pd.Series
) -> tuple[Calibration, int]:
    """Fit `pipeline` on the loans issued before the latest fifth of them and Platt-scale it
    on that fifth; when either part lacks an outcome, fit on all of them, uncalibrated.
    Returns the calibration and the loans fitted on."""
    cut = pd.Timestamp(default_cut(issued))
    later = (issued >= cut).to_numpy()
    if later.all() or len(set(labels[later])) < 2 or len(set(labels[~later])) < 2:
        pipeline.fit(features, labels)
        return Calibration(), len(labels)
    pipeline.fit(features[~later], labels[~later])
    scaling = fit_platt(pipeline.predict_proba(features[later])[:, 1], labels[later])
    return scaling, int((~later).sum())


def point_in_time_scores(
    loans: pd.DataFrame, candidate_name: str = "rich_logistic", seed: int = 42,
    progress: Callable[[str], None] = print, excluded_features: tuple[str, ...] = PROXY_FEATURES,
) -> pd.DataFrame:  # fmt: skip
    """Pure: the out-of-time PDs of `loans` (ml_features' columns plus first_default_date,
    last_pymnt_date, as_of_date), one row per cutoff and loan scored."""
    by_name = {candidate.name: candidate for candidate in candidates(seed, excluded_features)}
    if candidate_name not in by_name:
        raise ValueError(f"no candidate {candidate_name!r}: one of {', '.join(by_name)}")
    candidate = by_name[candidate_name]
    check_no_leakage(candidate.features)
    issued = _month_start(loans[ISSUE_DATE])
    resolved = resolution_months(loans)
    labels = loans[LABEL]
    cutoffs = cutoff_months(issued, resolved, labels)
    if not cutoffs:
        raise NotEnoughData(
            f"no December by which {MIN_RESOLVED} loans of both outcomes were resolved: "
            "nothing to fit an out-of-time model on"
        )
    features = model_frame(loans)[list(candidate.features)]
    frames = []
    for position, cutoff in enumerate(cutoffs):
        known = (resolved <= cutoff).to_numpy()
        next_cutoff = cutoffs[position + 1] if position + 1 < len(cutoffs) else None
        open_then = (issued <= cutoff) & ~(resolved <= cutoff)
        issued_before_next = (issued > cutoff) & (
            issued.notna() if next_cutoff is None else issued <= next_cutoff
        )
        to_score = (open_then | issued_before_next).to_numpy()
        y = labels[known].astype(bool).to_numpy().astype(int)
        calibration, fitted = fit_calibrated(candidate.pipeline, features[known], y, issued[known])
        pd_values = calibration.apply(candidate.pipeline.predict_proba(features[to_score])[:, 1])
        frames.append(
            pd.DataFrame(
                {
                    "cutoff_month": cutoff.date(),
                    KEY: loans.loc[to_score, KEY].astype("int64").to_numpy(),
                    "pd": pd_values.astype(float),
                    "candidate": candidate.name,
                    "train_rows": fitted,
                }
            )
        )
        progress(
            f"  cutoff {cutoff:%Y-%m}: {int(known.sum()):,} resolved loans ({int(y.sum()):,} "
            f"defaults), fitted on {fitted:,}, {calibration.method} scaling on the rest; "
            f"scored {int(to_score.sum()):,}"
        )
    return pd.concat(frames, ignore_index=True)


def backtest_scores(
    store: WarehouseSession, candidate_name: str = "rich_logistic", seed: int = 42,
    progress: Callable[[str], None] = print, excluded_features: tuple[str, ...] = PROXY_FEATURES,
) -> BacktestScoresReport:  # fmt: skip
    loans = store.frame(LOANS_QUERY)
    scores = point_in_time_scores(loans, candidate_name, seed, progress, excluded_features)
    scores["scored_at"] = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction():
        store.execute("create schema if not exists ml")
        store.execute(DDL)
        store.execute(f"delete from {POINT_IN_TIME_SCORES}")
        store.append(POINT_IN_TIME_SCORES, scores)
    return BacktestScoresReport(candidate_name, sorted(set(scores["cutoff_month"])), len(scores))
