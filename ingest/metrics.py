"""Prometheus metrics of the ingest service, served on /metrics (INGEST_METRICS_HOST and _PORT)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class IngestMetrics:
    """One registry per service instance, so tests can run several in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.consumed = Counter(
            "ingest_events_consumed", "Messages read from Kafka", ["topic"], registry=self.registry
        )
        self.landed = Counter(
            "ingest_events_landed",
            "Events committed to the raw tables (new, not duplicates)",
            ["topic"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "ingest_events_duplicate",
            "Messages already in the raw tables (a replay after a crash), skipped",
            ["topic"],
            registry=self.registry,
        )
        self.quarantined = Counter(
            "ingest_events_quarantined",
            "Messages landed in raw.ingest_quarantine",
            ["topic"],
            registry=self.registry,
        )
        self.reused_positions = Counter(
            "ingest_reused_offsets",
            "New events at offsets that held other events before: the partition's offsets "
            "started over (topic recreated, broker data lost)",
            registry=self.registry,
        )
        self.batch_write_seconds = Histogram(
            "ingest_batch_write_seconds",
            "Time to land one batch in the warehouse (one transaction)",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.warehouse_failures = Counter(
            "ingest_warehouse_failures",
            "Batches the warehouse refused; retried after a backoff",
            registry=self.registry,
        )
        self.lag = Gauge(
            "ingest_consumer_lag",
            "Messages behind the partition's high watermark at the last commit",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.last_event_time = Gauge(
            "ingest_last_event_timestamp_seconds",
            "Kafka timestamp of the newest message landed (Unix seconds)",
            registry=self.registry,
        )

    def serve(self, port: int, host: str) -> None:
        """Serve /metrics on `host` only (port 0 leaves it off)."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
