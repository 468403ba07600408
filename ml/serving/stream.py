"""`python -m ml serve-stream`: decide every event as it arrives, into `live.loan_decisions`.

A Quix Streams application in its own consumer group (SCORER_CONSUMER_GROUP), beside the
landing service, reading both event topics. Each application event gets the rule decision and
the champion's PD, decile and top features (ml/serving/decide.py, the API's code); each
performance event the watchlist's behaviour trigger. One row per event.

Exactly once, as the landing service (ingest/streaming/sink.py): a row's key is the event's
Kafka coordinates and content id (ml/serving/decisions_table.py), a checkpoint's rows land in
one transaction that skips rows already there, and Quix Streams commits offsets only after
`flush()` returns, so a crash between the two replays rows that are then skipped. A message
that does not decode is quarantined in `live.decision_quarantine` with its reason, in the same
transaction, and the stream goes on. An unavailable warehouse pauses the partitions and
replays the checkpoint after a backoff. Each checkpoint opens its own session and `flush()`
detaches the checkpoint first, so a flush Quix abandons on a revoke shares nothing with the
next one.

The champion is read from `<MODEL_DIR>/champion.json` (ml/serving/champion.py) and swapped
without a restart; with none yet, the rules decide and `pd` is null. On DuckDB the file has one
writer at a time: run the scorer after the landing service (`--until-idle`), not beside it.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
import pandas as pd
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from quixstreams.sinks import BaseSink, SinkBackpressureError

from ingest.events import APPLICATION, LoanEvent, performance_status
from ingest.settings import Settings
from ingest.streaming.decoding import Rejection, decode_event
from ingest.streaming.metrics import counter_total, serve_registry
from ingest.streaming.service import event_application, high_watermarks, run_sink
from ingest.streaming.sink import Backoff, WatermarkLookup
from ingest.warehouse.session import WarehouseSession, WarehouseUnavailable, open_session
from ml.serving.champion import ChampionWatcher
from ml.serving.decide import decide_applications
from ml.serving.decisions_table import DECISION_COLUMNS, DECISIONS, QUARANTINE, ensure_tables
from ml.serving.rules import Thresholds, behaviour_reason, project_thresholds

log = logging.getLogger("ml.serving.stream")
KEY = "source_name, source_partition, source_offset"
RAW_VALUE_CHARS = 10_000
DRIFT_CHECK_SECONDS = 300.0  # the drift report is daily: a look every 5 minutes is plenty  # a quarantined message's head, enough to see what it was
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class ScorerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter("scorer_events_consumed", "Messages read", ["topic"], registry=r)
        self.written = Counter(
            "scorer_decisions_written", "Decisions committed to live.loan_decisions (new rows)",
            ["event_type", "flagged"], registry=r,
        )  # fmt: skip
        self.quarantined = Counter(
            "scorer_events_quarantined", "Messages in live.decision_quarantine", ["topic"],
            registry=r,
        )  # fmt: skip
        self.failures = Counter(
            "scorer_warehouse_failures", "Checkpoints the warehouse refused (retried)", registry=r
        )
        self.decision_lag = Histogram(
            "scorer_decision_lag_seconds", "decided_at minus the event's Kafka timestamp",
            buckets=LAG_BUCKETS, registry=r,
        )  # fmt: skip
        self.lag = Gauge(
            "scorer_consumer_lag", "Messages behind the high watermark at the last commit",
            ["topic", "partition"], registry=r,
        )  # fmt: skip
        self.drift = Gauge(
            "model_drift_detected",
            "1 when the latest drift report (monitoring.feature_drift) flags the population",
            registry=r,
        )
        self.last_decision = Gauge(
            "scorer_last_decision_timestamp_seconds", "When the last decisions committed",
            registry=r,
        )  # fmt: skip

    def total(self, name: str) -> int:
        return counter_total(self.registry, name)


@dataclass
class _Checkpoint:
    messages: list[tuple[bytes | None, int, str, int, int]] = field(default_factory=list)
    last_offsets: dict[tuple[str, int], int] = field(default_factory=dict)


def _timestamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def decision_frames(
    messages: list[tuple[bytes | None, int, str, int, int]],
    expected_types: dict[str, str],
    max_bytes: int,
    thresholds: Thresholds,
    watcher: ChampionWatcher,
    decided_at: datetime,
    explain: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decision rows and the quarantine rows of a checkpoint's messages (pure but for
    the model call): one application batch through the model, performance events by status."""
    decoded: list[tuple[LoanEvent, int, str, int, int]] = []
    quarantined = []
    for value, timestamp, topic, partition, offset in messages:
        event = decode_event(value, expected_types[topic], max_bytes)
        if isinstance(event, Rejection):
            raw = (value or b"").decode("utf-8", "replace").replace("\x00", "\\u0000")
            quarantined.append({
                "source_name": topic, "source_partition": partition, "source_offset": offset,
                "record_id": f"{topic}:{partition}:{offset}", "event_time": _timestamp(timestamp),
                "quarantined_at": decided_at,
                "reason": f"{topic}[{partition}] offset {offset}: {event.reason}",
                "raw_value": raw[:RAW_VALUE_CHARS],
            })  # fmt: skip
        else:
            decoded.append((event, timestamp, topic, partition, offset))
    applications = [d for d in decoded if d[0].event_type == APPLICATION]
    champion = watcher.current()
    by_event: dict[int, Any] = {}
    if applications:
        year = _timestamp(applications[-1][1]).year
        payloads = [a[0].payload for a in applications]
        try:
            decisions = decide_applications(payloads, year, thresholds, champion, explain)
        except Exception:  # a champion that cannot score: the rules still decide, pd null
            log.exception("champion %s failed to score; deciding by the rules alone",
                          champion.run_id if champion else None)  # fmt: skip
            decisions = decide_applications(payloads, year, thresholds, None)
        by_event = {id(a[0]): d for a, d in zip(applications, decisions, strict=True)}
    rows = []
    for event, timestamp, topic, partition, offset in decoded:
        row: dict[str, Any] = {
            "loan_id": int(event.loan_id), "event_id": event.event_id,
            "event_type": event.event_type, "source_name": topic,
            "source_partition": partition, "source_offset": offset,
            "event_time": _timestamp(timestamp), "decided_at": decided_at,
            "model_run_id": None, "pd": None, "risk_decile": None, "risk_tier": None,
            "top_features": None,
        }  # fmt: skip
        if (decision := by_event.get(id(event))) is not None:
            row |= {
                "model_run_id": decision.model_run_id,
                "pd": decision.model.pd if decision.model else None,
                "risk_decile": decision.model.risk_decile if decision.model else None,
                "risk_tier": decision.rule.risk_tier,
                "rule_flag": decision.rule.early_warning_flag,
                "reason_codes": orjson.dumps(list(decision.rule.reasons)).decode(),
                "top_features": (
                    orjson.dumps([vars(f) for f in decision.model.top_features]).decode()
                    if decision.model
                    else None
                ),
            }
        else:
            reason = behaviour_reason(performance_status(event))
            row |= {"rule_flag": reason is not None,
                    "reason_codes": orjson.dumps([reason] if reason else []).decode()}  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    frame = frame.astype({"pd": "float64", "risk_decile": "Int64"})
    return frame, pd.DataFrame(quarantined)


