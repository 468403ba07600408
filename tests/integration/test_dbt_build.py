"""`dbt build` (models, unit and data tests) on DuckDB and on a real Postgres over the same
input: the KPIs against an independent computation, the two warehouses against each other,
incremental runs against a full refresh, the optional model trigger, and the docs."""

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import pytest

from ingest.settings import Settings
from ingest.warehouse.session import open_session, read_frame
from ml.registry import LOAN_PREDICTIONS
from ml.registry import ensure_tables as ensure_prediction_tables
from ml.serving.decisions_table import DECISIONS
from ml.serving.decisions_table import ensure_tables as ensure_decision_tables
from tests.dbt_runner import SCORED_MODELS, run_dbt
from tests.dbt_tables import assert_same_tables, duckdb_query, table_contents, two_loads
from tests.landing import duckdb_writer, land_csv, postgres_writer

KPI_QUERY = "select * from marts.kpi_summary order by segment_type, segment"


@pytest.fixture(scope="module")
def duckdb_built(tmp_path_factory, synthetic_csv) -> Path:
    path = tmp_path_factory.mktemp("dbt") / "w.duckdb"
    land_csv(duckdb_writer(path), synthetic_csv)
    # The one DuckDB build of the suite that runs the dbt unit tests too (tests/dbt_runner.py).
    run_dbt("build", target="duckdb", env={"DUCKDB_PATH": str(path)}, unit_tests=True)
    return path


def test_kpis_match_an_independent_computation_from_the_csv(duckdb_built, synthetic_csv):
    loans = pd.read_csv(synthetic_csv, dtype=str, keep_default_na=False)
    status = loans["loan_status"]
    bad = status.str.contains("Charged Off") | (status == "Default")
    resolved = loans[bad | status.str.contains("Fully Paid")]
    number = lambda col: pd.to_numeric(resolved[col].str.replace("%", ""), errors="coerce")  # noqa: E731
    dti = number("dti").where(lambda v: v <= 100)
    flagged = ((dti >= 30) | (number("revol_util") >= 80)) & (
        (number("delinq_2yrs") > 0) | (number("inq_last_6mths") >= 2)
    )
    kpis = duckdb_query(duckdb_built, KPI_QUERY).set_index(["segment_type", "segment"])
    kpi = kpis.loc[("portfolio", "all")]
    assert kpi.resolved_loans == len(resolved)
    assert kpi.resolved_default_rate == pytest.approx(bad[resolved.index].mean())
    assert kpi.resolved_rule_flagged_loans == flagged.sum()
    assert kpi.resolved_rule_flagged_default_rate == pytest.approx(
        bad[resolved.index][flagged].mean()
    )
    assert kpi.resolved_rule_lift > 1
    by_grade = kpis.loc["grade"]
    expected_by_grade = bad[resolved.index].groupby(resolved["grade"]).mean()
    assert by_grade.resolved_default_rate.to_dict() == pytest.approx(expected_by_grade.to_dict())


def test_every_model_and_column_is_described(duckdb_built, tmp_path):
    """The docs site explains every column the warehouse really has, not just the YAML's."""
    target = tmp_path / "docs"
    run_dbt("docs", "generate", "--target-path", str(target), target="duckdb",
            env={"DUCKDB_PATH": str(duckdb_built)})  # fmt: skip
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    assert (target / "index.html").exists()
    undocumented = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        if not node["description"].strip():
            undocumented.append(node["name"])
        described = {n for n, c in node["columns"].items() if c["description"].strip()}
        actual = {c.lower() for c in catalog["nodes"][unique_id]["columns"]}
        undocumented += [f"{node['name']}.{column}" for column in sorted(actual - described)]
    assert not undocumented, f"models or columns without a description: {undocumented}"


