"""On DuckDB, incremental `dbt build` runs over the book in two loads and next month's news
end with the same tables as a full refresh (the Postgres twin is in test_dbt_build.py, where
it also meets DuckDB's KPIs). A file of its own so the two run on separate test workers."""

from tests.dbt_runner import run_dbt
from tests.dbt_tables import assert_same_tables, duckdb_query, table_contents, two_loads
from tests.landing import duckdb_writer, land_csv


def test_duckdb_incremental_runs_equal_a_full_refresh(synthetic_csv, tmp_path):
    first, second, update = two_loads(tmp_path, synthetic_csv)
    path = tmp_path / "incremental.duckdb"
    env = {"DUCKDB_PATH": str(path)}
    land_csv(duckdb_writer(path), first)
    land_csv(duckdb_writer(path), second)
    run_dbt("build", target="duckdb", env=env)
    land_csv(duckdb_writer(path), update)
    run_dbt("build", target="duckdb", env=env)
    moved = duckdb_query(
        path, "select count(*) as n from marts.fct_loans where as_of_date = '2019-04-01'"
    )
    assert moved.n[0] == 300
    incremental = table_contents(lambda q: duckdb_query(path, q))
    run_dbt("run", "--full-refresh", target="duckdb", env=env)  # the tables only
    assert_same_tables(incremental, table_contents(lambda q: duckdb_query(path, q)))
