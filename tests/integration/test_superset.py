"""The dashboards as code in a real Superset 6.1, checked through its API and in Chromium.

The Superset virtualenv and metadata database live under .cache/superset (built on the
first run, reused after). The screenshots are kept in test-artifacts/superset/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from exports.drift import drift_report
from exports.lake import LocalLake
from exports.superset_bundle import load_assets
from exports.superset_local import PASSED_THROUGH, LocalSuperset, default_home, wait_healthy
from exports.superset_provision import SupersetApi, SupersetLogin, provision
from ingest.settings import Settings
from ingest.streaming.producer import produce_history
from ingest.warehouse.batch import utc_now
from ingest.warehouse.session import open_session, read_frame
from ml.backtest_scores import backtest_scores
from ml.behaviour import train_behaviour
from ml.scoring import score
from ml.training import train
from tests.conftest import REPO_ROOT
from tests.dbt_runner import run_dbt
from tests.integration.streaming import produce, run_ingester
from tests.landing import duckdb_writer, land_csv, postgres_writer, write_decisions
from tests.postgres_cluster import free_port

BROWSER_DIR = REPO_ROOT / "tests" / "browser"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "superset"
ASSETS = load_assets()
# The KPI big numbers and the kpi_summary column each must equal: the original's six, then
# the live watchlist's.
KPI_COLUMNS = {
    "kpi_resolved_loans": "resolved_loans",
    "kpi_default_rate": "resolved_default_rate",
    "kpi_rule_flagged_loans": "resolved_rule_flagged_loans",
    "kpi_rule_flagged_share": "resolved_rule_flagged_share",
    "kpi_rule_flagged_default_rate": "resolved_rule_flagged_default_rate",
    "kpi_rule_lift": "resolved_rule_lift",
    "kpi_active_flagged_loans": "active_flagged_loans",
    "kpi_active_flagged_balance": "active_flagged_balance",
    "kpi_active_30_plus_balance_rate": "active_30_plus_balance_rate",
}
KPI_QUERY = "select * from marts.kpi_summary where segment_type = 'portfolio'"
EXPECTED_LOSS_QUERY = "select sum(expected_loss) as expected_loss from marts.fct_loan_expected_loss"  # the book's, from the loans: the big number reads expected_loss_summary
# Pipeline Health's live figures, read from raw.ingest_batches and live.loan_decisions.
LIVE_CHARTS = ("time_since_last_event", "seconds_since_last_decision", "decision_lag_p95")
EVENT_AGE_QUERY = (
    "select extract(epoch from (timezone('utc', current_timestamp) - max(landed_at))) as age "
    "from (select landed_at from raw.loan_applications "
    "union all select landed_at from raw.loan_performance) as events"
)
BAD_ROWS = (
    "id,loan_amnt,term,issue_d,loan_status,dti\n"
    "900001,1000.0, 36 months,Mar-2017\n"  # wrong column count
    "L-2,4000.0, 36 months,Mar-2017,Current,1\n"  # a malformed id
    "900003,6000.0, 36 months,sometime,Current,1\n"  # issue_d is not a month
)


@pytest.fixture(scope="session")
def superset_process(tmp_path_factory) -> Iterator[tuple[subprocess.Popen, SupersetLogin]]:
    local = LocalSuperset(default_home(), instance="test")
    local.ensure_venv()
    local.ensure_initialised()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = local.start(port, tmp_path_factory.mktemp("superset") / "superset.log")
    try:
        wait_healthy(url, timeout=120, process=process)
        yield process, SupersetLogin(url, "admin", local.admin_password)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def superset(superset_process) -> SupersetLogin:
    return superset_process[1]


@pytest.fixture(scope="module")
def duckdb_book(tmp_path_factory, kafka_bootstrap, synthetic_csv, synthetic_history) -> Settings:
    """A small book through the whole pipeline, so every chart has data to draw: events and
    the loans' monthly history streamed from Kafka, a bad file quarantined, dbt, a trained and
    scored model, drift, and 100 stream-scorer decisions a minute ago, decided 1..100 s after
    their events."""
    folder = tmp_path_factory.mktemp("superset_book")
    path = folder / "w.duckdb"
    env = {
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(path),
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "INGEST_APPLICATIONS_TOPIC": "superset-apps",
        "INGEST_PERFORMANCE_TOPIC": "superset-perf",
        "INGEST_CONSUMER_GROUP": "superset-ingest",
        "INGEST_METRICS_PORT": "0",
    }
    produce(env, synthetic_csv)
    # The history from 2016 on: enough months for every chart, half the events to land.
    produce_history(
        Settings.from_env({**os.environ, **env}),
        synthetic_history,
        show_progress=False,
        since="2016-01",
    )
    ingested = run_ingester(env)
    assert ingested.returncode == 0, ingested.stderr
    bad_csv = folder / "bad.csv"
    bad_csv.write_text(BAD_ROWS)
    land_csv(duckdb_writer(path), bad_csv)
    run_dbt("run", target="duckdb", env=env)  # the models only: test_dbt_build runs their tests
    store = open_session(Settings(duckdb_path=path))
    try:
        train(store, folder / "models", progress=lambda _: None)
        score(store)
        backtest_scores(store, progress=lambda _: None)
        train_behaviour(store, folder / "models", progress=lambda _: None)
    finally:
        store.close()
    # The models the ML step's tables feed, and the marts after them.
    run_dbt("run", "--select", "source:ml+", target="duckdb", env=env)
    store = open_session(Settings(duckdb_path=path))
    try:
        drift_report(store, LocalLake(folder / "lake"), datetime.now(UTC).date())
    finally:
        store.close()
    settings = Settings.from_env(env)
    decided = utc_now() - timedelta(seconds=60)
    write_decisions(settings, [(decided, lag) for lag in range(1, 101)])
    return settings


@pytest.fixture(scope="module")
def provisioned(superset, duckdb_book) -> SupersetApi:
    provision(duckdb_book, superset)
    return SupersetApi(superset)


def _ours(api: SupersetApi, resource: str, field: str, names: set[str]) -> list[str]:
    return [item[field] for item in api.list_all(resource) if item[field] in names]


def test_provisioning_twice_leaves_one_copy_of_everything(superset, duckdb_book, provisioned):
    dashboards = provision(duckdb_book, superset)
    assert sorted(dashboards) == sorted(d["dashboard_title"] for d in ASSETS.dashboards.values())
    api = provisioned
    chart_names = {chart["slice_name"] for chart in ASSETS.charts.values()}
    dataset_names = {dataset["table_name"] for dataset in ASSETS.datasets.values()}
    dashboard_names = set(dashboards)
    assert len(_ours(api, "chart", "slice_name", chart_names)) == len(ASSETS.charts)
    assert len(_ours(api, "dataset", "table_name", dataset_names)) == len(ASSETS.datasets)
    assert len(_ours(api, "dashboard", "dashboard_title", dashboard_names)) == len(
        ASSETS.dashboards
    )
    database = ASSETS.database["database_name"]
    assert _ours(api, "database", "database_name", {database}) == [database]
    slug = ASSETS.dashboards["pipeline_health"]["slug"]
    metadata = json.loads(api.get(f"/api/v1/dashboard/{slug}")["result"]["json_metadata"])
    assert metadata["refresh_frequency"] == 60  # seconds: its live figures move


def _chart_data(api: SupersetApi, names) -> dict[str, dict]:
    by_title = {chart["slice_name"]: chart["id"] for chart in api.list_all("chart")}
    results = {}
    for name in names:
        spec = ASSETS.charts[name]
        response = api.session.get(f"{api.url}/api/v1/chart/{by_title[spec['slice_name']]}/data/")
        assert response.status_code == 200, f"{name}: {response.text[:500]}"
        results[name] = response.json()["result"][0]
    return results


def test_every_chart_answers_with_data_and_the_kpis_equal_the_warehouse(duckdb_book, provisioned):
    results = _chart_data(provisioned, ASSETS.charts)
    empty = [name for name, result in results.items() if not result["rowcount"]]
    assert not empty, f"charts with no rows: {empty}"
    expected = read_frame(duckdb_book, KPI_QUERY).iloc[0]
    for chart, column in KPI_COLUMNS.items():
        (row,) = results[chart]["data"]
        assert row[ASSETS.charts[chart]["metric"]] == pytest.approx(expected[column]), chart
    (loss,) = results["kpi_expected_loss"]["data"]
    book_loss = read_frame(duckdb_book, EXPECTED_LOSS_QUERY)["expected_loss"].iloc[0]
    assert book_loss > 0 and loss["expected_loss"] == pytest.approx(book_loss)
    live = {name: results[name]["data"][0][ASSETS.charts[name]["metric"]] for name in LIVE_CHARTS}
    # The decisions' lags are 1..100 s: percentile_cont puts the p95 at 1 + 0.95 * 99 = 95.05.
    assert live["decision_lag_p95"] == pytest.approx(95.05)
    assert 60 <= live["seconds_since_last_decision"] < 60 * 60
    event_age = read_frame(duckdb_book, EVENT_AGE_QUERY)["age"].iloc[0]
    assert live["time_since_last_event"] == pytest.approx(event_age, abs=30)


def _image_has_content(path: Path) -> bool:
    """Not blank: the pixels vary (text, bars, lines), not one flat colour."""
    with Image.open(path) as image:
        grey = image.convert("L")
        return ImageStat.Stat(grey).stddev[0] > 8 and len(grey.getcolors(65536) or []) > 16


def test_the_dashboards_draw_every_chart_in_chromium(superset, provisioned):
    if not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, check=True)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    slugs = {spec["slug"]: name for name, spec in ASSETS.dashboards.items()}
    captured = subprocess.run(
        ["node", "capture_dashboards.mjs", superset.url, str(ARTIFACTS), *slugs],
        cwd=BROWSER_DIR,
        env={
            **os.environ,
            "SUPERSET_USERNAME": superset.username,
            "SUPERSET_PASSWORD": superset.password,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert captured.returncode == 0, captured.stderr[-3000:]
    summary = json.loads(captured.stdout)
    for slug, name in slugs.items():
        shown = summary[slug]
        expected = [ASSETS.charts[chart]["slice_name"] for chart in ASSETS.dashboard_charts(name)]
        assert [chart["title"] for chart in shown["charts"]] == expected
        problems = [c for c in shown["charts"] if not c["drawn"] or c["empty"] or c["error"]]
        assert not problems, f"{slug}: {problems}"
        assert _image_has_content(Path(shown["screenshot"]))
        blank = [p for p in shown["chart_screenshots"] if not _image_has_content(Path(p))]
        assert not blank, f"{slug}: blank chart images {blank}"


def test_the_superset_process_gets_no_secret_of_the_environment(superset_process):
    process, _ = superset_process
    environ = (Path("/proc") / str(process.pid) / "environ").read_bytes().split(b"\0")
    names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
    own = {"SUPERSET_CONFIG_PATH", "SUPERSET_HOME", "SUPERSET_SECRET_KEY", "FLASK_APP"}
    assert names <= own | {"PYTHONWARNINGS", *PASSED_THROUGH}, names


def _warehouse_database_id(api: SupersetApi) -> int:
    (database,) = [
        db
        for db in api.list_all("database")
        if db["database_name"] == ASSETS.database["database_name"]
    ]
    return database["id"]


def _sql(api: SupersetApi, sql: str) -> tuple[int, str]:
    """SQL through Superset's SQL Lab API, as any user allowed SQL Lab can send it."""
    response = api.session.post(
        f"{api.url}/api/v1/sqllab/execute/",
        json={
            "database_id": _warehouse_database_id(api),
            "sql": sql,
            "runAsync": False,
            "client_id": uuid.uuid4().hex[:10],
            "queryLimit": 10,
        },
    )
    return response.status_code, response.text


