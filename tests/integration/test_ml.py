"""`python -m ml train` and `score` against a warehouse dbt has built, on DuckDB and Postgres."""

import json
import shutil
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
from ml.registry import latest_champion
from ml.scoring import score
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
    # The generator is built for an out-of-time AUC of about 0.72 on origination fields.
    assert 0.66 <= champion.auc <= 0.80
    assert champion.auc > metrics.loc["baseline_logistic"].auc
    assert champion.top_decile_lift > champion.rule_watchlist_lift > 1
    assert trained.roc_plot.stat().st_size > 10_000 and trained.lift_plot.exists()


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
        assert metadata["split"]["cut"] == run.split_cut.date().isoformat()


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
    """New loans after scoring: the champion scores just those, each in the decile of the
    scored book its PD falls in, and a rebuild puts their PDs on fct_loans."""
    path, env = tmp_path / "w.duckdb", {"DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    shutil.copy(built_book, path)
    settings = Settings(duckdb_path=path)
    _score(settings)  # the book as a previous `ml score` left it (a no-op if already scored)
    new_csv = tmp_path / "new.csv"
    write_new_loans(new_csv, TOP_UP, seed=6, id_shift=LOANS)
    land_csv(duckdb_writer(path), new_csv)
    run_dbt("run", *LOAN_MODELS, target="duckdb", env=env)
    top_up, again = _score(settings), _score(settings)
    assert (top_up.loans_scored, top_up.already_scored) == (TOP_UP, LOANS)
    assert (again.loans_scored, again.already_scored) == (0, LOANS + TOP_UP)
    run_dbt("run", *SCORED_MODELS, target="duckdb", env=env)
    with duckdb.connect(str(path), read_only=True) as con:
        new_ids = con.execute(
            "select min(loan_id), max(loan_id), count(*) from ml.loan_predictions "
            "where scored_at > (select min(scored_at) from ml.loan_predictions)"
        ).fetchone()
        # Each new loan's decile is the lowest of the first scoring's whose top PD it does
        # not exceed (the top decile above them all); the first scoring's stay ten tenths.
        misplaced = con.execute(f"""
            with book as (
                select * from ml.loan_predictions where loan_id <= {FIRST_ID + LOANS - 1}
            ), tops as (
                select risk_decile, max(pd) as top_pd from book group by risk_decile
            )
            select count(*) from ml.loan_predictions as new
            where new.loan_id > {FIRST_ID + LOANS - 1} and new.risk_decile <> coalesce(
                (select min(risk_decile) from tops where new.pd <= tops.top_pd), 10)
        """).fetchone()
        book_deciles = con.execute(
            f"select count(distinct n), min(n) from (select count(*) as n from "
            f"ml.loan_predictions where loan_id < {FIRST_ID + LOANS} group by risk_decile)"
        ).fetchone()
        on_marts = con.execute("select count(*), count(pd) from marts.fct_loans").fetchone()
    assert new_ids == (FIRST_ID + LOANS, FIRST_ID + LOANS + TOP_UP - 1, TOP_UP)
    assert misplaced == (0,)
    assert book_deciles == (1, LOANS // 10)
    assert on_marts == (LOANS + TOP_UP, LOANS + TOP_UP)


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
    assert "0 resolved loans in marts.ml_features" in capsys.readouterr().err
