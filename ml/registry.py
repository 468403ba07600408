"""The model registry and the predictions, as warehouse tables in schema `ml`.

`ml.model_runs` has one row per trained candidate, with its split (training, validation and
test cohorts), validation and test metrics and calibration; the champion of a training is
flagged, and the latest champion is the one scored. `ml.model_calibration` holds each run's
observed against expected default rates on its test cohorts (overall, per decile, per grade,
with Jeffreys intervals). `ml.loan_predictions` is read back by dbt
(stg_ml__loan_predictions), which takes the run scored last.

A registry created before a column existed gains it (`add column if not exists`, both
warehouses) the next time a model is trained or scored; its older runs hold nulls there.
"""

from __future__ import annotations

import pandas as pd

from ingest.warehouse.session import WarehouseSession
from ml.errors import NoChampionError
from ml.features import ORIGINATION

MODEL_RUNS = "ml.model_runs"
LOAN_PREDICTIONS = "ml.loan_predictions"
MODEL_CALIBRATION = "ml.model_calibration"
# Columns added after the registry's first release: (name, type).
ADDED_RUN_COLUMNS = (
    ("validation_cut", "date"), ("validation_rows", "integer"), ("validation_from", "date"),
    ("validation_to", "date"), ("validation_auc", "double precision"),
    ("validation_ks", "double precision"), ("validation_brier", "double precision"),
    ("mean_pd", "double precision"), ("default_rate", "double precision"),
    ("calibration_method", "text"), ("calibration_slope", "double precision"),
    ("calibration_intercept", "double precision"), ("target", "text"),
    ("model_family", "text"),
)  # fmt: skip
# A run registered before model families existed is an origination run.
FAMILY = f"coalesce(model_family, '{ORIGINATION}')"

DDL = (
    "create schema if not exists ml",
    f"""create table if not exists {MODEL_RUNS} (
        run_id text primary key,
        training_id text not null,
        trained_at timestamp not null,
        candidate text not null,
        model_type text not null,
        features text not null,
        split_cut date not null,
        train_rows integer not null,
        test_rows integer not null,
        train_from date not null,
        train_to date not null,
        test_from date not null,
        test_to date not null,
        auc double precision not null,
        gini double precision not null,
        ks double precision not null,
        brier double precision not null,
        top_decile_lift double precision not null,
        rule_watchlist_lift double precision,
        metrics_json text not null,
        data_fingerprint text not null,
        library_versions text not null,
        seed integer not null,
        artifact_path text not null,
        is_champion boolean not null
    )""",
    f"""create table if not exists {LOAN_PREDICTIONS} (
        loan_id bigint not null,
        run_id text not null,
        pd double precision not null,
        risk_decile integer not null,
        scored_at timestamp not null,
        primary key (run_id, loan_id)
    )""",
    *(
        f"alter table {MODEL_RUNS} add column if not exists {name} {sql_type}"
        for name, sql_type in ADDED_RUN_COLUMNS
    ),
    f"alter table {LOAN_PREDICTIONS} add column if not exists top_features text",
    f"""create table if not exists {MODEL_CALIBRATION} (
        run_id text not null,
        segment_type text not null,
        segment text not null,
        loans integer not null,
        defaults integer not null,
        observed_default_rate double precision not null,
        mean_pd double precision not null,
        jeffreys_lower double precision not null,
        jeffreys_upper double precision not null,
        is_within_interval boolean not null,
        primary key (run_id, segment_type, segment)
    )""",
)


def ensure_tables(store: WarehouseSession) -> None:
    for statement in DDL:
        store.execute(statement)


def register_runs(store: WarehouseSession, runs: pd.DataFrame) -> None:
    store.append(MODEL_RUNS, runs)


def register_calibration(store: WarehouseSession, rows: pd.DataFrame) -> None:
    store.append(MODEL_CALIBRATION, rows)


def champion_or_none(store: WarehouseSession, family: str = ORIGINATION) -> pd.Series | None:
    """The latest champion of `family`, or None when none was trained (or the registry is
    missing)."""
    present = store.columns("ml", "model_runs")
    if not present:
        return None
    run_family = FAMILY if "model_family" in present else f"'{ORIGINATION}'"
    runs = store.frame(
        f"select * from {MODEL_RUNS} where is_champion and {run_family} = ? "
        "order by trained_at desc, run_id limit 1",
        [family],
    )
    return None if runs.empty else runs.iloc[0]


def latest_champion(store: WarehouseSession) -> pd.Series:
    champion = champion_or_none(store)
    if champion is None:
        raise NoChampionError("no champion model yet: run `python -m ml train` first")
    return champion
