"""The live figures of Pipeline Health, computed by hand and read with the SQL its charts run:
the chart's saved metric over its dataset's table, under the chart's filter, on both engines."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from exports.superset_bundle import load_assets
from exports.superset_charts import chart_query
from ingest.settings import Settings
from ingest.warehouse.batch import Batch, SourcePosition, utc_now
from ingest.warehouse.session import open_session, read_frame
from ingest.warehouse.writer import open_initialised_writer
from tests.landing import batch_at, write_decisions

ASSETS = load_assets()
SLACK = 60  # seconds the test may take between writing the rows and reading the figure


@pytest.fixture(params=["duckdb", "postgres"])
def settings(request, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        request.getfixturevalue("postgres_env")
        return Settings(warehouse="postgres")
    return Settings(warehouse="duckdb", duckdb_path=tmp_path / "w.duckdb")


def chart_value(settings: Settings, chart_name: str) -> float:
    """What the chart's big number shows: its metric over its dataset, with its filter."""
    chart = ASSETS.charts[chart_name]
    dataset = ASSETS.datasets[chart["dataset"]]
    (expression,) = (
        metric["expression"]
        for metric in dataset["metrics"]
        if metric["metric_name"] == chart["metric"]
    )
    where = chart_query(chart)["extras"].get("where")
    sql = f"select {expression} as value from {dataset['schema']}.{dataset['table_name']}"
    return read_frame(settings, sql + (f" where {where}" if where else ""))["value"].iloc[0]


def test_seconds_since_the_last_event_is_the_age_of_the_newest_landed_event(settings):
    writer = open_initialised_writer(settings)
    try:
        writer.land(batch_at([1, 2, 3]))
        quarantined = Batch()  # a later landing with no event in it does not count
        quarantined.add_quarantine(b"not json", "undecodable", SourcePosition("kafka", "t", 0, 4))
        writer.land(quarantined)
    finally:
        writer.close()
    with open_session(settings) as session, session.transaction():  # the events: 10 min ago
        session.execute(
            "update raw.loan_applications set landed_at = landed_at - interval '600 seconds'"
        )
        session.execute(
            "update raw.ingest_batches set started_at = started_at - interval '600 seconds' "
            "where applications_landed > 0"
        )
    ages = read_frame(
        settings,
        "select extract(epoch from (timezone('utc', current_timestamp) - max(landed_at))) as age "
        "from (select landed_at from raw.loan_applications "
        "union all select landed_at from raw.loan_performance) as events",
    )
    seconds = chart_value(settings, "time_since_last_event")
    assert 600 <= seconds < 600 + SLACK
    assert seconds == pytest.approx(ages["age"].iloc[0], abs=5)


def test_decision_lag_p95_of_the_last_hour_and_seconds_since_the_last_decision(settings):
    now = utc_now()
    recent = now - timedelta(seconds=120)
    old = now - timedelta(hours=2)
    # 100 decisions of the last hour, decided 1..100 s after their event, and 5 older ones,
    # 10,000 s late, that the hour leaves out.
    rows = [(recent, lag) for lag in range(1, 101)] + [(old, 10_000)] * 5
    write_decisions(settings, rows)
    # Linear interpolation between order statistics (percentile_cont): the 95th percentile of
    # 1..100 sits at 0.95 * (100 - 1) = 94.05 places past the first value, 1 + 94.05 = 95.05.
    assert chart_value(settings, "decision_lag_p95") == pytest.approx(95.05)
    assert 120 <= chart_value(settings, "seconds_since_last_decision") < 120 + SLACK