def test_sql_through_supersets_duckdb_connection_cannot_touch_files_or_settings(
    provisioned, tmp_path
):
    api = provisioned
    database = api.get(f"/api/v1/database/{_warehouse_database_id(api)}")["result"]
    assert database["expose_in_sqllab"] is False
    status, text = _sql(api, "select count(*) as n from marts.fct_loans")
    assert status == 200 and '"n"' in text, text[:500]
    status, text = _sql(api, "select * from read_text('/proc/self/environ')")
    assert status != 200 and "disabled by configuration" in text, text[:500]
    for attack in (
        f"copy (select 1 as n) to '{tmp_path}/leak.csv'",
        f"attach '{tmp_path}/other.duckdb' as other",
        "set enable_external_access = true",
        "install httpfs",
    ):
        status, text = _sql(api, attack)
        assert status != 200, f"{attack}: {text[:500]}"
    assert list(tmp_path.iterdir()) == []
    status, text = _sql(api, "select * from read_text('/proc/self/environ')")
    assert status != 200 and "disabled by configuration" in text, text[:500]


def test_the_drift_report_links_are_text_not_html(provisioned):
    (result,) = _chart_data(provisioned, ["drift_reports"]).values()
    assert result["rowcount"] and all("<" not in row["report_url"] for row in result["data"])


