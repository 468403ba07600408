"""`make bench`: batch-load throughput into DuckDB and Postgres, against a same-run baseline.

The baseline is the raw ceiling for each warehouse: the CSV parsed and split into events with
nothing landed (how fast Python can produce the rows). Figures go to the README.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from ingest.events import LoanEventBuilder
from ingest.files.lendingclub_csv import CsvRow, LendingClubCsv
from ingest.files.loader import load_csv
from ingest.files.memory import retain_freed_memory
from ingest.synthetic import write_synthetic_csv
from tests.landing import duckdb_writer, postgres_writer
from tests.postgres_cluster import throwaway_cluster

LOANS = int(os.environ.get("BENCH_LOANS", "200000"))


def _parse_only(path: Path) -> float:
    started = time.perf_counter()
    export = LendingClubCsv(path)
    builder = LoanEventBuilder(export.header, "bench", 2026)
    for record in export:
        if isinstance(record, CsvRow):
            builder.build(record.values)
    return LOANS / (time.perf_counter() - started)


def main() -> int:
    retain_freed_memory()  # as `python -m ingest load` does
    with tempfile.TemporaryDirectory(prefix="crews-bench-") as work:
        return _run(Path(work))


def _run(work: Path) -> int:
    csv_path = work / "loans.csv"
    started = time.perf_counter()
    write_synthetic_csv(csv_path, LOANS, seed=1)
    generate_rate = LOANS / (time.perf_counter() - started)
    print(f"generate: {LOANS:,} loans at {generate_rate:,.0f} loans/s")
    print(f"parse+split only (no warehouse): {_parse_only(csv_path):,.0f} loans/s")

    store = duckdb_writer(work / "bench.duckdb")
    store.init()
    report = load_csv(csv_path, store, show_progress=False)
    store.close()
    print(f"load into DuckDB: {report.rows_per_second:,.0f} loans/s (target 30,000)")

    with throwaway_cluster() as env:
        os.environ.update(env)
        store = postgres_writer()
        store.init()
        report = load_csv(csv_path, store, show_progress=False)
        store.close()
    print(f"load into Postgres: {report.rows_per_second:,.0f} loans/s (target 15,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
