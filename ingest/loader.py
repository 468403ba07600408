"""Batch load of a LendingClub CSV into the raw tables, through the streaming writer."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orjson import dumps

from ingest.events import EventError, LoanEventBuilder
from ingest.lendingclub_csv import CsvReject, CsvRow, LendingClubCsv
from ingest.progress import ProgressReporter
from ingest.warehouse import (
    Batch,
    BatchResult,
    SourcePosition,
    Warehouse,
)

DEFAULT_BATCH_ROWS = 25_000


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

    def summary(self) -> str:
        return (
            f"{self.path.name}: {self.rows_read:,} rows read in {self.seconds:.1f}s "
            f"({self.rows_per_second:,.0f} rows/s); landed {self.applications_landed:,} "
            f"applications and {self.performance_landed:,} performance events; "
            f"{self.quarantined:,} quarantined; {self.duplicates_skipped:,} already landed "
            f"(skipped); {self.batches} batches"
        )


class _BackgroundLander:
    """Lands batches in one background thread, in order, one at a time.

    The database writes batch N (DuckDB and psycopg2 release the GIL while they work) while
    the caller parses batch N+1; waiting for N before handing over N+1 keeps the order.
    """

    def __init__(self, warehouse: Warehouse, report: LoadReport) -> None:
        self.warehouse = warehouse
        self.report = report
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="land")
        self._landing: Future[BatchResult] | None = None

    def wait(self) -> None:
        if self._landing is None:
            return
        result, self._landing = self._landing.result(), None
        self.report.applications_landed += result.applications
        self.report.performance_landed += result.performance
        self.report.quarantined += result.quarantined
        self.report.duplicates_skipped += result.duplicates
        self.report.batches += 1

    def submit(self, batch: Batch) -> None:
        self.wait()
        if batch:
            self._landing = self._pool.submit(self.warehouse.land, batch)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


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


def load_csv(
    path: str | Path,
    warehouse: Warehouse,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    show_progress: bool = True,
) -> LoadReport:
    """Land every row of the file; rows that cannot become events go to quarantine."""
    started = time.perf_counter()
    path = Path(path)
    report = LoadReport(path)
    progress = ProgressReporter(f"loading {path.name}") if show_progress else None

    def on_bytes(done: int, total: int) -> None:
        if progress is not None:
            progress.update(done, total, "rows", rate_of=report.rows_read)

    export = LendingClubCsv(path, progress=on_bytes)
    builder = LoanEventBuilder(export.header, f"lendingclub-csv:{path.name}", date.today().year)
    lander = _BackgroundLander(warehouse, report)
    batch = Batch()
    with _no_cyclic_gc():
        try:
            for record in export:
                report.rows_read += 1
                position = SourcePosition("file", path.name, 0, record.line)
                if isinstance(record, CsvReject):
                    batch.add_quarantine(record.raw.encode(), record.reason, position)
                else:
                    _add_row(batch, builder, record, position)
                if len(batch) >= batch_rows * 2:
                    lander.submit(batch)
                    batch = Batch()
            lander.submit(batch)
            lander.wait()
        finally:
            lander.close()
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
