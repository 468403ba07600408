"""Batch load of a LendingClub CSV into the raw tables, through the streaming writer."""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from queue import Empty
from typing import Any

from orjson import dumps

from ingest.events import EventError, LoanEventBuilder
from ingest.lendingclub_csv import CsvReject, CsvRow, LendingClubCsv
from ingest.progress import ProgressReporter
from ingest.warehouse import (
    BULK_COMMIT_ROWS,
    Batch,
    BatchResult,
    Landing,
    SourcePosition,
    Warehouse,
)

DEFAULT_BATCH_ROWS = BULK_COMMIT_ROWS  # rows per transaction
# Rows are parsed and written a part at a time within the transaction (a fifth of a DuckDB
# row group): what the parser hands over stays small however large the transaction.
PART_ROWS = BULK_COMMIT_ROWS // 5


@dataclass
class LoadReport:
    path: Path
    rows_read: int = 0
    applications_landed: int = 0
    performance_landed: int = 0
    quarantined: int = 0
    duplicates_skipped: int = 0
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
        self.batches += 1

    def summary(self) -> str:
        return (
            f"{self.path.name}: {self.rows_read:,} rows read in {self.seconds:.1f}s "
            f"({self.rows_per_second:,.0f} rows/s); landed {self.applications_landed:,} "
            f"applications and {self.performance_landed:,} performance events; "
            f"{self.quarantined:,} quarantined; {self.duplicates_skipped:,} already landed "
            f"(skipped); {self.batches} batches"
        )


# Below this size a file is parsed in this process: a second process would save little.
PARSER_PROCESS_MIN_BYTES = 8 << 20


@dataclass(frozen=True)
class _Parsed:
    """One part of a batch from the parser, with how far into the file it got."""

    batch: Batch
    rows_read: int
    bytes_done: int
    bytes_total: int

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


def _parsed_parts(path: Path, part_rows: int, latest_year: int) -> Iterator[_Parsed]:
    """The file's rows as parts of events and quarantined records, in file order."""
    export = LendingClubCsv(path)
    builder = LoanEventBuilder(export.header, f"lendingclub-csv:{path.name}", latest_year)
    rows_read = 0
    batch = Batch()
    for record in export:
        rows_read += 1
        position = SourcePosition("file", path.name, 0, record.line)
        if isinstance(record, CsvReject):
            batch.add_quarantine(record.raw.encode(), record.reason, position)
        else:
            _add_row(batch, builder, record, position)
        if len(batch) >= part_rows * 2:
            yield _Parsed(batch, rows_read, export.bytes_read, export.bytes_total)
            batch = Batch()
    yield _Parsed(batch, rows_read, export.bytes_read, export.bytes_total)


def _parse_into(queue: Any, path: Path, part_rows: int, latest_year: int) -> None:
    """The parser process: parts into the queue, then None; or the exception that stopped it."""
    try:
        with _no_cyclic_gc():
            for parsed in _parsed_parts(path, part_rows, latest_year):
                queue.put(parsed)
        queue.put(None)
    except BaseException as exc:
        queue.put(exc)


def _parts_from_parser_process(path: Path, part_rows: int, latest_year: int) -> Iterator[_Parsed]:
    """Parse in a second process, so parsing (all Python) and landing run on two cores
    instead of taking turns on one interpreter lock; a part waits in a small queue."""
    # fork: the child starts at once with everything imported (spawn would re-import the
    # caller's main module); it only parses, never touching the warehouse's connection.
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=2)
    parser = context.Process(
        target=_parse_into, args=(queue, path, part_rows, latest_year), name="parse-csv"
    )
    parser.start()
    try:
        while True:
            try:
                item = queue.get(timeout=1.0)
            except Empty:
                if not parser.is_alive():
                    raise RuntimeError(
                        f"the parser process for {path} died (exit code {parser.exitcode})"
                    ) from None
                continue
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if parser.is_alive():
            parser.terminate()
        parser.join()


def load_csv(
    path: str | Path,
    warehouse: Warehouse,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    show_progress: bool = True,
) -> LoadReport:
    """Land every row of the file, `batch_rows` rows per transaction; rows that cannot become
    events go to quarantine."""
    started = time.perf_counter()
    path = Path(path)
    report = LoadReport(path)
    progress = ProgressReporter(f"loading {path.name}") if show_progress else None
    latest_year = date.today().year
    part_rows = min(batch_rows, PART_ROWS)
    if path.stat().st_size >= PARSER_PROCESS_MIN_BYTES:
        parts = _parts_from_parser_process(path, part_rows, latest_year)
    else:
        parts = _parsed_parts(path, part_rows, latest_year)
    landing: Landing | None = None
    try:
        with _no_cyclic_gc():
            for parsed in parts:
                report.rows_read = parsed.rows_read
                if parsed.batch:
                    landing = landing or warehouse.begin_landing()
                    landing.write(parsed.batch)
                    if landing.received >= batch_rows * 2 and not parsed.rest_is_short(batch_rows):
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
    batch: Batch, builder: LoanEventBuilder, record: CsvRow, position: SourcePosition
) -> None:
    try:
        application, performance = builder.build(record.values)
    except EventError as exc:
        batch.add_quarantine(record.raw.encode(), f"line {record.line}: {exc}", position, exc.field)
        return
    batch.add_event(application, position, dumps(application.payload).decode())
    batch.add_event(performance, position, dumps(performance.payload).decode())
