"""`make bench`: `dbt build` on a LendingClub-sized book, an incremental rebuild, and the
exports that scale with the book (a snapshot of fct_loans, a drift report over 100k loans).

The book is 2.26 million synthetic loans (the size of the 2007-2018Q4 export), re-dated as if
it had streamed in over yesterday (a loan every 30 ms), as a daily book does: the loader lands
it in minutes, which would put all of it inside staging's 10-minute lookback window. The full build is
the same-run baseline the incremental rebuild (10,000 new events, today's) is measured
against. Targets: DuckDB full build under 60 s; Postgres incremental under 15 s.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2

from exports.drift import Window, drift_report
from exports.lake import LocalLake
from exports.snapshots import snapshot_model
from ingest.settings import Settings
from ingest.synthetic import write_synthetic_csv
from ingest.warehouse.landing import RawWriter
from ingest.warehouse.session import open_session
from tests.book_updates import write_next_month
from tests.dbt_runner import run_dbt
from tests.landing import duckdb_writer, land_csv, postgres_writer
from tests.postgres_cluster import throwaway_cluster

LOANS = int(os.environ.get("BENCH_DBT_LOANS", "2260000"))
TARGETS = os.environ.get("BENCH_DBT_TARGETS", "duckdb,postgres").split(",")
NEW_EVENTS = 10_000
CURRENT_ROWS = int(os.environ.get("BENCH_DRIFT_ROWS", "100000"))


def _load(store: RawWriter, csv_path: Path) -> float:
    started = time.perf_counter()
    land_csv(store, csv_path)
    return time.perf_counter() - started


YESTERDAY = "cast(current_date - 1 as timestamp)"
AGE_BOOK = [
    f"update raw.{table} set landed_at = {YESTERDAY} + source_offset * interval '30 milliseconds'"
    for table in ("loan_applications", "loan_performance")
] + ["update raw.ingest_batches set committed_at = committed_at - interval '1 day'"]


def _age_book(target: str, env: dict[str, str]) -> None:
    if target == "duckdb":
        with duckdb.connect(env["DUCKDB_PATH"]) as con:
            for statement in AGE_BOOK:
                con.execute(statement)
        return
    con = psycopg2.connect("")
    con.autocommit = True  # vacuum runs outside a transaction
    with con.cursor() as cur:
        for statement in AGE_BOOK:
            cur.execute(statement)
        cur.execute("vacuum analyze")
    con.close()


def _print_slowest(run_results: Path, count: int = 8) -> None:
    results = json.loads(run_results.read_text())["results"]
    for node in sorted(results, key=lambda r: -r["execution_time"])[:count]:
        print(f"    {node['execution_time']:5.1f}s  {node['unique_id'].split('.', 2)[-1]}")


def _measure(target: str, env: dict[str, str], make_store, book: Path, update: Path) -> None:
    dbt_target = book.parent / f"dbt-{target}"
    print(f"[{target}] landing {LOANS:,} loans: {_load(make_store(), book):.0f}s (setup)")
    _age_book(target, env)
    full = run_dbt("build", target=target, env=env, target_path=dbt_target)
    print(f"[{target}] dbt build, full:           {full:6.1f}s")
    _load(make_store(), update)
    incremental = run_dbt("build", target=target, env=env, target_path=dbt_target)
    print(
        f"[{target}] dbt build, +{NEW_EVENTS:,} events: {incremental:6.1f}s "
        f"({full / incremental:.1f}x faster than the full build); slowest nodes:"
    )
    _print_slowest(dbt_target / "run_results.json")
    run_only = run_dbt("run", target=target, env=env, target_path=dbt_target)
    print(f"[{target}] dbt run (no tests), nothing new: {run_only:6.1f}s")
    _measure_exports(target, env, book.parent / f"lake-{target}")


def _measure_exports(target: str, env: dict[str, str], lake_folder: Path) -> None:
    """Snapshot of the whole fct_loans, and a drift report over ~100k current applications."""
    settings = Settings.from_env({**os.environ, **env, "WAREHOUSE": target})
    lake = LocalLake(lake_folder)
    started = time.perf_counter()
    result = snapshot_model(settings, lake, "marts", "fct_loans", date.today(), {})
    print(
        f"[{target}] snapshot of fct_loans ({result.rows:,} rows): {time.perf_counter() - started:6.1f}s (target < 60s)"
    )
    store = open_session(settings)
    try:
        issued = store.frame(
            "select issue_date, count(*) as n from marts.ml_features group by 1 order by 1 desc"
        )
        months = issued.assign(total=issued["n"].cumsum())
        first_current = months[months["total"] >= CURRENT_ROWS]["issue_date"].iloc[0]
        current = Window(
            pd.Timestamp(first_current).date(), pd.Timestamp(months["issue_date"].iloc[0]).date()
        )
        reference = Window(date(2009, 1, 1), current.start - timedelta(days=1))
        started = time.perf_counter()
        report = drift_report(store, lake, date.today(), reference, current)
    finally:
        store.close()
    print(
        f"[{target}] drift report, {report.features.current_rows.iloc[0]:,} current vs "
        f"{report.features.reference_rows.iloc[0]:,} reference loans: "
        f"{time.perf_counter() - started:6.1f}s (target < 60s)"
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="crews-dbt-bench-") as folder:
        work = Path(folder)
        book, update = work / "book.csv", work / "next_month.csv"
        started = time.perf_counter()
        write_synthetic_csv(book, LOANS, seed=3)
        write_next_month(book, update, NEW_EVENTS)
        print(
            f"generated {LOANS:,} loans and a {NEW_EVENTS:,}-loan update in "
            f"{time.perf_counter() - started:.0f}s (setup)"
        )
        if "duckdb" in TARGETS:
            path = work / "bench.duckdb"
            env = {"DUCKDB_PATH": str(path)}
            _measure("duckdb", env, lambda: duckdb_writer(path), book, update)
        if "postgres" in TARGETS:
            with throwaway_cluster() as env:
                os.environ.update(env)
                _measure("postgres", env, postgres_writer, book, update)
    return 0


if __name__ == "__main__":
    sys.exit(main())
