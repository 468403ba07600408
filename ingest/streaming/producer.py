"""`python -m ingest produce`: replay a LendingClub CSV (or synthetic loans) onto Kafka.

Each row becomes the events `python -m ingest load` gives it (an export row its application
and performance events, a payment-history row its loan-month; surrogate ids included:
`file_events`), keyed by loan id so one loan's events stay in order on one partition. Rows
that cannot become events are counted and named, not sent: land the file with
`python -m ingest load` to quarantine them.

A payment history replays in calendar order with a month clock (`produce_history`), as a
servicer's monthly feed arrives: the file (written loan by loan) is read once and its events
spooled to one file per month on disk, so memory stays flat however long the history (a
LendingClub-sized one is 60 million loan-months), then each month is sent in turn.
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

from ingest.events import PERFORMANCE, EventError, LoanEvent, LoanEventBuilder, SurrogateRepeats
from ingest.files.lendingclub_csv import CsvFormatError, CsvReject, LendingClubCsv
from ingest.files.row_events import row_builder
from ingest.payment_history import LoanMonthBuilder, is_payment_history
from ingest.progress import ProgressReporter
from ingest.settings import Settings
from ingest.streaming.topics import ensure_topics

# Spooled lines held in memory before they are appended to their months' files (about 400
# bytes each).
SPOOL_LINES = 100_000


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


def file_events(path: Path, max_record_bytes: int) -> Iterator[tuple[LoanEvent, ...] | str]:
    """Each record's events, in file order, or why it has none ('line N: ...')."""
    export = LendingClubCsv(path, max_record_bytes)
    builder = row_builder(export.header, path, date.today().year)
    repeats = SurrogateRepeats() if isinstance(builder, LoanEventBuilder) else None
    for record in export:
        if isinstance(record, CsvReject):
            yield record.reason
            continue
        try:
            events = builder.build(record.values)
        except EventError as exc:
            yield f"line {record.line}: {exc}"
            continue
        yield events if repeats is None else repeats.resolve(*events)


def produce_history(
    settings: Settings,
    path: Path,
    month_every: float | None = None,
    count: int | None = None,
    show_progress: bool = True,
    since: str | None = None,
) -> ProduceReport:
    """Send a payment history's loan-months in calendar order, a month at a time, each month
    taking at least `month_every` seconds (as fast as possible without); at most `count`
    events; only the months from `since` ('2017-01') on, if given. CsvFormatError if the
    file is not a payment history."""
    report = ProduceReport()
    started = time.perf_counter()
    history = LendingClubCsv(path, settings.max_record_bytes)
    if not is_payment_history(history.header):
        raise CsvFormatError(
            f"{path}: not a payment history (expected columns such as LOAN_ID, MONTH, "
            "PERIOD_END_LSTAT): use --csv for an export"
        )
    ensure_topics(settings.kafka_bootstrap, list(settings.topics.values()))
    producer = _producer(settings.kafka_bootstrap)
    topic = settings.topics[PERFORMANCE]
    limit = count if count is not None else float("inf")
    with tempfile.TemporaryDirectory(prefix="crews-history-") as work:
        reading = ProgressReporter("sorting history by month") if show_progress else None
        first = f"{since}-01T00:00:00Z" if since else ""
        months = _spool_by_month(history, Path(work), first, report, reading)
        progress = ProgressReporter("producing history") if show_progress else None
        for number, month in enumerate(sorted(months), start=1):
            month_started = time.perf_counter()
            sent_before = report.events_sent
            with months[month].open("rb") as spool:
                for line in spool:
                    if report.events_sent >= limit:
                        break
                    key, _, value = line.rstrip(b"\n").partition(b"\t")
                    _send(producer, topic, key.decode(), value)
                    report.events_sent += 1
            if show_progress and month_every:  # a paced feed: a line a month
                print(
                    f"month {month[:7]} ({number} of {len(months)}): "
                    f"{report.events_sent - sent_before:,} loan-months sent",
                    file=sys.stderr,
                    flush=True,
                )
            elif progress is not None:
                progress.update(number, len(months), "loan-months", rate_of=report.events_sent)
            if report.events_sent >= limit:
                break
            if month_every:
                producer.flush(month_every)
                time.sleep(max(0.0, month_every - (time.perf_counter() - month_started)))
    remaining = producer.flush(60)
    if remaining:
        raise KafkaException(f"{remaining} events were not acknowledged by the broker in 60s")
    report.seconds = time.perf_counter() - started
    return report


def _spool_by_month(
    history: LendingClubCsv,
    work: Path,
    first_month: str,
    report: ProduceReport,
    progress: ProgressReporter | None,
) -> dict[str, Path]:
    """The history's events from `first_month` (an occurred_at; '' for all) written to one
    spool file per month ('key\tjson' lines, in file order within a month); rows that cannot
    become events counted and named. Months before `first_month` are never built. Lines are
    gathered in memory and appended to their month's file every SPOOL_LINES lines, so neither
    memory nor open files grow with the file (a damaged file may name thousands of months)."""
    builder = LoanMonthBuilder(
        history.header, f"lendingclub-pmthist:{history.path.name}", date.today().year
    )
    spools: dict[str, Path] = {}
    pending: dict[str, list[bytes]] = {}
    held = 0
    for rows, record in enumerate(history, start=1):
        if progress is not None:
            progress.update(rows, None, "rows")
        if isinstance(record, CsvReject):
            _skip(report, record.reason)
            continue
        try:
            if builder.month(record.values) < first_month:
                continue
            (event,) = builder.build(record.values)
        except EventError as exc:
            _skip(report, f"line {record.line}: {exc}")
            continue
        month = event.occurred_at
        if month not in spools:
            spools[month] = work / f"{month[:7]}.jsonl"
        pending.setdefault(month, []).append(
            event.loan_id.encode() + b"\t" + event.to_json() + b"\n"
        )
        held += 1
        if held >= SPOOL_LINES:
            _append_spools(spools, pending)
            held = 0
    _append_spools(spools, pending)
    return spools


def _append_spools(spools: dict[str, Path], pending: dict[str, list[bytes]]) -> None:
    for month, lines in pending.items():
        with spools[month].open("ab") as spool:
            spool.writelines(lines)
    pending.clear()


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
