"""Batch load of a LendingClub CSV into the raw tables, through the streaming writer.

An export row lands as its two events (ingest.events); a payment-history file, recognised by
its header, lands each row as one loan-month event (ingest.payment_history).

Rows without a published id get surrogate ids (ingest.events.surrogate_loan_id). Rows of one
file with the same origination fields must not become one loan, and only the loader sees the
parts in file order (each parser process builds every other part), so the parsers name each
part's surrogate rows and the loader renames repeats as it lands them (SurrogateRepeats):
the same ids as `python -m ingest produce --csv` gives, which reads the file in one pass.
A set lookup per id-less row, and nothing for files with ids.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from queue import Empty
from typing import Any

import orjson

from ingest.events import (
    APPLICATION,
    PERFORMANCE,
    SURROGATE_DIGITS,
    EventError,
    LoanEvent,
    LoanEventBuilder,
    SurrogateRepeats,
    is_surrogate_loan_id,
)
from ingest.files.lendingclub_csv import CsvReject, CsvRow, LendingClubCsv
from ingest.files.row_events import RowBuilder, row_builder
from ingest.progress import ProgressReporter
from ingest.settings import Settings
from ingest.warehouse.batch import Batch, BatchResult, SourcePosition
from ingest.warehouse.landing import Landing, RawWriter
from ingest.warehouse.raw_tables import EVENT_TABLES
from ingest.warehouse.writer import BULK_COMMIT_ROWS

DEFAULT_BATCH_ROWS = BULK_COMMIT_ROWS  # rows per transaction
# Rows are parsed and written a part at a time within the transaction, so what a parser
# hands over stays small however large the transaction. At 8,192 rows a part (about 23 MB
# pickled) stays under glibc's 32 MB mmap ceiling and its memory is reused, not mapped afresh
# each time: with 24,576-row parts the parsers spent 1.4 s of 200k loans' 9 s in page faults.
PART_ROWS = 8192


@dataclass
class LoadReport:
    path: Path
    rows_read: int = 0
    applications_landed: int = 0
    performance_landed: int = 0
    quarantined: int = 0
    duplicates_skipped: int = 0
    reused_positions: int = 0
    batches: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0

    def count(self, result: BatchResult) -> None:
        self.applications_landed += result.applications
        self.performance_landed += result.performance
        self.quarantined += result.quarantined
        self.duplicates_skipped += result.duplicates
        self.reused_positions += result.reused_positions
        self.batches += 1

    def summary(self) -> str:
        text = (
            f"{self.path.name}: {self.rows_read:,} rows read in {self.seconds:.1f}s "
            f"({self.rows_per_second:,.0f} rows/s); landed {self.applications_landed:,} "
            f"applications and {self.performance_landed:,} performance events; "
            f"{self.quarantined:,} quarantined; {self.duplicates_skipped:,} already landed "
            f"(skipped); {self.batches} batches"
        )
        if self.reused_positions:
            text += (
                f"; {self.reused_positions:,} records are new at lines a file of this name "
                "landed before (a re-downloaded or changed export): landed as new facts"
            )
        return text


# Below this size a file is parsed in this process: more processes would save little.
PARSER_PROCESS_MIN_BYTES = 8 << 20
# Two parsers keep the writer busy on two cores: parsing a loan costs more than landing it.
PARSER_PROCESSES = 2


@dataclass(frozen=True)
class _Parsed:
    """One part of a batch from the parser, with how far into the file it got."""

    batch: Batch
    rows_read: int
    bytes_done: int
    bytes_total: int
    surrogate_rows: list[int]  # rows of the batch (event table indices) with a surrogate id

    def rest_is_short(self, rows: int) -> bool:
        """Whether fewer than `rows` rows are left in the file, judging by the bytes per row
        so far: a DuckDB transaction of less than a row group commits through the WAL and
        a checkpoint (measured: 200k loans in one transaction took 4.1 s, as 122,880 +
        77,120 rows 5.5 s), so the file's last rows join the transaction before them."""
        rows_left = (self.bytes_total - self.bytes_done) * self.rows_read / max(self.bytes_done, 1)
        return rows_left < rows


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic GC: a batch holds millions of acyclic strings that it rescans."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class _Parse:
    """What to parse: the file, and how."""

    path: Path
    part_rows: int
    latest_year: int
    max_record_bytes: int


def _parsed_parts(job: _Parse, share: int = 0, shares: int = 1) -> Iterator[_Parsed]:
    """Parts `share`, `share + shares`, ... of the file (all of it by default) as events and
    quarantined records, in file order."""
    path = job.path
    export = LendingClubCsv(path, job.max_record_bytes)
    builder = row_builder(export.header, path, job.latest_year)
    # Only an export's rows can carry a surrogate id (a history's name published ids).
    surrogates = isinstance(builder, LoanEventBuilder)
    for part in export.parts(job.part_rows, share, shares):
        batch = Batch()
        surrogate_rows: list[int] = []
        rows = 0
        for record in part.records:
            position = SourcePosition("file", path.name, 0, record.line)
            if isinstance(record, CsvReject):
                batch.add_quarantine(record.raw.encode(), record.reason, position)
            elif loan_id := _add_row(batch, builder, record, position):
                if (
                    surrogates
                    and len(loan_id) == SURROGATE_DIGITS
                    and is_surrogate_loan_id(loan_id)
                ):
                    surrogate_rows.append(rows)
                rows += 1
        yield _Parsed(batch, part.records_read, part.bytes_read, export.bytes_total, surrogate_rows)