def test_the_model_trigger_flags_active_loans_once_predictions_exist(duckdb_built, tmp_path):
    path = tmp_path / "scored.duckdb"
    shutil.copy(duckdb_built, path)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema ml")
        con.execute(
            "create table ml.loan_predictions as "
            "select loan_id, 'run-old' as run_id, 0.99 as pd, 10 as risk_decile, "
            "timestamp '2026-01-01' as scored_at from marts.fct_loans"
        )
        # The newer champion: every tenth loan at PD 0.9, the rest at 0.01.
        con.execute(
            "insert into ml.loan_predictions select loan_id, 'run-new', "
            "case when loan_id % 10 = 0 then 0.9 else 0.01 end, "
            "case when loan_id % 10 = 0 then 10 else 1 end, timestamp '2026-02-01' "
            "from marts.fct_loans"
        )
    # The models the predictions feed, with their tests.
    fed = ("--select", "stg_ml__loan_predictions+")
    run_dbt("build", *fed, target="duckdb", env={"DUCKDB_PATH": str(path)})
    watchlist = duckdb_query(path, "select * from marts.early_warning_watchlist")
    model_flagged = watchlist[watchlist.reason_codes.str.contains("MODEL_PD")]
    active_tenth = duckdb_query(
        path, "select count(*) as n from marts.fct_loans "
        "where outcome = 'unresolved' and loan_id % 10 = 0",
    ).n[0]  # fmt: skip
    assert len(model_flagged) == active_tenth > 0
    assert set(model_flagged.model_run_id) == {"run-new"}
    assert (model_flagged.pd == 0.9).all()
    deciles = duckdb_query(
        path, "select * from marts.kpi_summary where segment_type = 'risk_decile'"
    )
    assert set(deciles.segment) == {"1", "10"}


def _decision(loan_id: int, offset: int, decided_at: str, pd_value: float | None) -> dict:
    return {
        "loan_id": loan_id, "event_id": f"e{offset}", "event_type": "loan.application",
        "source_name": "apps", "source_partition": 0, "source_offset": offset,
        "event_time": pd.Timestamp("2019-03-01"), "decided_at": pd.Timestamp(decided_at),
        "model_run_id": None if pd_value is None else "live-run", "pd": pd_value,
        "risk_decile": None if pd_value is None else 5, "risk_tier": "Elevated",
        "rule_flag": False, "reason_codes": '["DTI>=30"]',
    }  # fmt: skip


def _rows(frame: pd.DataFrame) -> list[list]:
    """The frame's rows as lists, None for every null (DuckDB gives NaN for a null number)."""
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def _write(path: Path, ensure, table: str, rows: list[dict]) -> None:
    store = open_session(Settings(duckdb_path=path))
    try:
        ensure(store)
        store.append(table, pd.DataFrame(rows))
        store.commit()
    finally:
        store.close()


def test_live_decisions_give_the_pd_of_loans_the_batch_has_not_scored(duckdb_built, tmp_path):
    """Five active loans: a batch prediction wins over a live decision (a), a live decision
    stands in without one (b), the latest decision counts (c: decided last; d: same instant,
    later offset), a decision without a model gives no PD (e); then a newer decision for c
    reaches the incrementally built marts. watchlist_pd_min is 0.4."""
    path, env = tmp_path / "w.duckdb", {"DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    shutil.copy(duckdb_built, path)
    a, b, c, d, e = duckdb_query(
        path, "select loan_id from marts.fct_loans where outcome = 'unresolved' "
        "order by loan_id limit 5",
    ).loan_id.tolist()  # fmt: skip
    _write(path, ensure_prediction_tables, LOAN_PREDICTIONS, [
        {"loan_id": a, "run_id": "batch-run", "pd": 0.1, "risk_decile": 2,
         "scored_at": pd.Timestamp("2026-01-01")},
    ])  # fmt: skip
    _write(path, ensure_decision_tables, DECISIONS, [
        _decision(a, 1, "2026-01-02 10:00", 0.9),
        _decision(b, 2, "2026-01-02 10:00", 0.55),
        _decision(c, 3, "2026-01-02 10:00", 0.7),
        _decision(c, 4, "2026-01-02 11:00", 0.2),
        _decision(d, 6, "2026-01-02 10:00", 0.45),
        _decision(d, 5, "2026-01-02 10:00", 0.3),
        _decision(e, 7, "2026-01-02 10:00", None),
    ])  # fmt: skip
    columns = "loan_id, pd, live_pd, live_event_id, effective_pd, effective_pd_source"
    query = (
        f"select {columns}, is_model_watchlist from marts.fct_loans "
        f"where live_event_id is not null or pd is not null order by loan_id"
    )
    run_dbt("run", *SCORED_MODELS, target="duckdb", env=env)
    assert _rows(duckdb_query(path, query)) == [
        [a, 0.1, 0.9, "e1", 0.1, "batch", False],
        [b, None, 0.55, "e2", 0.55, "live", True],
        [c, None, 0.2, "e4", 0.2, "live", False],
        [d, None, 0.45, "e6", 0.45, "live", True],
        [e, None, None, "e7", None, None, False],
    ]
    _write(path, ensure_decision_tables, DECISIONS, [_decision(c, 8, "2026-01-03 09:00", 0.8)])
    run_dbt("run", *SCORED_MODELS, target="duckdb", env=env)
    watchlist = duckdb_query(
        path, "select loan_id, pd, live_pd, effective_pd, effective_pd_source, reason_codes "
        "from marts.early_warning_watchlist where trips_model order by loan_id",
    )  # fmt: skip
    assert _rows(watchlist.drop(columns="reason_codes")) == [
        [b, None, 0.55, 0.55, "live"],
        [c, None, 0.8, 0.8, "live"],
        [d, None, 0.45, 0.45, "live"],
    ]
    assert watchlist.reason_codes.str.contains("MODEL_PD").all()


def _dbt_test_fails(target: str, env: dict[str, str], *args: str) -> bool:
    try:
        run_dbt("test", *args, target=target, env=env)
    except AssertionError:
        return True
    return False


def test_column_tests_read_the_latest_build_and_everything_on_request(duckdb_built, tmp_path):
    """A bad row an earlier build staged is left to the whole-book check; one the latest
    build staged fails the ordinary run."""
    path = tmp_path / "tested.duckdb"
    shutil.copy(duckdb_built, path)
    table = "staging.stg_loan_events__applications"
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"insert into {table} select * replace ('extra-' || event_id as event_id, null as issue_date_unparseable, staged_at - interval 1 day as staged_at) "
            f"from {table} limit 1"
        )
    staging = ("-s", "stg_loan_events__applications")
    env = {"DUCKDB_PATH": str(path)}
    assert not _dbt_test_fails("duckdb", env, *staging)
    assert _dbt_test_fails("duckdb", env, *staging, "--vars", "{test_whole_book: true}")
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"update {table} set staged_at = staged_at + interval 2 day "
            "where issue_date_unparseable is null"
        )
    assert _dbt_test_fails("duckdb", env, *staging)


