"""`python -m ingest produce`: replay a LendingClub CSV (or synthetic loans) onto Kafka.

Each row becomes its application and performance events, keyed by loan id so one loan's
events stay in order on one partition, with the loan ids `python -m ingest load` gives the
same file (surrogate ids included: `file_events`). Rows that cannot become events are counted
and named, not sent: land the file with `python -m ingest load` to quarantine them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from confluent_kafka import KafkaException, Producer

from ingest.events import EventError, LoanEvent, LoanEventBuilder, SurrogateRepeats
from ingest.files.lendingclub_csv import CsvReject, LendingClubCsv
from ingest.progress import ProgressReporter
from ingest.settings import Settings
from ingest.streaming.topics import ensure_topics


@dataclass
class ProduceReport:
    events_sent: int = 0
    rows_skipped: int = 0
    seconds: float = 0.0
    first_problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.events_sent / self.seconds if self.seconds else 0.0
        text = f"sent {self.events_sent:,} events in {self.seconds:.1f}s ({rate:,.0f} events/s)"
        if self.rows_skipped:
            text += f"; {self.rows_skipped:,} rows could not become events and were not sent"
        return text


class _Pacer:
    """Holds the send rate at `rate` events/s by sleeping when ahead of schedule."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.started = time.perf_counter()

    def wait(self, sent: int) -> None:
        if self.rate:
            ahead = sent / self.rate - (time.perf_counter() - self.started)
            if ahead > 0.001:
                time.sleep(ahead)


def _producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "compression.type": "lz4",
            "enable.idempotence": True,
            "queue.buffering.max.kbytes": 262144,
        }
    )


def produce_csv(
    settings: Settings,
    path: Path,
    count: int | None = None,
    rate: float | None = None,
    show_progress: bool = True,
) -> ProduceReport:
    """Send the file's events (at most `count` of them, at `rate` events/s if given)."""
    report = ProduceReport()
    started = time.perf_counter()
    ensure_topics(settings.kafka_bootstrap, list(settings.topics.values()))
    producer = _producer(settings.kafka_bootstrap)
    progress = ProgressReporter("producing") if show_progress else None
    pacer = _Pacer(rate)
    limit = count if count is not None else float("inf")
    for events in file_events(path, settings.max_record_bytes):
        if report.events_sent >= limit:
            break
        if isinstance(events, str):
            _skip(report, events)
            continue
        for event in events:
            if report.events_sent >= limit:
                break
            _send(producer, settings.topics[event.event_type], event.loan_id, event.to_json())
            report.events_sent += 1
            pacer.wait(report.events_sent)
        if progress is not None:
            progress.update(report.events_sent, None, "events")
    remaining = producer.flush(60)
    if remaining:
        raise KafkaException(f"{remaining} events were not acknowledged by the broker in 60s")
    report.seconds = time.perf_counter() - started
    return report


def file_events(path: Path, max_record_bytes: int) -> Iterator[tuple[LoanEvent, LoanEvent] | str]:
    """Each record's two events, in file order, or why it has none ('line N: ...')."""
    export = LendingClubCsv(path, max_record_bytes)
    builder = LoanEventBuilder(export.header, f"lendingclub-csv:{path.name}", date.today().year)
    repeats = SurrogateRepeats()
    for record in export:
        if isinstance(record, CsvReject):
            yield record.reason
            continue
        try:
            yield repeats.resolve(*builder.build(record.values))
        except EventError as exc:
            yield f"line {record.line}: {exc}"


def produce_synthetic(
    settings: Settings, loans: int, seed: int, count: int | None = None, rate: float | None = None
) -> ProduceReport:
    from ingest.synthetic import write_synthetic_csv

    with tempfile.TemporaryDirectory(prefix="crews-produce-") as work:
        path = Path(work) / f"synthetic_seed{seed}.csv"
        write_synthetic_csv(path, loans, seed)
        return produce_csv(settings, path, count, rate)


def _send(producer: Producer, topic: str, key: str, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, value, key.encode())
            producer.poll(0)
            return
        except BufferError:  # the local queue is full: let deliveries drain, then retry
            producer.poll(0.1)


def _skip(report: ProduceReport, problem: str) -> None:
    report.rows_skipped += 1
    if len(report.first_problems) < 5:
        report.first_problems.append(problem)
        print(f"skipped {problem}", file=sys.stderr)
