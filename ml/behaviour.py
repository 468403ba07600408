"""`python -m ml train-behaviour`: the behavioural early-warning score, a second model family
scored every month on the open loans from their payment history.

Its rows are marts.ml_behaviour_features (one per open loan-month: days past due now and at
worst over 6 and 12 months, months 30+, payment shortfall, share of principal repaid, months
on book, rate) plus the origination PD that was in use at that month-end: the out-of-time PD
of the latest backtest cutoff before the month (ml.point_in_time_scores, ml/backtest_scores.py;
null before the first). The label is a charge-off within the next 6 months (`--target
is_charged_off_12m` for 12), null until known.

Training is the origination model's (ml/training.py, `fit_and_register`): candidates fitted on
the earliest months, chosen and Platt-calibrated on the next, reported on the latest, in the
same registry (`model_family` 'behaviour'), calibration tables and model cards. The split is
by the row's month; a training row's label window may reach into the validation months (a gap
of the horizon between the sets would cost 6 of the demo's 15 labelled months), which the
test figures, on later months, do not flatter. The champion then scores every loan open in
the book's latest month (ml.behaviour_predictions, with reason codes), which the watchlist's
model trigger reads.

Point in time, for the backtest: at each quarter-end from the first with enough labelled rows,
the champion's family is fitted only on rows whose label window had closed by then (month +
horizon <= cutoff: every outcome it learns from is in the past) and scores the months up to
the next quarter-end (ml.behaviour_point_in_time_scores, rewritten whole). Quarters, not the
origination backtest's Decembers: a few years of history hold few Decembers, and a
month-end's rows come at once, not a cohort a year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from ingest.warehouse.session import WarehouseSession
from ml import artifacts
from ml.backtest_scores import POINT_IN_TIME_SCORES, fit_calibrated
from ml.candidates import behaviour_candidates
from ml.errors import NotEnoughData
from ml.features import (
    BEHAVIOUR,
    BEHAVIOUR_TARGETS,
    KEY,
    MONTH,
    behaviour_frame,
    check_behaviour_features,
)
from ml.registry import champion_or_none
from ml.scoring import predictions
from ml.training import Problem, TrainingReport, fit_and_register, split_labels

BEHAVIOUR_PREDICTIONS = "ml.behaviour_predictions"
BEHAVIOUR_SCORES = "ml.behaviour_point_in_time_scores"
DDL = (
    "create schema if not exists ml",
    f"""create table if not exists {BEHAVIOUR_PREDICTIONS} (
        loan_id bigint not null,
        month_date date not null,
        run_id text not null,
        target text not null,
        pd double precision not null,
        risk_decile integer not null,
        top_features text,
        scored_at timestamp not null,
        primary key (run_id, loan_id, month_date)
    )""",
    f"""create table if not exists {BEHAVIOUR_SCORES} (
        loan_id bigint not null,
        month_date date not null,
        cutoff_month date not null,
        pd double precision not null,
        candidate text not null,
        target text not null,
        train_rows integer not null,
        scored_at timestamp not null,
        primary key (loan_id, month_date)
    )""",
)
ROWS_QUERY = "select * from marts.ml_behaviour_features"
# The origination PD in use at each month-end: the latest backtest cutoff strictly before it.
ROWS_WITH_ORIGINATION_PD = f"""
with cutoffs as (
    select distinct cutoff_month from {POINT_IN_TIME_SCORES}
),
months as (
    select distinct month_date from marts.ml_behaviour_features
),
month_cutoffs as (
    select months.month_date, max(cutoffs.cutoff_month) as cutoff_month
    from months
    inner join cutoffs on cutoffs.cutoff_month < months.month_date
    group by months.month_date
)
select features.*, scores.pd as origination_pd
from marts.ml_behaviour_features as features
left join month_cutoffs on features.month_date = month_cutoffs.month_date
left join {POINT_IN_TIME_SCORES} as scores
    on scores.cutoff_month = month_cutoffs.cutoff_month and scores.loan_id = features.loan_id
"""
MIN_ROWS, MIN_BAD = 1_000, 20  # labelled rows, and charge-offs among them, to fit a cutoff


@dataclass(frozen=True)
class BehaviourReport:
    training: TrainingReport
    run_id: str
    scored_month: date
    scored_loans: int
    cutoffs: list[date]
    point_in_time_rows: int


def behaviour_rows(store: WarehouseSession) -> pd.DataFrame:
    """The mart's rows with `origination_pd` (null everywhere before the backtest PDs exist)."""
    if not store.columns("marts", "ml_behaviour_features"):
        raise NotEnoughData(
            "no marts.ml_behaviour_features: land the monthly payment history and run "
            "`dbt build` first"
        )
    if store.columns("ml", "point_in_time_scores"):
        rows = store.frame(ROWS_WITH_ORIGINATION_PD)
    else:
        rows = store.frame(ROWS_QUERY).assign(origination_pd=float("nan"))
    rows[MONTH] = pd.to_datetime(rows[MONTH])
    return rows.sort_values([MONTH, KEY], ignore_index=True)


def _add_months(month: pd.Timestamp, months: int) -> pd.Timestamp:
    return month + pd.DateOffset(months=months)