UNIQUE_INDEX_QUERY = (
    "select indexname from pg_indexes where schemaname = 'marts' and tablename = 'fct_loans' "
    "and indexdef like 'CREATE UNIQUE INDEX%(loan_id)'"
)


def test_postgres_builds_the_same_kpis_and_increments_like_a_full_refresh(
    duckdb_built, synthetic_csv, postgres_env, tmp_path
):
    first, second, update = two_loads(tmp_path, synthetic_csv)
    land_csv(postgres_writer(), first)
    land_csv(postgres_writer(), second)
    run_dbt("build", target="postgres", env=postgres_env, unit_tests=True)  # once on Postgres
    postgres_kpis = read_frame(Settings(warehouse="postgres"), KPI_QUERY)
    duckdb_kpis = duckdb_query(duckdb_built, KPI_QUERY)
    pd.testing.assert_frame_equal(postgres_kpis, duckdb_kpis, check_dtype=False, rtol=1e-12)

    land_csv(postgres_writer(), update)
    run_dbt("run", target="postgres", env=postgres_env)  # the increment (its tests ran above)
    query = lambda q: read_frame(Settings(warehouse="postgres"), q)  # noqa: E731
    incremental = table_contents(query)
    run_dbt("run", "--full-refresh", target="postgres", env=postgres_env)  # the tables only
    assert_same_tables(incremental, table_contents(query))

    # unique on Postgres: a valid unique index is trusted, a table without one is scanned.
    def execute(sql: str) -> None:
        with psycopg2.connect("") as con, con.cursor() as cur:
            cur.execute(sql)

    assert not _dbt_test_fails(
        "postgres", postgres_env, "-s", "fct_loans", "early_warning_watchlist"
    )
    execute(
        "insert into marts.early_warning_watchlist select * from marts.early_warning_watchlist limit 1"
    )
    assert _dbt_test_fails("postgres", postgres_env, "-s", "early_warning_watchlist")
    (index,) = read_frame(Settings(warehouse="postgres"), UNIQUE_INDEX_QUERY).indexname
    execute(f'drop index marts."{index}"')
    execute("insert into marts.fct_loans select * from marts.fct_loans limit 1")
    assert _dbt_test_fails("postgres", postgres_env, "-s", "fct_loans")