def write_decisions(session: WarehouseSession, table: str, frame: pd.DataFrame, key: str) -> int:
    """Insert the rows whose key is not in `table` yet; return how many were new. Through a
    temporary table, the same SQL on both engines."""
    staging = f"incoming_{table.split('.')[-1]}"
    session.execute(f"create temp table if not exists {staging} as select * from {table} limit 0")
    session.execute(f"delete from {staging}")
    session.append(staging, frame)
    match = " and ".join(f"t.{c} = i.{c}" for c in key.split(", "))
    new = f"from {staging} i where not exists (select 1 from {table} t where {match})"
    [(count,)] = session.rows(f"select count(*) {new}")
    columns = ", ".join(frame.columns)
    session.execute(f"insert into {table} ({columns}) select {columns} {new}")
    return int(count)


def write_checkpoint(
    session: WarehouseSession, decisions: pd.DataFrame, quarantine: pd.DataFrame
) -> tuple[int, int]:
    """A checkpoint's decision and quarantine rows, in the session's transaction: how many of
    each were new (a replay's are not)."""
    ensure_tables(session)
    new = (
        write_decisions(session, DECISIONS, decisions, KEY + ", event_id") if len(decisions) else 0
    )
    held = (
        write_decisions(session, QUARANTINE, quarantine, KEY + ", record_id")
        if len(quarantine)
        else 0
    )
    return new, held


