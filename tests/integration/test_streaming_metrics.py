"""The service's /metrics endpoint reports what it did, with correct counts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.streaming import produce, start_ingester, wait_for
from tests.postgres_cluster import controlled_cluster, free_port

EVENTS = 400


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_consumed_landed_quarantined_and_latency(stream_env, synthetic_csv, tmp_path):
    port = free_port()
    env = {
        **stream_env,
        "INGEST_METRICS_PORT": str(port),
        "DUCKDB_PATH": str(tmp_path / "w.duckdb"),
    }
    apps, perf = env["INGEST_APPLICATIONS_TOPIC"], env["INGEST_PERFORMANCE_TOPIC"]
    assert produce(env, synthetic_csv, count=EVENTS) == EVENTS
    producer = Producer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"]})
    producer.produce(apps, b"not json")
    assert producer.flush(10) == 0

    process = start_ingester(env, until_idle=6)
    try:
        landed = lambda: sum(  # noqa: E731
            value
            for (name, _), value in _scrape(port).items()
            if name == "ingest_events_landed_total"
        )
        wait_for(lambda: landed() == EVENTS, timeout=60, what="/metrics to show every event landed")
        metrics = _scrape(port)
    finally:
        process.communicate(timeout=60)

    def value(name: str, **labels: str) -> float:
        return metrics[(name, tuple(sorted(labels.items())))]

    assert value("ingest_events_consumed_total", topic=apps) == EVENTS / 2 + 1
    assert value("ingest_events_consumed_total", topic=perf) == EVENTS / 2
    assert value("ingest_events_landed_total", topic=apps) == EVENTS / 2
    assert value("ingest_events_landed_total", topic=perf) == EVENTS / 2
    assert value("ingest_events_quarantined_total", topic=apps) == 1
    assert value("ingest_events_quarantined_total", topic=perf) == 0
    assert value("ingest_events_duplicate_total", topic=apps) == 0
    assert value("ingest_batch_write_seconds_count") >= 1
    assert value("ingest_batch_write_seconds_bucket", le="+Inf") == value(
        "ingest_batch_write_seconds_count"
    )
    assert value("ingest_last_event_timestamp_seconds") > 1_700_000_000
    lags = [v for (name, _), v in metrics.items() if name == "ingest_consumer_lag"]
    assert lags and all(lag == 0 for lag in lags)


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def test_health_turns_unhealthy_while_events_wait_uncommitted_and_recovers(
    stream_env, synthetic_csv
):
    """The warehouse goes down with events waiting: /health answers 503 once they have
    waited INGEST_STALL_SECONDS without a commit (while /metrics still answers), and 200
    again once the warehouse is back and they have landed."""
    port = free_port()
    with controlled_cluster() as cluster:
        env = {**stream_env, **cluster.env, "WAREHOUSE": "postgres",
               "INGEST_METRICS_PORT": str(port), "INGEST_STALL_SECONDS": "4"}  # fmt: skip
        process = start_ingester(env, until_idle=4)
        try:
            wait_for(lambda: _health(port)[0] == 200, what="a healthy service")
            cluster.stop()
            produce(env, synthetic_csv, count=200)
            wait_for(lambda: _health(port)[0] == 503, timeout=60, what="/health to turn 503")
            _, details = _health(port)
            assert details["status"] == "stalled" and details["oldest_uncommitted_seconds"] >= 4
            assert _scrape(port)[("ingest_healthy", ())] == 0
            cluster.start()
            wait_for(lambda: _health(port)[0] == 200, timeout=90, what="/health to recover")
            assert _scrape(port)[("ingest_healthy", ())] == 1
        finally:
            _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
