"""`dbt build` (models and data tests) on DuckDB and on a real Postgres over the same input."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from exports.warehouse_reader import read_sql
from ingest.loader import load_csv
from ingest.settings import Settings
from ingest.warehouse import DuckDBWarehouse, PostgresWarehouse
from tests.conftest import REPO_ROOT

DBT = str(Path(sys.executable).parent / "dbt")
KPI_QUERY = "select * from marts.kpi_summary"


def dbt_build(target: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [DBT, "build", "--profiles-dir", "profiles", "--target", target],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "WAREHOUSE": target},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture(scope="module")
def duckdb_kpis(tmp_path_factory, synthetic_csv) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("dbt") / "w.duckdb"
    store = DuckDBWarehouse(path)
    store.init()
    load_csv(synthetic_csv, store, show_progress=False)
    store.close()
    dbt_build("duckdb", {"DUCKDB_PATH": str(path)})
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(KPI_QUERY).df()


def test_kpis_match_an_independent_computation_from_the_csv(duckdb_kpis, synthetic_csv):
    loans = pd.read_csv(synthetic_csv, dtype=str, keep_default_na=False)
    status = loans["loan_status"]
    bad = status.str.contains("Charged Off") | (status == "Default")
    resolved = loans[bad | status.str.contains("Fully Paid")]
    number = lambda col: pd.to_numeric(resolved[col].str.replace("%", ""), errors="coerce")  # noqa: E731
    dti = number("dti").where(lambda v: v <= 100)
    flagged = ((dti >= 30) | (number("revol_util") >= 80)) & (
        (number("delinq_2yrs") > 0) | (number("inq_last_6mths") >= 2)
    )
    kpi = duckdb_kpis.iloc[0]
    assert kpi.portfolio_rows == len(resolved)
    assert kpi.baseline_default_rate == pytest.approx(bad[resolved.index].mean())
    assert kpi.watchlist_rows == flagged.sum()
    assert kpi.watchlist_default_rate == pytest.approx(bad[resolved.index][flagged].mean())
    assert kpi.lift_vs_baseline > 1


def test_postgres_builds_the_same_kpis(duckdb_kpis, synthetic_csv, postgres_env):
    store = PostgresWarehouse()
    store.init()
    load_csv(synthetic_csv, store, show_progress=False)
    store.close()
    dbt_build("postgres", postgres_env)
    postgres_kpis = read_sql(Settings(warehouse="postgres"), KPI_QUERY)
    pd.testing.assert_frame_equal(
        postgres_kpis.astype(float), duckdb_kpis.astype(float), check_exact=False, rtol=1e-12
    )
