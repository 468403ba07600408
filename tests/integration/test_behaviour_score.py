"""`python -m ml train-behaviour` on a book with its monthly payment history, on DuckDB and
Postgres: the behavioural score in the registry beside the origination champion (never
served in its place), its scores on the open loans' latest month, its point-in-time scores
on the backtest's months, and what dbt makes of them (the watchlist's model trigger, the
history's behaviour_model trigger, the backtest)."""

from pathlib import Path

import pandas as pd
import pytest

from ingest.settings import Settings
from ingest.warehouse.session import open_session, read_frame
from ml.backtest_scores import backtest_scores
from ml.behaviour import train_behaviour
from ml.cli import main
from ml.features import BEHAVIOUR, ORIGINATION
from ml.registry import champion_or_none
from ml.training import train
from tests.dbt_runner import run_dbt
from tests.landing import duckdb_writer, land_csv, postgres_writer

# What the ML step's tables feed, as `make demo` rebuilds it.
AFTER_ML = ("--select", "source:ml+")


@pytest.fixture(scope="module")
def book(tmp_path_factory, synthetic_csv, synthetic_history) -> tuple[Path, Path]:
    """The 3,000 synthetic loans and their history, built, with both model families trained
    in the demo's order (origination, backtest PDs, behaviour) and the marts rebuilt."""
    folder = tmp_path_factory.mktemp("behaviour")
    path, models = folder / "w.duckdb", folder / "models"
    land_csv(duckdb_writer(path), synthetic_csv)
    land_csv(duckdb_writer(path), synthetic_history)
    env = {"DUCKDB_PATH": str(path)}
    run_dbt("run", target="duckdb", env=env)
    with open_session(Settings(duckdb_path=path)) as store:
        train(store, models, progress=lambda _: None)
        backtest_scores(store, progress=lambda _: None)
        train_behaviour(store, models, progress=lambda _: None)
    run_dbt("run", *AFTER_ML, target="duckdb", env=env)
    return path, models


def _frame(path: Path, sql: str) -> pd.DataFrame:
    return read_frame(Settings(duckdb_path=path), sql)


def test_the_behaviour_run_is_registered_but_never_served_as_the_pd(book):
    path, models = book
    with open_session(Settings(duckdb_path=path)) as store:
        origination = champion_or_none(store)
        behaviour = champion_or_none(store, BEHAVIOUR)
    # Trained after the origination champion, yet `ml score`, the API and the stream
    # scorer (champion_or_none's default, and champion.json) still get the origination one.
    assert origination is not None and behaviour is not None
    assert origination.model_family == ORIGINATION and behaviour.model_family == BEHAVIOUR
    assert behaviour.trained_at > origination.trained_at
    assert origination.run_id in (models / "champion.json").read_text()
    assert behaviour.target == "is_charged_off_6m" and behaviour.calibration_method == "platt"
    # Validation before test, months apart; the test figures are the calibrated model's.
    assert behaviour.validation_cut < behaviour.split_cut
    assert 0.6 < behaviour.auc <= 1 and abs(behaviour.mean_pd - behaviour.default_rate) < 0.02
    runs = _frame(path, "select * from marts.model_run_metrics")
    assert set(runs["model_family"]) == {ORIGINATION, BEHAVIOUR}
    # The Model dashboard's calibration is the origination champion's, not the later run's.
    calibration = _frame(path, "select distinct run_id from marts.model_calibration")
    assert calibration["run_id"].tolist() == [origination.run_id]


def test_the_latest_month_s_open_loans_are_scored_with_reasons(book):
    path, _ = book
    scored = _frame(path, "select * from ml.behaviour_predictions")
    latest = _frame(
        path,
        "select loan_id from marts.ml_behaviour_features "
        "where month_date = (select max(month_date) from marts.ml_behaviour_features)",
    )
    assert sorted(scored["loan_id"]) == sorted(latest["loan_id"]) and len(scored) > 100
    assert scored["pd"].between(0, 1).all() and scored["risk_decile"].between(1, 10).all()
    assert scored["top_features"].str.len().gt(0).all()


def test_point_in_time_scores_come_from_models_fitted_before_the_month(book):
    path, _ = book
    scores = _frame(path, "select * from ml.behaviour_point_in_time_scores")
    assert len(scores) > 1_000
    assert (pd.to_datetime(scores["cutoff_month"]) < pd.to_datetime(scores["month_date"])).all()
    assert set(pd.to_datetime(scores["cutoff_month"]).dt.month) <= {3, 6, 9, 12}
    assert not scores.duplicated(["loan_id", "month_date"]).any()


def test_the_watchlist_history_and_backtest_read_the_behaviour_score(book):
    path, _ = book
    watchlist = _frame(path, "select * from marts.early_warning_watchlist")
    fired = watchlist[watchlist["trips_behaviour_model"]]
    assert len(fired) and (fired["behaviour_pd"] >= 0.2).all() and fired["trips_model"].all()
    assert fired["reason_codes"].str.contains("BEHAVIOUR_PD").all()
    history = _frame(path, "select * from marts.watchlist_history where trips_behaviour_model")
    assert len(history) and history["triggers_fired"].str.contains("behaviour_model").all()
    backtest = _frame(
        path,
        "select * from marts.ews_backtest where default_definition = 'charged_off' "
        "and trigger_name = 'behaviour_model' and segment_type = 'all'",
    )
    assert backtest["flagged_loans"].iloc[0] > 0 and backtest["captured_1m"].iloc[0] > 0


def test_train_behaviour_on_postgres(synthetic_csv, synthetic_history, postgres_env, tmp_path):
    for source in (synthetic_csv, synthetic_history):
        land_csv(postgres_writer(), source)
    run_dbt("run", target="postgres", env=postgres_env)
    settings = Settings.from_env({**postgres_env, "WAREHOUSE": "postgres"})
    with open_session(settings) as store:
        # Without the origination backtest's PDs the feature is null, not an error.
        report = train_behaviour(store, tmp_path, progress=lambda _: None)
        assert champion_or_none(store) is None  # no origination champion was trained
    assert report.scored_loans > 100 and report.point_in_time_rows > 1_000
    run_dbt("run", *AFTER_ML, target="postgres", env=postgres_env)
    counts = read_frame(
        settings,
        "select (select count(*) from marts.watchlist_history where trips_behaviour_model) "
        "as history, (select count(*) from intermediate.int_loans__behaviour_scores) as loans",
    )
    assert counts["history"].iloc[0] > 0 and counts["loans"].iloc[0] == report.scored_loans


def test_the_command_line_names_a_missing_mart(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "empty.duckdb"))
    assert main(["train-behaviour"]) == 2
    assert "no marts.ml_behaviour_features" in capsys.readouterr().err