class DecisionSink(BaseSink):
    def __init__(
        self,
        connect: Any,
        expected_types: dict[str, str],
        settings: Settings,
        metrics: ScorerMetrics,
        watcher: ChampionWatcher,
        thresholds: Thresholds,
        watermarks: WatermarkLookup | None = None,
    ) -> None:
        super().__init__()
        self.connect, self.expected_types = connect, expected_types
        self.settings, self.metrics = settings, metrics
        self.watcher, self.thresholds, self.watermarks = watcher, thresholds, watermarks
        self._current = _Checkpoint()
        self._lock = threading.Lock()
        self._flushes = 0
        self.backoff = Backoff()
        self.last_message_at = self.last_commit_at = time.monotonic()
        self.checkpoints_committed = 0
        self._drift_checked = float("-inf")

    @property
    def busy(self) -> bool:
        return self._flushes > 0

    def setup(self) -> None:
        try:
            with self.connect() as session:
                ensure_tables(session)
                session.commit()
        except WarehouseUnavailable as exc:
            log.warning("warehouse unavailable at start, will retry: %s", exc)

    def add(self, value, key, timestamp, headers, topic, partition, offset) -> None:
        self.last_message_at = time.monotonic()
        checkpoint = self._current
        checkpoint.messages.append((value, timestamp, topic, partition, offset))
        checkpoint.last_offsets[(topic, partition)] = offset

    def flush(self) -> None:
        with self._lock:
            checkpoint, self._current = self._current, _Checkpoint()
            self._flushes += 1
        try:
            if checkpoint.messages:
                self._write(checkpoint)
        finally:
            with self._lock:
                self._flushes -= 1
            self.last_commit_at = time.monotonic()

    def _write(self, checkpoint: _Checkpoint) -> None:
        decided_at = datetime.now(UTC).replace(tzinfo=None)
        decisions, quarantine = decision_frames(
            checkpoint.messages, self.expected_types, self.settings.max_event_bytes,
            self.thresholds, self.watcher, decided_at, bool(self.settings.scorer_top_features),
        )  # fmt: skip
        try:
            with self.connect() as session, session.transaction():
                new, held = write_checkpoint(session, decisions, quarantine)
                self._check_drift(session)
        except Exception as exc:  # down, timed out, dropped mid-write: replay, never stop
            delay = self.backoff.next_delay()
            self.metrics.failures.inc()
            log.warning(
                "warehouse write failed (attempt %d), nothing committed, retry in %.0fs: %s",
                self.backoff.failures, delay, exc,
            )  # fmt: skip
            raise SinkBackpressureError(retry_after=delay) from exc
        self.backoff.reset()
        self.checkpoints_committed += 1
        if self.checkpoints_committed == self.settings.fault_exit_after_batches:
            os._exit(137)  # fault injection: committed in the database, offsets not committed
        self._count(checkpoint, decisions, quarantine, new, held, decided_at)

    def _count(
        self,
        checkpoint: _Checkpoint,
        decisions: pd.DataFrame,
        quarantine: pd.DataFrame,
        new: int,
        held: int,
        at: datetime,
    ) -> None:
        for topic, n in collections.Counter(m[2] for m in checkpoint.messages).items():
            self.metrics.consumed.labels(topic).inc(n)
        if new == len(decisions):  # a replay's rows are not new: count only a first write
            for (event_type, flagged), n in (
                decisions.groupby(["event_type", "rule_flag"]).size().items()
            ):
                self.metrics.written.labels(event_type, str(bool(flagged)).lower()).inc(n)
            for lag in (at - decisions["event_time"]).dt.total_seconds():
                self.metrics.decision_lag.observe(max(lag, 0.0))
        if held and held == len(quarantine):
            for topic, n in quarantine.groupby("source_name").size().items():
                self.metrics.quarantined.labels(topic).inc(n)
        self.metrics.last_decision.set_to_current_time()
        if self.watermarks is not None:
            for (topic, partition), offset in checkpoint.last_offsets.items():
                high = self.watermarks(topic, partition)
                if high is not None:
                    self.metrics.lag.labels(topic, str(partition)).set(max(high - offset - 1, 0))

    def on_paused(self) -> None:
        with self._lock:
            self._current = _Checkpoint()

    def _check_drift(self, session: WarehouseSession) -> None:
        """The drift flag of the latest report (`python -m exports drift`), for the alert
        rules: read beside a checkpoint's write, at most every DRIFT_CHECK_SECONDS."""
        if time.monotonic() - self._drift_checked < DRIFT_CHECK_SECONDS:
            return
        self._drift_checked = time.monotonic()
        if not session.columns("monitoring", "feature_drift"):
            return
        latest = session.rows(
            "select dataset_drift from monitoring.feature_drift "
            "order by report_date desc, created_at desc limit 1"
        )
        if latest:
            self.metrics.drift.set(1.0 if latest[0][0] else 0.0)


@dataclass
class ScorerReport:
    consumed: int
    decided: int
    quarantined: int
    seconds: float

    def summary(self) -> str:
        return (
            f"consumed {self.consumed:,} messages in {self.seconds:.1f}s: {self.decided:,} "
            f"decisions written, {self.quarantined:,} quarantined"
        )


def run_scorer(
    settings: Settings,
    until_idle: float | None = None,
    metrics: ScorerMetrics | None = None,
    thresholds: Thresholds | None = None,
    log_level: str = "WARNING",
) -> ScorerReport:
    started = time.perf_counter()
    metrics = metrics or ScorerMetrics()
    topics = {topic: event_type for event_type, topic in settings.topics.items()}
    app = event_application(
        settings, settings.scorer_group, settings.scorer_commit_interval, log_level
    )
    sink = DecisionSink(
        partial(open_session, settings),
        topics,
        settings,
        metrics,
        ChampionWatcher(settings.model_dir),
        thresholds or project_thresholds(),
        watermarks=high_watermarks(app),
    )
    serve_registry(metrics.registry, settings.scorer_metrics_port, settings.metrics_host)
    run_sink(app, sink, list(topics), until_idle)
    return ScorerReport(
        consumed=metrics.total("scorer_events_consumed"),
        decided=metrics.total("scorer_decisions_written"),
        quarantined=metrics.total("scorer_events_quarantined"),
        seconds=time.perf_counter() - started,
    )
