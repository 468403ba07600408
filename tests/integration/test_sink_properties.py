"""Generated messages through the real sink into a real warehouse (DuckDB and Postgres): each
checkpoint commits, and every message is either landed or quarantined, never lost and never
the reason a checkpoint fails."""

from __future__ import annotations

import itertools
from functools import partial

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.settings import Settings
from ingest.streaming.metrics import IngestMetrics
from ingest.streaming.sink import WarehouseSink
from ingest.warehouse.writer import open_initialised_writer, open_writer
from tests.conftest import _connect_args
from tests.properties import messages

TOPICS = {"apps": "loan.application", "perf": "loan.performance"}


@pytest.fixture(params=["duckdb", "postgres"], scope="module")
def warehouse_settings(request, tmp_path_factory) -> Settings:
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        admin = psycopg2.connect(**_connect_args(server))
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("drop database if exists sink_properties")
            cur.execute("create database sink_properties")
        admin.close()
        mp = pytest.MonkeyPatch()
        for key, value in {**server, "PGDATABASE": "sink_properties"}.items():
            mp.setenv(key, value)
        request.addfinalizer(mp.undo)
        return Settings(warehouse="postgres")
    return Settings(duckdb_path=tmp_path_factory.mktemp("sink") / "w.duckdb")


@pytest.fixture(scope="module")
def sink(warehouse_settings):
    metrics = IngestMetrics()
    sink = WarehouseSink(
        partial(open_initialised_writer, warehouse_settings), TOPICS, 1_048_576, metrics
    )
    sink.setup()
    sink.sent = 0
    sink.offsets = itertools.count()
    yield sink
    sink.close()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(st.tuples(st.sampled_from(list(TOPICS)), messages()), max_size=30))
def test_every_generated_message_lands_or_is_quarantined(sink, batch):
    before = _landed_or_quarantined(sink.metrics)
    for topic, value in batch:
        offset = next(sink.offsets)
        sink.add(value, None, 1_700_000_000_000, [], topic, offset % 3, offset)
    sink.flush()  # raises if the checkpoint could not commit
    sink.sent += len(batch)
    assert _landed_or_quarantined(sink.metrics) - before == len(batch)


def _landed_or_quarantined(metrics: IngestMetrics) -> int:
    return metrics.total("ingest_events_landed") + metrics.total("ingest_events_quarantined")


def test_the_warehouse_holds_every_message_sent(sink, warehouse_settings):
    """Runs after the property test in this module: the tables agree with the counts."""
    sink.close()
    warehouse = open_writer(warehouse_settings)
    try:
        (held,) = warehouse.session.rows(
            "select (select count(*) from raw.loan_applications) "
            "+ (select count(*) from raw.loan_performance) "
            "+ (select count(*) from raw.ingest_quarantine)"
        )[0]
    finally:
        warehouse.close()
    assert held == sink.sent > 0
