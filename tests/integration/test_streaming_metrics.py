"""The service's /metrics endpoint reports what it did, with correct counts."""

from __future__ import annotations

import urllib.request

from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.streaming import produce, start_ingester, wait_for
from tests.postgres_cluster import free_port

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
