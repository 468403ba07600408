"""`python -m ml train` and `score` against a warehouse dbt has built, on DuckDB and Postgres."""

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.settings import Settings
from ingest.synthetic import write_synthetic_csv
from ingest.synthetic.generate import FIRST_LOAN_ID as FIRST_ID
from ingest.warehouse.session import open_session, read_frame
from ml import artifacts
from ml.cli import main
from ml.metrics import deciles_from_edges
from ml.registry import latest_champion
from ml.scoring import score
from ml.selection import choose_champion
from ml.training import train
from tests.book_updates import write_new_loans
from tests.dbt_runner import LOAN_MODELS, SCORED_MODELS, run_dbt
from tests.landing import duckdb_writer, land_csv, postgres_writer

LOANS = 20_000
TOP_UP = 300  # loans landed after the book was scored


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ml")
    csv_path, path = folder / "loans.csv", folder / "w.duckdb"
    write_synthetic_csv(csv_path, LOANS, seed=5)
    # The models only (test_dbt_build runs their tests): what training reads.
    land_csv(duckdb_writer(path), csv_path)
    run_dbt("run", target="duckdb", env={"DUCKDB_PATH": str(path)})
    return path


def _train(path: Path, model_dir: Path, **kwargs):
    store = open_session(Settings(duckdb_path=path))
    try:
        return train(store, model_dir, progress=lambda _: None, **kwargs)
    finally:
        store.close()


@pytest.fixture(scope="module")
def trained(built_book, tmp_path_factory):
    return _train(built_book, tmp_path_factory.mktemp("models"))


def test_the_champion_lands_in_the_generators_band_and_beats_the_original_baseline(trained):
    metrics = trained.metrics.set_index("candidate")
    champion = metrics.loc[trained.champion]
    # Chosen on validation by the rule, never on the test figures it reports.
    assert trained.champion == choose_champion(
        metrics["validation_auc"].to_dict(), list(metrics.index)
    )
    # The generator is built for an out-of-time AUC of about 0.72 on origination fields.
    assert 0.66 <= champion.auc <= 0.80
    assert champion.auc > metrics.loc["baseline_logistic"].auc
    assert champion.top_decile_lift > champion.rule_watchlist_lift > 1
    # Calibrated on validation, so near the test cohorts' default rate. With this target the
    # rate among resolved loans falls from validation (0.273) to test (0.243) cohorts: the
    # mean PD lands 2.3 points high here (the training cohorts' rate is 0.191: uncalibrated it
    # would sit further off); the fixed-horizon targets meet the 2-point bar (the next test).
    assert ((metrics["mean_pd"] - metrics["default_rate"]).abs() <= 0.03).all(), metrics
    assert trained.roc_plot.stat().st_size > 10_000 and trained.lift_plot.exists()


def test_a_fixed_horizon_champion_is_calibrated_within_two_points(built_book, tmp_path):
    report = _train(built_book, tmp_path, target="is_default_12m")
    metrics = report.metrics.set_index("candidate")
    champion = metrics.loc[report.champion]
    assert abs(champion.mean_pd - champion.default_rate) <= 0.02, metrics
    _, metadata = artifacts.load(Path(_latest_artifact(built_book, report.training_id)))
    assert metadata["target"] == "is_default_12m" and metadata["calibration"]["method"] == "platt"
    # Only loans observed 12 months count: the test cohorts end 12 months before the book.
    assert report.split.test_to < date(2018, 4, 1)


def _latest_artifact(path: Path, training_id: str) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        (artifact,) = con.execute(
            "select artifact_path from ml.model_runs where training_id = ? and is_champion",
            [training_id],
        ).fetchone()
    return artifact


def test_the_same_data_and_seed_give_the_same_metrics(built_book, trained, tmp_path):
    again = _train(built_book, tmp_path)
    columns = ["candidate", "auc", "ks", "brier", "top_decile_lift"]
    pd.testing.assert_frame_equal(again.metrics[columns], trained.metrics[columns])
    assert again.split == trained.split


def test_the_registry_row_matches_its_artifact(built_book, trained):
    with duckdb.connect(str(built_book), read_only=True) as con:
        runs = con.execute(
            "select * from ml.model_runs where training_id = ?", [trained.training_id]
        ).df()
    assert sorted(runs.candidate) == sorted(trained.metrics.candidate)
    assert runs.is_champion.sum() == 1
    for run in runs.itertuples():
        pipeline, metadata = artifacts.load(Path(run.artifact_path))
        assert metadata["run_id"] == run.run_id
        assert metadata["metrics"]["auc"] == pytest.approx(run.auc)
        assert metadata["data_fingerprint"] == run.data_fingerprint
        assert list(pipeline.feature_names_in_) == json.loads(run.features)
        assert "addr_state" not in metadata["features"]
        assert metadata["split"]["cut"] == run.split_cut.date().isoformat()
        assert metadata["split"]["validation_cut"] == run.validation_cut.date().isoformat()
        assert metadata["validation_metrics"]["auc"] == pytest.approx(run.validation_auc)
        assert metadata["calibration"]["slope"] == pytest.approx(run.calibration_slope)
        (overall,) = [r for r in metadata["calibration_test"] if r["segment_type"] == "all"]
        assert overall["loans"] == run.test_rows
        card = (Path(run.artifact_path).parent / "model_card.md").read_text()
        assert run.run_id in card and "Jeffreys" in card
    with duckdb.connect(str(built_book), read_only=True) as con:
        calibration = con.execute(
            "select segment_type, count(*), sum(loans) from ml.model_calibration "
            "where run_id = ? group by segment_type order by segment_type",
            [runs.run_id.iloc[0]],
        ).fetchall()
    test_rows = int(runs.test_rows.iloc[0])
    assert calibration[0] == ("all", 1, test_rows) and calibration[1] == ("decile", 10, test_rows)
    assert calibration[2][0] == "grade" and calibration[2][2] == test_rows


