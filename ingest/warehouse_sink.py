"""The Quix Streams sink that lands Kafka messages in the raw tables, exactly once.

Exactly once comes from three things together: every row's primary key is its Kafka
coordinates (topic, partition, offset), a checkpoint's messages land in one database
transaction with ON CONFLICT DO NOTHING, and Quix Streams commits the offsets only after
`flush()` returns. A crash after the database commit but before the offset commit replays
messages whose rows are already there, and they are skipped as duplicates.

Our own BatchingSink rather than the community PostgreSQLSink: that one builds its column
list from the first row of a batch and drops columns whose first value is null.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from quixstreams.sinks import BatchingSink, SinkBackpressureError

from ingest.event_decoding import Rejection, decode_event
from ingest.metrics import IngestMetrics
from ingest.warehouse import Batch, BatchResult, SourcePosition, Warehouse, WarehouseUnavailable

log = logging.getLogger("ingest.sink")

# (topic, partition) -> high watermark, or None when the client does not know it yet.
WatermarkLookup = Callable[[str, int], int | None]


class Backoff:
    """Exponential retry delays for an unavailable warehouse: 1 s doubling up to a cap."""

    def __init__(self, first: float = 1.0, cap: float = 30.0) -> None:
        self.first, self.cap = first, cap
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return min(self.cap, self.first * 2 ** (self.failures - 1))

    def reset(self) -> None:
        self.failures = 0


class WarehouseSink(BatchingSink):
    def __init__(
        self,
        connect: Callable[[], Warehouse],
        expected_types: dict[str, str],
        max_event_bytes: int,
        metrics: IngestMetrics,
        backoff: Backoff | None = None,
    ) -> None:
        """`expected_types` maps each topic to the event type it carries."""
        super().__init__(on_client_connect_success=lambda: None)
        self._connect = connect
        self._warehouse: Warehouse | None = None
        self.expected_types = expected_types
        self.max_event_bytes = max_event_bytes
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.watermarks: WatermarkLookup = lambda topic, partition: None
        self.last_result: BatchResult | None = None
        self.newest_timestamp_ms = 0
        self.batches_landed = 0
        self.exit_after_batches: int | None = None
        self.last_message_at = time.monotonic()

    def add(self, value, key, timestamp, headers, topic, partition, offset) -> None:
        self.last_message_at = time.monotonic()
        self.newest_timestamp_ms = max(self.newest_timestamp_ms, timestamp)
        super().add(value, key, timestamp, headers, topic, partition, offset)

    def setup(self) -> None:
        """Connect at start when the warehouse is up; if it is down, flush() keeps retrying."""
        try:
            self._warehouse = self._connect()
        except WarehouseUnavailable as exc:
            log.warning("warehouse unavailable at start, will retry: %s", exc)

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None

    def write(self, batch) -> None:  # flush() lands all partitions at once
        raise NotImplementedError("WarehouseSink lands a whole checkpoint in flush()")

    def flush(self) -> None:
        """Land every partition's messages of this checkpoint in one transaction."""
        try:
            if self._batches:
                self._land(self._collect())
        finally:
            self._batches.clear()

    def _collect(self) -> Batch:
        batch = Batch()
        lag = 0
        for (topic, partition), items in self._batches.items():
            expected = self.expected_types[topic]
            last_offset = -1
            for item in items:
                position = SourcePosition("kafka", topic, partition, item.offset)
                decoded = decode_event(item.value, expected, self.max_event_bytes)
                if isinstance(decoded, Rejection):
                    where = f"{topic}[{partition}] offset {item.offset}"
                    batch.add_quarantine(
                        item.value or b"", f"{where}: {decoded.reason}", position, decoded.field
                    )
                else:
                    batch.add_event(decoded.event, position, decoded.payload_json)
                last_offset = item.offset
            self.metrics.consumed.labels(topic).inc(items.size)
            high = self.watermarks(topic, partition)
            if high is not None:
                partition_lag = max(0, high - last_offset - 1)
                self.metrics.lag.labels(topic, str(partition)).set(partition_lag)
                lag += partition_lag
        batch.lag_at_commit = lag
        return batch

    def _land(self, batch: Batch) -> None:
        try:
            if self._warehouse is None:
                self._warehouse = self._connect()
            with self.metrics.batch_write_seconds.time():
                result = self._warehouse.land(batch)
        except WarehouseUnavailable as exc:
            self.close()
            delay = self.backoff.next_delay()
            self.metrics.warehouse_failures.inc()
            log.warning(
                "warehouse unavailable (attempt %d), nothing committed, retrying in %.0fs: %s",
                self.backoff.failures, delay, exc,
            )  # fmt: skip
            raise SinkBackpressureError(retry_after=delay) from exc
        if self.backoff.failures:
            log.info("warehouse back after %d failed attempts", self.backoff.failures)
        self.backoff.reset()
        self.last_result = result
        self.batches_landed += 1
        if self.exit_after_batches and self.batches_landed >= self.exit_after_batches:
            os._exit(137)  # fault injection: committed in the database, offsets not committed
        self._count(batch, result)
        if self.newest_timestamp_ms:
            self.metrics.last_event_time.set(self.newest_timestamp_ms / 1000)

    def _count(self, batch: Batch, result: BatchResult) -> None:
        """Landed and duplicate counts are exact (from the database); quarantined counts
        what this process quarantined, so a replay after a crash can count a message twice
        there while the table holds it once."""
        new_rows = {"loan.application": result.applications, "loan.performance": result.performance}
        received: dict[str, int] = {}
        for table, columns in batch.tables.items():
            for topic in columns["source_name"]:
                key = topic if table != "ingest_quarantine" else f"quarantine:{topic}"
                received[key] = received.get(key, 0) + 1
        for topic, event_type in self.expected_types.items():
            landed = new_rows[event_type]
            self.metrics.landed.labels(topic).inc(landed)
            self.metrics.duplicates.labels(topic).inc(max(0, received.get(topic, 0) - landed))
            self.metrics.quarantined.labels(topic).inc(received.get(f"quarantine:{topic}", 0))
        log.debug("landed batch %s: %s", result.batch_id, result)
