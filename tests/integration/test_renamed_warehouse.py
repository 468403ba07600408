"""A warehouse file works under any name. DuckDB names a file's catalog after the file, and
dbt's views used to name it: a copy of warehouse.duckdb as backup.duckdb (a backup, one file
per environment, a CI artefact) failed in the ML step and the exports with
`Catalog "warehouse" does not exist`."""

from __future__ import annotations

import shutil

import duckdb

from exports.cli import main as exports_main
from ingest.settings import Settings
from ingest.warehouse.session import read_frame
from ml.cli import main as ml_main
from tests.dbt_runner import run_dbt
from tests.landing import duckdb_writer, land_csv


def test_a_copy_under_another_name_builds_trains_scores_and_exports(
    synthetic_csv, tmp_path, monkeypatch
):
    original = tmp_path / "warehouse.duckdb"
    land_csv(duckdb_writer(original), synthetic_csv)
    run_dbt("run", target="duckdb", env={"DUCKDB_PATH": str(original)})
    copy = tmp_path / "backup.duckdb"
    shutil.copy(original, copy)
    original.unlink()  # nothing may still lean on the first name
    with duckdb.connect(str(copy), read_only=True) as con:
        views = con.execute("select sql from duckdb_views() where not internal").fetchall()
    assert views and not any('"warehouse".' in sql for (sql,) in views)

    for key, value in {
        "WAREHOUSE": "duckdb", "DUCKDB_PATH": str(copy), "ML_MODEL_DIR": str(tmp_path / "m"),
        "LAKE_URL": f"file://{tmp_path / 'lake'}",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    assert ml_main(["train"]) == 0
    assert ml_main(["score"]) == 0
    # What the ML step feeds, models and tests, under the new name.
    ml_fed = ("--select", "source:ml+")
    run_dbt("build", *ml_fed, target="duckdb", env={"DUCKDB_PATH": str(copy)})
    assert exports_main(["all"]) == 0
    assert exports_main(["report"]) == 0
    scored = read_frame(
        Settings(duckdb_path=copy), "select count(pd) as n, count(*) as loans from marts.fct_loans"
    )
    assert scored.n[0] == scored.loans[0] > 0
    assert (tmp_path / "lake" / "snapshots").is_dir() and (tmp_path / "lake" / "raw").is_dir()
    # The champion's model card, published by the drift job.
    (card,) = (tmp_path / "lake" / "reports" / "models").glob("*/model_card.md")
    assert "## Calibration" in card.read_text() and "Jeffreys" in card.read_text()