def test_scoring_is_idempotent_and_flows_into_the_marts(built_book, trained):
    store = open_session(Settings(duckdb_path=built_book))
    try:
        first = score(store)
        second = score(store)
        champion = latest_champion(store)
    finally:
        store.close()
    assert (first.loans_scored, first.already_scored) == (LOANS, 0)
    assert (second.loans_scored, second.already_scored) == (0, LOANS)
    assert first.run_id == second.run_id == champion.run_id
    run_dbt(
        "run",
        "--select",
        "stg_ml__loan_predictions+",
        target="duckdb",
        env={"DUCKDB_PATH": str(built_book)},
    )
    with duckdb.connect(str(built_book), read_only=True) as con:
        predictions = con.execute(
            "select count(*), count(distinct run_id) from ml.loan_predictions"
        ).fetchone()
        scored = con.execute(
            "select count(pd), min(risk_decile), max(risk_decile) from marts.fct_loans"
        ).fetchone()
        deciles = con.execute(
            "select count(*) from marts.kpi_summary where segment_type = 'risk_decile'"
        ).fetchone()
    assert predictions == (LOANS, 1)
    assert scored == (LOANS, 1, 10)
    assert deciles == (10,)


def test_rescoring_scores_exactly_the_loans_landed_since(built_book, trained, tmp_path):
    """New loans after scoring: the champion scores just those, each in the decile its PD
    falls in among the edges fixed at training, the book's deciles do not move, and a
    rebuild puts their PDs on fct_loans."""
    path, env = tmp_path / "w.duckdb", {"DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    shutil.copy(built_book, path)
    settings = Settings(duckdb_path=path)
    _score(settings)  # the book as a previous `ml score` left it (a no-op if already scored)
    book_query = "select loan_id, pd, risk_decile from ml.loan_predictions order by loan_id"
    book = read_frame(settings, book_query)
    new_csv = tmp_path / "new.csv"
    write_new_loans(new_csv, TOP_UP, seed=6, id_shift=LOANS)
    land_csv(duckdb_writer(path), new_csv)
    run_dbt("run", *LOAN_MODELS, target="duckdb", env=env)
    top_up, again = _score(settings), _score(settings)
    assert (top_up.loans_scored, top_up.already_scored) == (TOP_UP, LOANS)
    assert (again.loans_scored, again.already_scored) == (0, LOANS + TOP_UP)
    run_dbt("run", *SCORED_MODELS, target="duckdb", env=env)
    scored = read_frame(settings, book_query)
    pd.testing.assert_frame_equal(scored.iloc[:LOANS], book)
    new = scored.iloc[LOANS:]
    assert new.loan_id.tolist() == list(range(FIRST_ID + LOANS, FIRST_ID + LOANS + TOP_UP))
    _, metadata = artifacts.load(Path(_champion(settings).artifact_path))
    edges = metadata["decile_edges"]
    assert scored.risk_decile.tolist() == deciles_from_edges(scored.pd, edges).tolist()
    # Fixed at training on the training cohorts: the whole book spreads over all ten.
    assert sorted(set(book.risk_decile)) == list(range(1, 11))
    on_marts = read_frame(settings, "select count(*) as n, count(pd) as pds from marts.fct_loans")
    assert on_marts.values.tolist() == [[LOANS + TOP_UP, LOANS + TOP_UP]]


def _champion(settings: Settings):
    store = open_session(settings)
    try:
        return latest_champion(store)
    finally:
        store.close()


def _score(settings: Settings):
    store = open_session(settings)
    try:
        return score(store)
    finally:
        store.close()


def test_train_and_score_on_postgres(synthetic_csv, postgres_env, tmp_path):
    land_csv(postgres_writer(), synthetic_csv)
    run_dbt("run", target="postgres", env=postgres_env)
    ml_store = open_session(Settings(warehouse="postgres"))
    try:
        report = train(ml_store, tmp_path, progress=lambda _: None)
        scored = score(ml_store)
        again = score(ml_store)
        rows = ml_store.frame(
            "select count(*) as n, min(pd) as low, max(pd) as high from ml.loan_predictions"
        )
    finally:
        ml_store.close()
    assert scored.run_id.startswith(report.training_id)
    assert (scored.loans_scored, again.loans_scored, again.already_scored) == (3_000, 0, 3_000)
    assert rows.n[0] == 3_000 and 0 < rows.low[0] < rows.high[0] < 1
    run_dbt("run", *SCORED_MODELS, target="postgres", env=postgres_env)
    fct = read_frame(Settings(warehouse="postgres"), "select count(pd) as n from marts.fct_loans")
    assert fct.n[0] == 3_000


def test_scoring_before_training_and_training_without_a_built_book_are_clear_errors(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "empty.duckdb"))
    assert main(["score"]) == 2
    assert "no champion model yet: run `python -m ml train` first" in capsys.readouterr().err
    store = open_session(Settings(duckdb_path=tmp_path / "empty.duckdb"))
    store.execute("create schema marts")
    store.execute(
        "create table marts.ml_features as select 1 as loan_id, date '2018-01-01' as issue_date,"
        " cast(null as boolean) as is_default"
    )
    store.commit()
    store.close()
    assert main(["train"]) == 2
    assert "0 loans with a known is_default in marts.ml_features" in capsys.readouterr().err
