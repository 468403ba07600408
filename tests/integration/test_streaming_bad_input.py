"""Every class of bad message lands in raw.ingest_quarantine with an actionable reason, the
good events around it all land, and the service keeps running. Embedded DuckDB warehouse."""

from __future__ import annotations

import os
from datetime import date

import duckdb
import orjson
import pytest
from confluent_kafka import Producer

from ingest.events import LoanEventBuilder
from ingest.files.lendingclub_csv import LendingClubCsv
from ingest.settings import Settings
from ingest.streaming.quarantine_replay import reprocess_quarantine
from ingest.streaming.topics import ensure_topics
from tests.integration.streaming import run_ingester
from tests.landing import duckdb_writer

GOOD_LOANS = 100
MAX_BYTES = 20_000


def _good_events(csv_path):
    export = LendingClubCsv(csv_path)
    builder = LoanEventBuilder(export.header, "test", date.today().year)
    rows = (record for record in export if hasattr(record, "values"))
    return [builder.build(next(rows).values) for _ in range(GOOD_LOANS)]


def _envelope(**changes) -> dict:
    event = {
        "event_id": "00000000-0000-5000-8000-000000000001", "event_type": "loan.application",
        "schema_version": 1, "occurred_at": "2017-03-01T00:00:00Z", "source": "test",
        "loan_id": "424242", "payload": {"loan_amnt": "1000"},
    }  # fmt: skip
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


# class -> (topic kind, raw value, quarantine field, words the reason must contain)
BAD_MESSAGES = {
    "not_json": ("apps", b"\x00\xffnot json{", None, "not JSON"),
    "json_not_object": ("apps", b'[1, 2, 3]', None, "not an object"),
    "missing_envelope_field": ("apps", orjson.dumps(_envelope(event_id=None)), "event_id", "missing"),
    "mistyped_envelope_field": ("apps", orjson.dumps(_envelope(schema_version="1")), "schema_version", "must be an integer"),
    "unknown_event_type": ("apps", orjson.dumps(_envelope(event_type="loan.refund")), "event_type", "unknown event_type"),
    "unknown_schema_version": ("apps", orjson.dumps(_envelope(schema_version=2)), "schema_version", "unsupported schema_version 2"),
    "oversized": ("apps", orjson.dumps(_envelope(payload={"desc": "x" * MAX_BYTES})), None, "over the 20,000-byte limit"),
    "wrong_topic": ("perf", orjson.dumps(_envelope()), "event_type", "on the topic for loan.performance"),
    "empty_message": ("perf", b"", None, "empty message"),
    "bad_payload": ("apps", orjson.dumps(_envelope(payload="text")), "payload", "must be a JSON object"),
}  # fmt: skip


@pytest.fixture(scope="module")
def landed(tmp_path_factory, kafka_bootstrap, synthetic_csv):
    """Good events, each bad message in between, one ingest run; yields (env, quarantine)."""
    run = tmp_path_factory.mktemp("bad-input")
    env = {
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "INGEST_APPLICATIONS_TOPIC": f"apps-{run.name}",
        "INGEST_PERFORMANCE_TOPIC": f"perf-{run.name}",
        "INGEST_CONSUMER_GROUP": f"ingest-{run.name}",
        "INGEST_METRICS_PORT": "0",
        "INGEST_MAX_EVENT_BYTES": str(MAX_BYTES),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(run / "w.duckdb"),
    }
    topics = {"apps": env["INGEST_APPLICATIONS_TOPIC"], "perf": env["INGEST_PERFORMANCE_TOPIC"]}
    ensure_topics(kafka_bootstrap, list(topics.values()))
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    good = _good_events(synthetic_csv)
    bad = iter(BAD_MESSAGES.items())
    for i, (application, performance) in enumerate(good):
        producer.produce(topics["apps"], application.to_json(), application.loan_id.encode())
        producer.produce(topics["perf"], performance.to_json(), performance.loan_id.encode())
        if i % 9 == 0 and (case := next(bad, None)):
            name, (kind, value, _, _) = case
            producer.produce(topics[kind], value, name.encode())
    assert producer.flush(30) == 0
    result = run_ingester(env)
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(env["DUCKDB_PATH"], read_only=True)
    quarantine = con.execute(
        "select raw_record, error_field, reason, source_name, source_partition, source_offset "
        "from raw.ingest_quarantine"
    ).fetchall()
    counts = {
        table: con.execute(f"select count(distinct event_id) from raw.{table}").fetchone()[0]
        for table in ("loan_applications", "loan_performance")
    }
    con.close()
    return env, quarantine, counts, result.stdout


@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_bad_message_is_quarantined_with_its_reason(landed, case):
    env, quarantine, _, _ = landed
    kind, value, field, words = BAD_MESSAGES[case]
    (row,) = [row for row in quarantine if bytes(row[0]) == value]
    _, error_field, reason, topic, partition, offset = row
    assert error_field == field
    assert words in reason
    expected_topic = env[
        "INGEST_APPLICATIONS_TOPIC" if kind == "apps" else "INGEST_PERFORMANCE_TOPIC"
    ]
    assert topic == expected_topic
    assert reason.startswith(f"{topic}[{partition}] offset {offset}: ")


def test_good_events_around_bad_ones_all_land(landed):
    _, quarantine, counts, stdout = landed
    assert counts == {"loan_applications": GOOD_LOANS, "loan_performance": GOOD_LOANS}
    assert len(quarantine) == len(BAD_MESSAGES)
    assert f"{len(BAD_MESSAGES)} quarantined" in stdout


def test_reprocessing_after_a_fix_lands_what_now_passes_once(landed):
    env, _, _, _ = landed
    fixed = Settings.from_env({**os.environ, **env, "INGEST_MAX_EVENT_BYTES": str(10 * MAX_BYTES)})
    warehouse = duckdb_writer(fixed.duckdb_path)
    try:
        first = reprocess_quarantine(warehouse, fixed)
        again = reprocess_quarantine(warehouse, fixed)
        landed_ids = warehouse.session.rows(
            "select count(*) from raw.loan_applications where loan_id = '424242'"
        )
    finally:
        warehouse.close()
    assert (first.held, first.landed, first.still_rejected) == (
        len(BAD_MESSAGES),
        1,
        len(BAD_MESSAGES) - 1,
    )
    assert (again.held, again.landed) == (len(BAD_MESSAGES) - 1, 0)
    assert landed_ids == [(1,)]
