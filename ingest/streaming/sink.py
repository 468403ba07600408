"""The Quix Streams sink that lands Kafka messages in the raw tables, exactly once.

Exactly once comes from three things together: every row's primary key is its Kafka
coordinates (topic, partition, offset), a checkpoint's messages land in one database
transaction that skips rows already there, and Quix Streams commits the offsets only after
`flush()` returns. A crash after the database commit but before the offset commit replays
messages whose rows are already there, and they are skipped as duplicates.

Messages are decoded as they arrive and handed over in parts to a writer process, which writes
them into the checkpoint's open transaction while this process consumes and decodes the next
ones, instead of the two taking turns. `flush()` waits for the last part and commits.

Each checkpoint owns its writer from its first part until it commits or fails, and `flush()`
detaches the checkpoint before it writes. On a partition revoke Quix Streams runs `flush()`
in a worker thread and abandons it after its revoke budget (a fifth of max.poll.interval.ms);
the abandoned flush then finishes on its own writer, and the next checkpoint starts with
another, so the two never share a pipe or any state (they did, and a write slower than the
budget during a rebalance hung the service). If the abandoned flush commits, its messages
are replayed by their new owner and skipped as duplicates: still exactly once.

Our own sink rather than the community PostgreSQLSink: that one builds its column list from
the first row of a batch and drops columns whose first value is null.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable

from quixstreams.sinks import BaseSink, SinkBackpressureError

from ingest.streaming.decoding import Rejection, decode_event
from ingest.streaming.metrics import IngestMetrics
from ingest.streaming.writer_process import Connect, WriterProcess
from ingest.warehouse.batch import Batch, BatchResult, SourcePosition
from ingest.warehouse.session import WarehouseUnavailable

log = logging.getLogger("ingest.streaming.sink")

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


class _Checkpoint:
    """One checkpoint's messages, decoded as they arrive and handed in parts to the writer it
    takes with its first part, which writes them into one open transaction."""

    def __init__(self) -> None:
        self.part = Batch()
        self.parts_sent = 0
        self.writer: WriterProcess | None = None
        self.failure: BaseException | None = None
        self.received: Counter[str] = Counter()  # events per topic
        self.rejected: Counter[str] = Counter()  # quarantined messages per topic
        self.last_offsets: dict[tuple[str, int], int] = {}
        self.first_message_at: float | None = None  # monotonic

    def __len__(self) -> int:
        return sum(self.received.values()) + sum(self.rejected.values())


class WarehouseSink(BaseSink):
    def __init__(
        self,
        connect: Connect,
        expected_types: dict[str, str],
        max_event_bytes: int,
        metrics: IngestMetrics,
        watermarks: WatermarkLookup = lambda topic, partition: None,
        exit_after_batches: int = 0,
        backoff: Backoff | None = None,
    ) -> None:
        """`expected_types` maps each topic to the event type it carries; `watermarks` gives a
        partition's high watermark for the lag; `exit_after_batches` (fault injection for the
        exactly-once tests, 0 = off) makes the process die right after that many commits."""
        super().__init__(on_client_connect_success=lambda: None)
        self._connect = connect
        self.expected_types = expected_types
        self.max_event_bytes = max_event_bytes
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.watermarks = watermarks
        self.newest_timestamp_ms = 0
        self.batches_landed = 0
        self.exit_after_batches = exit_after_batches
        self.last_message_at = time.monotonic()
        self.last_commit_at = time.monotonic()
        # The oldest message read but not yet committed (monotonic), None when all are.
        self.uncommitted_since: float | None = None
        # Guards which checkpoint is current and the idle writer: flush() may run in a worker
        # thread that outlives the call that started it.
        self._lock = threading.Lock()
        self._current = _Checkpoint()
        self._idle_writer: WriterProcess | None = None
        self._closed = False
        self._flushes = 0  # in progress, an abandoned one included

    # Writers: one per checkpoint in flight, one kept idle between checkpoints ------------

    def _take_writer(self) -> WriterProcess:
        with self._lock:
            writer, self._idle_writer = self._idle_writer, None
        if writer is not None and writer.alive:
            return writer
        if writer is not None:
            writer.stop()
        return WriterProcess(self._connect)

    def _return_writer(self, writer: WriterProcess | None) -> None:
        if writer is None:
            return
        with self._lock:
            if self._idle_writer is None and not self._closed and writer.alive:
                self._idle_writer, writer = writer, None
        if writer is not None:  # another checkpoint's writer is already kept, or we close
            writer.stop()

    # Quix Streams' sink interface -------------------------------------------------------

    def setup(self) -> None:
        """Connect at start when the warehouse is up; if it is down, writes keep retrying."""
        writer = self._take_writer()
        try:
            writer.connect()
        except WarehouseUnavailable as exc:
            log.warning("warehouse unavailable at start, will retry: %s", exc)
        self._return_writer(writer)

    def add(self, value, key, timestamp, headers, topic, partition, offset) -> None:
        checkpoint = self._current
        self.last_message_at = time.monotonic()
        if checkpoint.first_message_at is None:
            checkpoint.first_message_at = self.last_message_at
        if self.uncommitted_since is None:
            self.uncommitted_since = self.last_message_at
        self.newest_timestamp_ms = max(self.newest_timestamp_ms, timestamp)
        position = SourcePosition("kafka", topic, partition, offset)
        decoded = decode_event(value, self.expected_types[topic], self.max_event_bytes)
        if isinstance(decoded, Rejection):
            where = f"{topic}[{partition}] offset {offset}"
            checkpoint.part.add_quarantine(
                value or b"", f"{where}: {decoded.reason}", position, decoded.field
            )
            checkpoint.rejected[topic] += 1
        else:
            checkpoint.part.add_event(decoded, position)
            checkpoint.received[topic] += 1
        checkpoint.last_offsets[(topic, partition)] = offset
        if len(checkpoint.part) >= PART_MESSAGES:
            self._hand_over_part(checkpoint)

    def flush(self) -> None:
        """Commit this checkpoint's transaction once its last part is written. The checkpoint
        is detached first: if Quix abandons this call (a revoke taking too long), the next
        checkpoint starts afresh while this one finishes on its own writer."""
        with self._lock:
            checkpoint, self._current = self._current, _Checkpoint()
            self._flushes += 1
        try:
            self._finish(checkpoint)
        finally:
            with self._lock:
                self._flushes -= 1
            self.last_commit_at = time.monotonic()

    @property
    def busy(self) -> bool:
        """Whether a checkpoint is being written (a flush Quix abandoned included)."""
        return self._flushes > 0

    def _finish(self, checkpoint: _Checkpoint) -> None:
        if checkpoint.part:
            self._hand_over_part(checkpoint)
        self._settle(checkpoint, 0)
        if not checkpoint.parts_sent and checkpoint.failure is None:
            return  # nothing arrived
        lag = self._record_consumed(checkpoint)
        try:
            if checkpoint.failure is not None:
                raise checkpoint.failure
            assert checkpoint.writer is not None
            result = checkpoint.writer.commit(lag)
        except WarehouseUnavailable as exc:
            self._discard(checkpoint, close=True)
            delay = self.backoff.next_delay()
            self.metrics.warehouse_failures.inc()
            log.warning(
                "warehouse unavailable (attempt %d), nothing committed, retrying in %.0fs: %s",
                self.backoff.failures, delay, exc,
            )  # fmt: skip
            raise SinkBackpressureError(retry_after=delay) from exc
        except BaseException:
            self._discard(checkpoint, close=False)
            raise
        self._return_writer(checkpoint.writer)
        self.uncommitted_since = self._current.first_message_at  # what came in meanwhile
        self.metrics.last_commit_time.set_to_current_time()
        if self.backoff.failures:
            log.info("warehouse back after %d failed attempts", self.backoff.failures)
        self.backoff.reset()
        self.metrics.batch_write_seconds.observe(result.write_seconds)
        self.batches_landed += 1
        if self.exit_after_batches and self.batches_landed >= self.exit_after_batches:
            os._exit(137)  # fault injection: committed in the database, offsets not committed
        self._count(checkpoint, result)
        if self.newest_timestamp_ms:
            self.metrics.last_event_time.set(self.newest_timestamp_ms / 1000)

    def on_paused(self) -> None:
        """Another sink's backpressure: Quix Streams replays this checkpoint's messages."""
        with self._lock:
            checkpoint, self._current = self._current, _Checkpoint()
        self._discard(checkpoint, close=False)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            checkpoint, self._current = self._current, _Checkpoint()
            idle, self._idle_writer = self._idle_writer, None
        self._discard(checkpoint, close=True)
        if idle is not None:
            idle.stop()

    def health(self, stall_seconds: float) -> tuple[bool, dict]:
        """Unhealthy once a message has waited `stall_seconds` and no checkpoint committed
        in that time (a warehouse down, or a write that never ends); idle is healthy."""
        now = time.monotonic()
        waited = 0.0 if self.uncommitted_since is None else now - self.uncommitted_since
        since_commit = now - self.last_commit_at
        stalled = waited >= stall_seconds and since_commit >= stall_seconds
        return not stalled, {
            "oldest_uncommitted_seconds": round(waited, 1),
            "seconds_since_last_commit": round(since_commit, 1),
            "warehouse_failures_in_a_row": self.backoff.failures,
        }

    # The checkpoint's parts -------------------------------------------------------------

    def _hand_over_part(self, checkpoint: _Checkpoint) -> None:
        part, checkpoint.part = checkpoint.part, Batch()
        self._settle(checkpoint, MAX_PARTS_QUEUED - 1)
        if checkpoint.failure is not None:
            return  # the checkpoint is lost already; flush() reports it and Quix replays it
        try:
            if checkpoint.writer is None:
                checkpoint.writer = self._take_writer()
            checkpoint.writer.send_write(part)
        except WarehouseUnavailable as exc:
            checkpoint.failure = exc
            return
        checkpoint.parts_sent += 1

    @staticmethod
    def _settle(checkpoint: _Checkpoint, pending: int) -> None:
        """Read replies until at most `pending` parts are still being written; the first
        failure fails the checkpoint."""
        writer = checkpoint.writer
        while writer is not None and writer.pending > pending:
            try:
                writer.reply()
            except Exception as exc:
                checkpoint.failure = checkpoint.failure or exc

    def _discard(self, checkpoint: _Checkpoint, close: bool) -> None:
        """Roll back the checkpoint's open transaction (closing the connection if `close`),
        forget its messages, and give its writer back."""
        self._settle(checkpoint, 0)
        if checkpoint.writer is not None:
            try:
                checkpoint.writer.abort(close)
            except Exception as exc:  # the writer is gone, and the transaction with it
                log.debug("abort failed: %s", exc)
        self._return_writer(checkpoint.writer)

    def _record_consumed(self, checkpoint: _Checkpoint) -> int:
        """Count the checkpoint's messages and return the consumer lag behind them."""
        for topic in checkpoint.received.keys() | checkpoint.rejected.keys():
            self.metrics.consumed.labels(topic).inc(
                checkpoint.received[topic] + checkpoint.rejected[topic]
            )
        lag = 0
        for (topic, partition), last_offset in checkpoint.last_offsets.items():
            high = self.watermarks(topic, partition)
            if high is not None:
                partition_lag = max(0, high - last_offset - 1)
                self.metrics.lag.labels(topic, str(partition)).set(partition_lag)
                lag += partition_lag
        return lag

    def _count(self, checkpoint: _Checkpoint, result: BatchResult) -> None:
        """Landed and duplicate counts are exact (from the database); quarantined counts
        what this process quarantined, so a replay after a crash can count a message twice
        there while the table holds it once."""
        new_rows = {"loan.application": result.applications, "loan.performance": result.performance}
        for topic, event_type in self.expected_types.items():
            landed = new_rows[event_type]
            self.metrics.landed.labels(topic).inc(landed)
            self.metrics.duplicates.labels(topic).inc(max(0, checkpoint.received[topic] - landed))
            self.metrics.quarantined.labels(topic).inc(checkpoint.rejected[topic])
        if result.reused_positions:
            self.metrics.reused_positions.inc(result.reused_positions)
            log.warning(
                "%d new events sit at offsets that held other events before: a partition's "
                "offsets started over (the topic was recreated or the broker lost its data). "
                "They landed as new events; see raw.ingest_batches.reused_positions",
                result.reused_positions,
            )
        log.debug("landed batch %s: %s", result.batch_id, result)
