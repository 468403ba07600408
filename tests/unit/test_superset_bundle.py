"""The dashboards-as-code renderer: the repo's assets, and what each one turns into."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from exports.superset_bundle import (
    DATABASE_FILE,
    GRID_COLUMNS,
    AssetError,
    Column,
    asset_uuid,
    chart_form_data,
    chart_query,
    check_references,
    load_assets,
    render_bundle,
    zip_bundle,
)
from exports.superset_provision import ProvisionError, warehouse_connection
from exports.superset_role import READER_TABLES
from ingest.settings import Settings

ASSETS = load_assets()
COLUMNS = {
    name: [Column("interval_start", "TIMESTAMP"), Column("segment", "VARCHAR")]
    for name in ASSETS.datasets
}


def _render() -> dict[str, dict]:
    return render_bundle(ASSETS, "duckdb:////tmp/w.duckdb", COLUMNS)


def test_the_repos_assets_have_four_dashboards_over_marts_and_monitoring_tables():
    titles = {spec["dashboard_title"] for spec in ASSETS.dashboards.values()}
    assert titles == {
        "Portfolio & Early Warning", "Early-warning performance", "Pipeline Health",
        "Model & Drift",
    }  # fmt: skip
    schemas = {spec["schema"] for spec in ASSETS.datasets.values()}
    assert schemas == {"marts", "monitoring", "raw", "live"}
    # Pipeline Health's live figures only: the two tables the reader role may read there.
    outside = {
        (spec["schema"], spec["table_name"])
        for spec in ASSETS.datasets.values()
        if spec["schema"] in ("raw", "live")
    }
    assert outside == set(READER_TABLES)
    kpis = [
        name
        for name in ASSETS.dashboard_charts("portfolio_early_warning")
        if name.startswith("kpi_")
    ]
    # The original's six (the rule on resolved loans), then the live watchlist's four.
    assert len(kpis) == 10 and kpis[:6] == [
        "kpi_resolved_loans", "kpi_default_rate", "kpi_rule_flagged_loans",
        "kpi_rule_flagged_share", "kpi_rule_flagged_default_rate", "kpi_rule_lift",
    ]  # fmt: skip
    placed = {chart for name in ASSETS.dashboards for chart in ASSETS.dashboard_charts(name)}
    assert placed == set(ASSETS.charts), "every chart sits on a dashboard"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda a: a.charts["watchlist"].update(dataset="nope"),
            "charts/watchlist.yaml: dataset 'nope'",
        ),
        (
            lambda a: a.charts["kpi_default_rate"].update(metric="nope"),
            "metric 'nope' is not defined",
        ),
        (lambda a: a.charts["watchlist"].update(viz_type="pie"), "viz_type 'pie'"),
        (
            lambda a: a.dashboards["pipeline_health"].update(refresh_frequency="1m"),
            "refresh_frequency '1m' is not a whole number of seconds",
        ),
        (lambda a: a.dashboards["model_drift"]["rows"][0]["charts"].append("nope"), "chart 'nope'"),
        (
            lambda a: a.dashboards["model_drift"]["rows"][4]["charts"].extend(
                ["watchlist", "pd_distribution", "vintage_curves", "kpi_default_rate"]
            ),
            "a row of 5 charts cannot share",
        ),
    ],
)
def test_a_broken_reference_names_the_file_and_the_problem(edit, message):
    broken = copy.deepcopy(ASSETS)
    edit(broken)
    with pytest.raises(AssetError, match=message):
        check_references(broken)


def test_the_bundle_links_every_dashboard_slot_to_a_chart_of_the_bundle():
    files = _render()
    chart_uuids = {files[path]["uuid"] for path in files if path.startswith("charts/")}
    dataset_uuids = {files[path]["uuid"] for path in files if path.startswith("datasets/")}
    assert {
        files[path]["dataset_uuid"] for path in files if path.startswith("charts/")
    } <= dataset_uuids
    for path in (p for p in files if p.startswith("dashboards/")):
        position = files[path]["position"]
        for row_id in position["GRID_ID"]["children"]:
            slots = [position[child]["meta"] for child in position[row_id]["children"]]
            assert sum(slot["width"] for slot in slots) == GRID_COLUMNS
            assert {slot["uuid"] for slot in slots} <= chart_uuids


def test_pipeline_health_refreshes_itself_and_the_other_dashboards_do_not():
    files = _render()
    refresh = {
        path: files[path]["metadata"]["refresh_frequency"]
        for path in files
        if path.startswith("dashboards/")
    }
    assert refresh == {
        "dashboards/early_warning_performance.yaml": 0,
        "dashboards/model_drift.yaml": 0,
        "dashboards/pipeline_health.yaml": 60,
        "dashboards/portfolio_early_warning.yaml": 0,
    }


def test_uuids_are_stable_so_a_second_import_overwrites():
    assert asset_uuid("chart", "watchlist") == asset_uuid("chart", "watchlist")
    assert asset_uuid("chart", "watchlist") != asset_uuid("dataset", "watchlist")
    assert _render()["charts/watchlist.yaml"]["uuid"] == _render()["charts/watchlist.yaml"]["uuid"]


def test_datasets_take_the_warehouse_columns_and_mark_the_temporal_ones():
    dataset = _render()["datasets/ingest_health.yaml"]
    flags = {c["column_name"]: c["is_dttm"] for c in dataset["columns"]}
    assert flags == {"interval_start": True, "segment": False}
    missing = render_bundle(ASSETS, "duckdb:///x", {})["datasets/kpi_summary.yaml"]
    assert missing["columns"] == []  # filled in once the table exists


def test_each_viz_gets_the_query_the_chart_data_api_runs():
    big_number = chart_query(ASSETS.charts["kpi_default_rate"])
    assert big_number["metrics"] == ["default_rate"]
    assert big_number["extras"] == {"where": "(segment_type = 'portfolio')"}
    raw = chart_query(ASSETS.charts["watchlist"])
    assert raw["columns"][:3] == ["watchlist_rank", "loan_id", "severity"]
    assert raw["metrics"] == []
    assert raw["orderby"] == [["watchlist_rank", True]]  # severity, then expected loss
    aggregate = chart_query(ASSETS.charts["risk_tier_performance"])
    assert aggregate["columns"] == ["segment"]
    assert aggregate["orderby"][0][0]["sqlExpression"] == "min(segment)"
    line = chart_query(ASSETS.charts["events_landed"])
    assert line["columns"][0]["timeGrain"] == "PT1M"
    assert chart_query(ASSETS.charts["pd_distribution"])["columns"] == ["pd"]


def test_form_data_formats_big_numbers_with_the_metrics_own_format():
    spec = ASSETS.charts["kpi_default_rate"]
    form = chart_form_data(spec, ASSETS.datasets["kpi_summary"])
    assert form["y_axis_format"] == ".2%" and form["metric"] == "default_rate"
    assert form["adhoc_filters"][0]["sqlExpression"] == "segment_type = 'portfolio'"


READER_ENV = {
    "PGPASSWORD": "owner-pw", "PGUSER": "risk", "PGHOST": "db", "PGDATABASE": "credit",
    "SUPERSET_PG_USER": "bi_reader", "SUPERSET_PG_PASSWORD": "s3cret-pw",
}  # fmt: skip


def test_postgres_is_reached_as_the_read_only_role_and_no_password_enters_the_bundle():
    connection = warehouse_connection(Settings(warehouse="postgres"), READER_ENV)
    assert connection.uri == "postgresql+psycopg2://bi_reader:XXXXXXXXXX@db:5432/credit"
    assert connection.password == "s3cret-pw"
    bundle = zip_bundle(render_bundle(ASSETS, connection.uri, COLUMNS))
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        text = "".join(archive.read(name).decode() for name in archive.namelist())
        database = yaml.safe_load(archive.read(f"credit_risk_ews_assets/{DATABASE_FILE}"))
    assert "s3cret-pw" not in text and "owner-pw" not in text
    assert database["sqlalchemy_uri"] == connection.uri


def test_postgres_without_the_reader_password_is_a_clear_error():
    env = {key: value for key, value in READER_ENV.items() if key != "SUPERSET_PG_PASSWORD"}
    with pytest.raises(ProvisionError, match="SUPERSET_PG_PASSWORD is not set"):
        warehouse_connection(Settings(warehouse="postgres"), env)


def test_the_reader_role_is_the_default_user_and_the_override_uri_takes_its_password():
    env = {"SUPERSET_PG_PASSWORD": "pw", "PGPASSWORD": "owner-pw"}
    connection = warehouse_connection(Settings(warehouse="postgres"), env)
    assert connection.uri.startswith("postgresql+psycopg2://superset_reader:XXXXXXXXXX@")
    uri = "postgresql+psycopg2://superset_reader:XXXXXXXXXX@elsewhere:5432/credit"
    other = warehouse_connection(
        Settings(warehouse="postgres"), {**env, "SUPERSET_WAREHOUSE_URI": uri}
    )
    assert (other.uri, other.password) == (uri, "pw")


def test_duckdb_is_opened_read_only_with_no_file_or_external_access():
    connection = warehouse_connection(Settings(duckdb_path=Path("w.duckdb")), {})
    assert connection.uri == f"duckdb:///{Path('w.duckdb').resolve()}"
    assert connection.engine_params == {
        "connect_args": {
            "read_only": True,
            "config": {"enable_external_access": False, "lock_configuration": True},
        }
    }
    assert connection.password is None


ESCAPES = {
    "read a file": "select * from read_text('/proc/self/environ')",
    "write a file": "copy (select 1) to '{folder}/leak.csv'",
    "attach a database": "attach '{folder}/other.duckdb' as other",
    "unlock": "set enable_external_access = true",
    "change a setting": "set memory_limit = '1GB'",
    "install an extension": "install httpfs",
}


@pytest.mark.parametrize("what", ESCAPES)
def test_the_duckdb_connection_superset_gets_reads_the_marts_and_nothing_else(tmp_path, what):
    """duckdb-engine hands connect_args to duckdb.connect (config included): the same here."""
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create table marts.kpi as select 1 as n")
    connection = warehouse_connection(Settings(duckdb_path=path), {})
    with duckdb.connect(str(path), **connection.engine_params["connect_args"]) as con:
        assert con.execute("select n from marts.kpi").fetchall() == [(1,)]
        with pytest.raises(duckdb.Error, match=r"disabled by configuration|has been locked"):
            con.execute(ESCAPES[what].format(folder=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]


def test_sql_lab_and_dml_are_off_for_the_warehouse():
    database = _render()[DATABASE_FILE]
    assert database["expose_in_sqllab"] is False and database["allow_dml"] is False


def test_no_table_chart_renders_html_even_when_asked_to():
    asked = copy.deepcopy(ASSETS)
    for spec in asked.charts.values():
        spec.setdefault("options", {})["allow_render_html"] = True
    for assets in (ASSETS, asked):
        files = render_bundle(assets, "duckdb:///x", COLUMNS)
        tables = [
            f
            for path, f in files.items()
            if path.startswith("charts/") and f["viz_type"] == "table"
        ]
        assert len(tables) >= 3
        for chart in tables:
            form_data = json.loads(chart["query_context"])["form_data"]
            assert chart["params"]["allow_render_html"] is False, chart["slice_name"]
            assert form_data["allow_render_html"] is False, chart["slice_name"]


def test_query_context_carries_the_form_data():
    chart = _render()["charts/watchlist.yaml"]
    context = json.loads(chart["query_context"])
    assert context["form_data"] == chart["params"]
    assert context["queries"][0]["row_limit"] == 200