def _parse_into(queue: Any, job: _Parse, share: int, shares: int) -> None:
    """A parser process: its parts into the queue, then None; or the exception that stopped it."""
    try:
        with _no_cyclic_gc():
            for parsed in _parsed_parts(job, share, shares):
                queue.put(parsed)
        queue.put(None)
    except BaseException as exc:
        queue.put(exc)


def _parts_from_parser_processes(job: _Parse) -> Iterator[_Parsed]:
    """Parse in PARSER_PROCESSES processes, each taking every other part, so parsing (all
    Python) runs beside landing instead of taking turns with it on one interpreter lock;
    parts are landed in file order, each waiting in its parser's small queue."""
    # fork: a child starts at once with everything imported (spawn would re-import the
    # caller's main module); it only parses, never touching the warehouse's connection.
    context = multiprocessing.get_context("fork")
    parsers = []
    for share in range(PARSER_PROCESSES):
        queue = context.Queue(maxsize=2)
        process = context.Process(
            target=_parse_into,
            args=(queue, job, share, PARSER_PROCESSES),
            name=f"parse-csv-{share}",
        )
        process.start()
        parsers.append((process, queue))
    try:
        for index in itertools.count():
            process, queue = parsers[index % PARSER_PROCESSES]
            parsed = _next_from_parser(process, queue, job.path)
            if parsed is None:
                return
            yield parsed
    finally:
        for process, _ in parsers:
            if process.is_alive():
                process.terminate()
            process.join()


def _next_from_parser(process: Any, queue: Any, path: Path) -> _Parsed | None:
    while True:
        try:
            item = queue.get(timeout=1.0)
        except Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"a parser process for {path} died (exit code {process.exitcode})"
                ) from None
            continue
        if isinstance(item, BaseException):
            raise item
        return item


def load_csv(
    path: str | Path,
    warehouse: RawWriter,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    show_progress: bool = True,
    max_record_bytes: int | None = None,
) -> LoadReport:
    """Land every row of the file, `batch_rows` rows per transaction; rows that cannot become
    events go to quarantine, and so do records over `max_record_bytes` (by default
    INGEST_MAX_RECORD_BYTES)."""
    started = time.perf_counter()
    path = Path(path)
    report = LoadReport(path)
    progress = ProgressReporter(f"loading {path.name}") if show_progress else None
    job = _Parse(
        path,
        min(batch_rows, PART_ROWS),
        date.today().year,
        max_record_bytes or Settings.from_env().max_record_bytes,
    )
    if path.stat().st_size >= PARSER_PROCESS_MIN_BYTES:
        parts = _parts_from_parser_processes(job)
    else:
        parts = _parsed_parts(job)
    repeats = SurrogateRepeats()
    landing: Landing | None = None
    try:
        with _no_cyclic_gc():
            for parsed in parts:
                report.rows_read = parsed.rows_read
                _rename_repeats(parsed, repeats)
                if parsed.batch:
                    landing = landing or warehouse.begin_landing()
                    landing.write(parsed.batch)
                    full = landing.received >= batch_rows * 2  # two records per row
                    if full and not parsed.rest_is_short(batch_rows):
                        report.count(landing.commit())
                        landing = None
                if progress is not None:
                    progress.update(
                        parsed.bytes_done, parsed.bytes_total, "rows", rate_of=report.rows_read
                    )
            if landing is not None:
                report.count(landing.commit())
                landing = None
    finally:
        if landing is not None:
            landing.abort()
    report.seconds = time.perf_counter() - started
    return report


def _add_row(
    batch: Batch, builder: RowBuilder, record: CsvRow, position: SourcePosition
) -> str | None:
    """The row's events into the batch, or the row into quarantine; its loan id if any."""
    try:
        events = builder.build(record.values)
    except EventError as exc:
        batch.add_quarantine(record.raw.encode(), f"line {record.line}: {exc}", position, exc.field)
        return None
    for event in events:
        batch.add_event(event, position)
    return events[0].loan_id


def _rename_repeats(parsed: _Parsed, repeats: SurrogateRepeats) -> None:
    """Surrogate ids already held by an earlier row of the file, renamed in the batch."""
    tables = [parsed.batch.tables[EVENT_TABLES[t]] for t in (APPLICATION, PERFORMANCE)]
    for row in parsed.surrogate_rows:
        if repeats.first(tables[0]["loan_id"][row]):
            continue
        renamed = repeats.renamed(*(_event_at(table, row) for table in tables))
        for table, event in zip(tables, renamed, strict=True):
            table["event_id"][row] = event.event_id
            table["loan_id"][row] = event.loan_id
            table["payload"][row] = event.payload_json


def _event_at(table: dict[str, list[Any]], row: int) -> LoanEvent:
    payload = table["payload"][row]
    return LoanEvent(
        table["event_id"][row], table["event_type"][row], table["schema_version"][row],
        table["occurred_at"][row], table["source"][row], table["loan_id"][row],
        orjson.loads(payload), payload,
    )  # fmt: skip
