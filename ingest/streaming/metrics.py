"""Prometheus metrics of the ingest service, served on /metrics (INGEST_METRICS_HOST and _PORT)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import MetricsHandler

# (healthy, details) of the service right now.
HealthCheck = Callable[[], tuple[bool, dict]]


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

        self.last_commit_time = Gauge(
            "ingest_last_commit_timestamp_seconds",
            "When the last checkpoint committed (Unix seconds)",
            registry=self.registry,
        )
        self.healthy = Gauge(
            "ingest_healthy",
            "1 unless events have waited longer than INGEST_STALL_SECONDS without a commit",
            registry=self.registry,
        )

    def total(self, name: str) -> int:
        return counter_total(self.registry, name)

    def serve(self, port: int, host: str, health: HealthCheck) -> None:
        """Serve /metrics and /health on `host` only (port 0 leaves both off)."""
        self.healthy.set_function(lambda: float(health()[0]))
        serve_registry(self.registry, port, host, health)


def counter_total(registry: CollectorRegistry, name: str) -> int:
    """The sum of a counter over all its labels, e.g. ("ingest_events_landed")."""
    return int(
        sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == f"{name}_total"
        )
    )


def serve_registry(
    registry: CollectorRegistry, port: int, host: str, health: HealthCheck | None = None
) -> None:
    """Serve a registry's /metrics, and /health (200 or 503 with the details as JSON, for a
    container health check) when given one, on `host` only; port 0 serves nothing."""
    if not port:
        return
    base = MetricsHandler.factory(registry)

    class Handler(base):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            if health is None or self.path.split("?")[0] != "/health":
                return super().do_GET()
            ok, details = health()
            body = json.dumps({"status": "ok" if ok else "stalled", **details}).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:  # no access log on stderr
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
