"""`python -m ingest run`: the streaming ingest service, Kafka to the raw tables.

One Quix Streams application consumes both event topics in one consumer group and lands each
checkpoint through WarehouseSink (one transaction, offsets committed after it). Run several
instances with the same INGEST_CONSUMER_GROUP to share the partitions.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from confluent_kafka import TopicPartition
from quixstreams import Application

from ingest.settings import Settings
from ingest.streaming.metrics import IngestMetrics
from ingest.streaming.sink import Backoff, WarehouseSink, WatermarkLookup
from ingest.streaming.topics import client_config, ensure_topics
from ingest.warehouse.writer import open_initialised_writer

log = logging.getLogger("ingest.streaming.service")


class IdleAware(Protocol):
    """What the idle watch reads of a sink (WarehouseSink, the stream scorer's DecisionSink)."""

    busy: bool
    last_message_at: float
    last_commit_at: float
    backoff: Backoff


@dataclass
class ServiceReport:
    consumed: int
    landed: int
    duplicates: int
    quarantined: int
    seconds: float

    def summary(self) -> str:
        rate = self.consumed / self.seconds if self.seconds else 0.0
        return (
            f"consumed {self.consumed:,} messages in {self.seconds:.1f}s ({rate:,.0f}/s): "
            f"{self.landed:,} events landed, {self.duplicates:,} duplicates skipped, "
            f"{self.quarantined:,} quarantined"
        )


def watch_idle(
    app: Application, sink: IdleAware, idle_seconds: float, done: threading.Event
) -> None:
    """Stop the app once it has held partitions for `idle_seconds` with no message arriving,
    no checkpoint being written, and the warehouse up.

    The clock restarts whenever the assignment changes or a checkpoint ends, and never runs
    while there is no assignment or a write is in progress: joining a group, a rebalance or
    a slow write can take seconds, and a service that left its group in the middle of one
    would hand its partitions over for nothing (on the Tansu development broker it can even
    leave the group unable to rebalance).
    """
    consumer = app._consumer  # no public handle on the app's consumer (see run_service)
    assigned: frozenset[tuple[str, int]] = frozenset()
    quiet_since = time.monotonic()
    while not done.wait(0.2):
        current = frozenset((tp.topic, tp.partition) for tp in consumer.assignment())
        if current != assigned:
            assigned, quiet_since = current, time.monotonic()
        if not assigned or sink.busy:
            continue
        quiet_for = time.monotonic() - max(quiet_since, sink.last_message_at, sink.last_commit_at)
        if quiet_for >= idle_seconds and not sink.backoff.failures:
            log.info("no messages for %.0fs: stopping", quiet_for)
            app.stop()
            return


def event_application(
    settings: Settings, consumer_group: str, commit_interval: float, log_level: str
) -> Application:
    """A Quix Streams app on the event topics (created if missing) in `consumer_group`,
    checkpointing every `commit_interval` seconds or the settings' checkpoint size: the
    landing service's and the stream scorer's."""
    ensure_topics(settings.kafka_bootstrap, list(settings.topics.values()))
    extra = client_config(settings.kafka_bootstrap)
    extra.pop("bootstrap.servers")
    return Application(
        broker_address=settings.kafka_bootstrap,
        consumer_group=consumer_group,
        auto_offset_reset="earliest",
        commit_interval=commit_interval,
        commit_every=settings.checkpoint_messages,
        consumer_extra_config=extra,
        loglevel=log_level,
        # Unused (no stateful steps), but Quix Streams creates it: a writable place per group.
        state_dir=str(Path(tempfile.gettempdir()) / f"credit-risk-ews-quix-{consumer_group}"),
    )


def high_watermarks(app: Application) -> WatermarkLookup:
    """The app's consumer's cached high watermarks (updated with every fetch, no request).
    Quix Streams 3.28 has no public handle on that consumer (get_consumer() makes another)."""
    consumer = app._consumer
    return lambda topic, partition: consumer.get_watermark_offsets(
        TopicPartition(topic, partition), cached=True
    )[1]


def run_sink(
    app: Application, sink: IdleAware, topic_names: list[str], until_idle: float | None
) -> None:
    """Feed every event topic's raw messages to `sink` and run the app until it is stopped,
    or (`until_idle`) until it has been quiet that many seconds (watch_idle)."""
    for name in topic_names:
        topic = app.topic(name, value_deserializer="bytes", key_deserializer="bytes")
        app.dataframe(topic).sink(sink)
    done = threading.Event()
    if until_idle is not None:
        threading.Thread(
            target=watch_idle, args=(app, sink, until_idle, done), daemon=True, name="idle"
        ).start()
    try:
        app.run()
    finally:
        done.set()


def run_service(
    settings: Settings,
    until_idle: float | None = None,
    metrics: IngestMetrics | None = None,
    log_level: str = "WARNING",
) -> ServiceReport:
    started = time.perf_counter()
    metrics = metrics or IngestMetrics()
    topics = {topic: event_type for event_type, topic in settings.topics.items()}
    app = event_application(settings, settings.consumer_group, settings.commit_interval, log_level)
    sink = WarehouseSink(
        partial(open_initialised_writer, settings),
        topics,
        settings.max_event_bytes,
        metrics,
        watermarks=high_watermarks(app),
        exit_after_batches=settings.fault_exit_after_batches,
    )
    metrics.serve(
        settings.metrics_port, settings.metrics_host, lambda: sink.health(settings.stall_seconds)
    )
    try:
        run_sink(app, sink, list(topics), until_idle)
    finally:
        sink.close()
    return ServiceReport(
        consumed=metrics.total("ingest_events_consumed"),
        landed=metrics.total("ingest_events_landed"),
        duplicates=metrics.total("ingest_events_duplicate"),
        quarantined=metrics.total("ingest_events_quarantined"),
        seconds=time.perf_counter() - started,
    )