# Last: it points the shared Superset database at a Postgres warehouse.
def test_postgres_warehouse_provisions_and_its_kpis_match(
    superset, postgres_env, synthetic_csv, monkeypatch
):
    monkeypatch.setenv("SUPERSET_PG_PASSWORD", "reader-pw")
    env = {**postgres_env, "WAREHOUSE": "postgres"}
    land_csv(postgres_writer(), synthetic_csv)
    run_dbt("run", target="postgres", env=env)  # the tables (test_dbt_build tests them)
    settings = Settings.from_env(env)
    warnings: list[str] = []
    provision(settings, superset, warn=warnings.append)
    # No drift report has run on this warehouse: its tables are the ones reported missing.
    missing = (
        "monitoring.feature_drift",
        "monitoring.score_stability",
        "monitoring.model_performance",
    )
    assert len(warnings) == 3 and all(any(t in w for w in warnings) for t in missing), warnings
    api = SupersetApi(superset)
    database = api.get(f"/api/v1/database/{_warehouse_database_id(api)}")["result"]
    assert database["backend"] == "postgresql"
    results = _chart_data(api, [*KPI_COLUMNS, *LIVE_CHARTS])  # the live ones as the reader
    expected = read_frame(settings, KPI_QUERY).iloc[0]
    for chart, column in KPI_COLUMNS.items():
        (row,) = results[chart]["data"]
        assert row[ASSETS.charts[chart]["metric"]] == pytest.approx(expected[column]), chart
    # Superset is the read-only role: the marts (above), not the raw payloads, and no writes.
    for attack in ("select count(*) from raw.loan_applications", "select count(*) from ml.model_runs",
                   "select raw_value from live.decision_quarantine",
                   "delete from marts.kpi_summary", "create table marts.mine (n int)"):  # fmt: skip
        status, text = _sql(api, attack)
        assert status != 200, f"{attack}: {text[:500]}"
    status, text = _sql(api, "select count(*) from raw.loan_applications")
    assert "permission denied" in text, text[:500]