def quarter_cutoffs(rows: pd.DataFrame, target: str) -> list[pd.Timestamp]:
    """Each quarter-end month (Mar, Jun, Sep, Dec) before the latest month, from the first by
    which MIN_ROWS rows, MIN_BAD of them charged off, had their label window closed."""
    horizon = BEHAVIOUR_TARGETS[target]
    months, labels = rows[MONTH], rows[target]
    cutoffs = []
    for cutoff in pd.date_range(months.min(), months.max(), freq="MS"):
        if cutoff.month % 3 or cutoff >= months.max():
            continue
        known = (months <= _add_months(cutoff, -horizon)) & labels.notna()
        if known.sum() >= MIN_ROWS and labels[known].astype(bool).sum() >= MIN_BAD:
            cutoffs.append(cutoff)
    return cutoffs


def point_in_time_behaviour_scores(
    rows: pd.DataFrame, candidate_name: str, target: str, seed: int = 42,
    progress: Callable[[str], None] = print,
) -> pd.DataFrame:  # fmt: skip
    """Pure: per quarter-end cutoff, `candidate_name` fitted (and Platt-scaled on its latest
    fifth of months) on the rows whose `target` was known by the cutoff, scoring the rows
    of the months after it up to the next cutoff (the last: every later month)."""
    by_name = {candidate.name: candidate for candidate in behaviour_candidates(seed)}
    candidate = by_name[candidate_name]
    check_behaviour_features(candidate.features)
    horizon = BEHAVIOUR_TARGETS[target]
    cutoffs = quarter_cutoffs(rows, target)
    if not cutoffs:
        raise NotEnoughData(
            f"no quarter-end by which {MIN_ROWS:,} loan-months with {MIN_BAD} charge-offs "
            f"within {horizon} months were known: nothing to fit a point-in-time score on"
        )
    features = behaviour_frame(rows)[list(candidate.features)]
    months = rows[MONTH]
    frames = []
    for position, cutoff in enumerate(cutoffs):
        known = ((months <= _add_months(cutoff, -horizon)) & rows[target].notna()).to_numpy()
        later = months > cutoff
        if position + 1 < len(cutoffs):
            later &= months <= cutoffs[position + 1]
        to_score = later.to_numpy()
        labels = rows.loc[known, target].astype(bool).to_numpy().astype(int)
        calibration, fitted = fit_calibrated(
            candidate.pipeline, features[known], labels, months[known]
        )
        scored = calibration.apply(candidate.pipeline.predict_proba(features[to_score])[:, 1])
        frames.append(
            pd.DataFrame(
                {
                    KEY: rows.loc[to_score, KEY].astype("int64").to_numpy(),
                    MONTH: months[to_score].dt.date.to_numpy(),
                    "cutoff_month": cutoff.date(),
                    "pd": scored.astype(float),
                    "candidate": candidate.name,
                    "target": target,
                    "train_rows": fitted,
                }
            )
        )
        progress(
            f"  cutoff {cutoff:%Y-%m}: {int(known.sum()):,} loan-months known "
            f"({int(labels.sum()):,} charged off within {horizon} months), fitted on "
            f"{fitted:,}, {calibration.method} scaling on the rest; scored "
            f"{int(to_score.sum()):,} loan-months"
        )
    return pd.concat(frames, ignore_index=True)


def train_behaviour(
    store: WarehouseSession,
    model_dir: Path,
    target: str = "is_charged_off_6m",
    seed: int = 42,
    progress: Callable[[str], None] = print,
    cut: date | None = None,
    validation_cut: date | None = None,
) -> BehaviourReport:
    if target not in BEHAVIOUR_TARGETS:
        raise ValueError(f"no target {target!r}: one of {', '.join(BEHAVIOUR_TARGETS)}")
    rows = behaviour_rows(store)
    parts, split = split_labels(
        rows, target, "loan-months", "marts.ml_behaviour_features", cut, validation_cut,
        MONTH, progress,
    )  # fmt: skip
    ordered = behaviour_candidates(seed)
    for candidate in ordered:
        check_behaviour_features(candidate.features)
    problem = Problem(
        family=BEHAVIOUR, target=target, candidates=ordered, parts=parts, split=split,
        frame=behaviour_frame, segment="dpd_bucket",
    )  # fmt: skip
    report = fit_and_register(store, model_dir, problem, seed, progress, write_champion=False)
    champion = champion_or_none(store, BEHAVIOUR)
    assert champion is not None  # just registered
    pipeline, metadata = artifacts.load(Path(champion.artifact_path))
    latest = rows[MONTH].max()
    current = rows[rows[MONTH] == latest]
    scored = predictions(pipeline, metadata, current, champion.run_id).assign(
        month_date=latest.date(), target=target
    )
    progress(f"scored {len(scored):,} loans open in {latest:%Y-%m} with {champion.run_id}")
    pit = point_in_time_behaviour_scores(rows, champion.candidate, target, seed, progress)
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction():
        for statement in DDL:
            store.execute(statement)
        store.execute(
            f"delete from {BEHAVIOUR_PREDICTIONS} where run_id = ? and month_date = ?",
            [champion.run_id, latest.date()],
        )
        store.append(BEHAVIOUR_PREDICTIONS, scored)
        store.execute(f"delete from {BEHAVIOUR_SCORES}")
        store.append(BEHAVIOUR_SCORES, pit.assign(scored_at=now))
    return BehaviourReport(
        training=report,
        run_id=champion.run_id,
        scored_month=latest.date(),
        scored_loans=len(scored),
        cutoffs=sorted(set(pit["cutoff_month"])),
        point_in_time_rows=len(pit),
    )
