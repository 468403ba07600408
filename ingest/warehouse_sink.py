"""The Quix Streams sink that lands Kafka messages in the raw tables, exactly once.

Exactly once comes from three things together: every row's primary key is its Kafka
coordinates (topic, partition, offset), a checkpoint's messages land in one database
transaction that skips rows already there, and Quix Streams commits the offsets only after
`flush()` returns. A crash after the database commit but before the offset commit replays
messages whose rows are already there, and they are skipped as duplicates.

Messages are decoded as they arrive and handed over in parts to a writer process, which writes
them into the checkpoint's open transaction while this process consumes and decodes the next
ones, instead of the two taking turns. `flush()` waits for the last part and commits.

Our own sink rather than the community PostgreSQLSink: that one builds its column list from
the first row of a batch and drops columns whose first value is null.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable

from quixstreams.sinks import BaseSink, SinkBackpressureError

from ingest.event_decoding import Rejection, decode_event
from ingest.metrics import IngestMetrics
from ingest.warehouse import Batch, BatchResult, SourcePosition, WarehouseUnavailable
from ingest.writer_process import Connect, WriterProcess

log = logging.getLogger("ingest.sink")

# (topic, partition) -> high watermark, or None when the client does not know it yet.
WatermarkLookup = Callable[[str, int], int | None]

# Messages per part handed to the writer process, and parts queued for it at most: small
# enough that the last part adds little to a checkpoint's commit, large enough that the
# per-part round trips stay a small share of the write.
PART_MESSAGES = 1_000
MAX_PARTS_QUEUED = 2


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


class WarehouseSink(BaseSink):
    def __init__(
        self,
        connect: Connect,
        expected_types: dict[str, str],
        max_event_bytes: int,
        metrics: IngestMetrics,
        backoff: Backoff | None = None,
    ) -> None:
        """`expected_types` maps each topic to the event type it carries."""
        super().__init__(on_client_connect_success=lambda: None)
        self._connect = connect
        self.expected_types = expected_types
        self.max_event_bytes = max_event_bytes
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.watermarks: WatermarkLookup = lambda topic, partition: None
        self.newest_timestamp_ms = 0
        self.batches_landed = 0
        self.exit_after_batches: int | None = None
        self.last_message_at = time.monotonic()
        self._writer: WriterProcess | None = None
        self._checkpoint_reset()

    def _checkpoint_reset(self) -> None:
        self._part = Batch()
        self._parts_sent = 0
        self._failure: BaseException | None = None
        self._received: Counter[str] = Counter()  # events per topic
        self._rejected: Counter[str] = Counter()  # quarantined messages per topic
        self._last_offsets: dict[tuple[str, int], int] = {}

    def _writer_process(self) -> WriterProcess:
        """The writer, started again if it died; never in mid-checkpoint, where a new one
        would commit the later parts without the earlier ones."""
        if self._writer is None or not self._writer.alive:
            if self._parts_sent:
                raise WarehouseUnavailable("the warehouse writer process exited mid-checkpoint")
            if self._writer is not None:
                self._writer.stop()
            self._writer = WriterProcess(self._connect)
        return self._writer

    # Quix Streams' sink interface -------------------------------------------------------

    def setup(self) -> None:
        """Connect at start when the warehouse is up; if it is down, writes keep retrying."""
        try:
            self._writer_process().call("connect")
        except WarehouseUnavailable as exc:
            log.warning("warehouse unavailable at start, will retry: %s", exc)

    def add(self, value, key, timestamp, headers, topic, partition, offset) -> None:
        self.last_message_at = time.monotonic()
        self.newest_timestamp_ms = max(self.newest_timestamp_ms, timestamp)
        position = SourcePosition("kafka", topic, partition, offset)
        decoded = decode_event(value, self.expected_types[topic], self.max_event_bytes)
        if isinstance(decoded, Rejection):
            where = f"{topic}[{partition}] offset {offset}"
            self._part.add_quarantine(
                value or b"", f"{where}: {decoded.reason}", position, decoded.field
            )
            self._rejected[topic] += 1
        else:
            self._part.add_event(decoded, position)
            self._received[topic] += 1
        self._last_offsets[(topic, partition)] = offset
        if len(self._part) >= PART_MESSAGES:
            self._hand_over_part()

    def flush(self) -> None:
        """Commit this checkpoint's transaction once its last part is written."""
        if self._part:
            self._hand_over_part()
        self._settle(0)
        if not self._parts_sent and self._failure is None:
            self._checkpoint_reset()
            return  # nothing arrived
        lag = self._record_consumed()
        try:
            if self._failure is not None:
                raise self._failure
            result = self._writer_process().call("commit", lag)
        except WarehouseUnavailable as exc:
            self._discard_checkpoint(close=True)
            delay = self.backoff.next_delay()
            self.metrics.warehouse_failures.inc()
            log.warning(
                "warehouse unavailable (attempt %d), nothing committed, retrying in %.0fs: %s",
                self.backoff.failures, delay, exc,
            )  # fmt: skip
            raise SinkBackpressureError(retry_after=delay) from exc
        except BaseException:
            self._discard_checkpoint(close=False)
            raise
        if self.backoff.failures:
            log.info("warehouse back after %d failed attempts", self.backoff.failures)
        self.backoff.reset()
        self.metrics.batch_write_seconds.observe(result.write_seconds)
        self.batches_landed += 1
        if self.exit_after_batches and self.batches_landed >= self.exit_after_batches:
            os._exit(137)  # fault injection: committed in the database, offsets not committed
        self._count(result)
        self._checkpoint_reset()
        if self.newest_timestamp_ms:
            self.metrics.last_event_time.set(self.newest_timestamp_ms / 1000)

    def on_paused(self) -> None:
        """Another sink's backpressure: Quix Streams replays this checkpoint's messages."""
        self._discard_checkpoint(close=False)

    def close(self) -> None:
        self._discard_checkpoint(close=True)
        if self._writer is not None:
            self._writer.stop()
            self._writer = None

    # The checkpoint's parts -------------------------------------------------------------

    def _hand_over_part(self) -> None:
        part, self._part = self._part, Batch()
        self._settle(MAX_PARTS_QUEUED - 1)
        if self._failure is not None:
            return  # the checkpoint is lost already; flush() reports it and Quix replays it
        try:
            self._writer_process().send("write", part)
        except WarehouseUnavailable as exc:
            self._failure = exc
            return
        self._parts_sent += 1

    def _settle(self, pending: int) -> None:
        """Read replies until at most `pending` parts are still being written; the first
        failure fails the checkpoint."""
        while self._writer is not None and self._writer.pending > pending:
            try:
                self._writer.reply()
            except Exception as exc:
                self._failure = self._failure or exc

    def _discard_checkpoint(self, close: bool) -> None:
        """Roll back the open transaction and forget the checkpoint's messages."""
        self._settle(0)
        if self._writer is not None:
            try:
                self._writer.call("abort", close)
            except Exception as exc:  # the writer is gone, and the transaction with it
                log.debug("abort failed: %s", exc)
        self._checkpoint_reset()

    def _record_consumed(self) -> int:
        """Count the checkpoint's messages and return the consumer lag behind them."""
        for topic in self._received.keys() | self._rejected.keys():
            self.metrics.consumed.labels(topic).inc(self._received[topic] + self._rejected[topic])
        lag = 0
        for (topic, partition), last_offset in self._last_offsets.items():
            high = self.watermarks(topic, partition)
            if high is not None:
                partition_lag = max(0, high - last_offset - 1)
                self.metrics.lag.labels(topic, str(partition)).set(partition_lag)
                lag += partition_lag
        return lag

    def _count(self, result: BatchResult) -> None:
        """Landed and duplicate counts are exact (from the database); quarantined counts
        what this process quarantined, so a replay after a crash can count a message twice
        there while the table holds it once."""
        new_rows = {"loan.application": result.applications, "loan.performance": result.performance}
        for topic, event_type in self.expected_types.items():
            landed = new_rows[event_type]
            self.metrics.landed.labels(topic).inc(landed)
            self.metrics.duplicates.labels(topic).inc(max(0, self._received[topic] - landed))
            self.metrics.quarantined.labels(topic).inc(self._rejected[topic])
        if result.reused_positions:
            self.metrics.reused_positions.inc(result.reused_positions)
            log.warning(
                "%d new events sit at offsets that held other events before: a partition's "
                "offsets started over (the topic was recreated or the broker lost its data). "
                "They landed as new events; see raw.ingest_batches.reused_positions",
                result.reused_positions,
            )
        log.debug("landed batch %s: %s", result.batch_id, result)
