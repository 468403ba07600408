"""`make bench`: a LendingClub-sized book with its whole monthly payment history: generate,
load and `dbt build`, each step reported, then one new month built incrementally.

The book is 2.26 million synthetic loans (the 2007-2018Q4 export's size) and their histories
(about 42 million loan-months: the synthetic book is young, as the real one is; LendingClub's
own PMTHIST files hold 60 to 70 million). Every month but the export's last lands first and
is built in full; then the last month (an event for every loan still on the book that month)
lands and is built incrementally: the full build is the baseline measured in the same run.
Loading is set against the export's own load in the same run (rows per second).

Targets (issue 18): generating at least 200,000 loan-months/s, loading at least 100,000
loan-months/s, a full `dbt build` under 10 minutes, and the new month built in under 60 s on
DuckDB and under 5 minutes on Postgres. `BENCH_HISTORY_LOANS` sets the size (a tenth,
226,000, runs in a few minutes), `BENCH_HISTORY_TARGETS` the engines (duckdb,postgres).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from ingest.synthetic import write_synthetic_csv
from ingest.synthetic.tables import EXPORT_MONTH, MONTH_NAMES
from tests.benchmarks.dbt_benchmark import _print_slowest
from tests.dbt_runner import run_dbt
from tests.landing import duckdb_writer, land_csv, postgres_writer
from tests.postgres_cluster import throwaway_cluster

LOANS = int(os.environ.get("BENCH_HISTORY_LOANS", "2260000"))
TARGETS = os.environ.get("BENCH_HISTORY_TARGETS", "duckdb,postgres").split(",")
LAST_MONTH = f"{MONTH_NAMES[EXPORT_MONTH % 12]}{EXPORT_MONTH // 12}".encode()  # b"Mar2019"


def _split_last_month(history: Path, earlier: Path, last: Path) -> tuple[int, int]:
    """The history's rows of every month but the last to `earlier`, the last month's to
    `last` (both with the header); the two row counts."""
    counts = [0, 0]
    with history.open("rb") as source, earlier.open("wb") as first, last.open("wb") as second:
        header = source.readline()
        first.write(header)
        second.write(header)
        for line in source:
            is_last = line.split(b",", 2)[1] == LAST_MONTH
            (second if is_last else first).write(line)
            counts[is_last] += 1
    return counts[0], counts[1]


def _timed_load(make_store, path: Path) -> float:
    started = time.perf_counter()
    land_csv(make_store(), path)
    return time.perf_counter() - started


def _measure(target: str, env: dict[str, str], make_store, files: dict[str, Path]) -> None:
    rows = {name: int(path.with_suffix(".rows").read_text()) for name, path in files.items()}
    dbt_target = files["loans"].parent / f"dbt-{target}"
    seconds = _timed_load(make_store, files["loans"])
    print(
        f"[{target}] load the export, {rows['loans']:,} loans: {seconds:.1f}s "
        f"({rows['loans'] / seconds:,.0f} rows/s, the baseline)"
    )
    seconds = _timed_load(make_store, files["earlier"])
    print(
        f"[{target}] load the history, {rows['earlier']:,} loan-months: {seconds:.1f}s "
        f"({rows['earlier'] / seconds:,.0f} loan-months/s; target 100,000)"
    )
    full = run_dbt("build", target=target, env=env, target_path=dbt_target)
    print(f"[{target}] dbt build, full: {full:.1f}s (target < 600 s); slowest nodes:")
    _print_slowest(dbt_target / "run_results.json")
    seconds = _timed_load(make_store, files["last"])
    print(f"[{target}] load the new month, {rows['last']:,} loan-months: {seconds:.1f}s")
    incremental = run_dbt("build", target=target, env=env, target_path=dbt_target)
    goal = 60 if target == "duckdb" else 300
    print(
        f"[{target}] dbt build, the new month: {incremental:.1f}s (target < {goal} s; "
        f"{full / incremental:.1f}x faster than the full build); slowest nodes:"
    )
    _print_slowest(dbt_target / "run_results.json")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="crews-history-bench-") as folder:
        work = Path(folder)
        files = {name: work / f"{name}.csv" for name in ("loans", "history", "earlier", "last")}
        started = time.perf_counter()
        write_synthetic_csv(files["loans"], LOANS, seed=3)
        export_only = time.perf_counter() - started
        started = time.perf_counter()
        months = write_synthetic_csv(files["loans"], LOANS, seed=3, history_path=files["history"])
        both = time.perf_counter() - started
        print(
            f"generate {LOANS:,} loans: {export_only:.1f}s alone (the baseline); with their "
            f"{months:,} loan-months {both:.1f}s: the history added {both - export_only:.1f}s "
            f"({months / max(both - export_only, 1e-9):,.0f} loan-months/s; target 200,000), "
            f"{months / both:,.0f} loan-months/s over the whole run"
        )
        counts = _split_last_month(files["history"], files["earlier"], files["last"])
        files["history"].unlink()
        del files["history"]
        for name, count in (("loans", LOANS), ("earlier", counts[0]), ("last", counts[1])):
            files[name].with_suffix(".rows").write_text(str(count))
        if "duckdb" in TARGETS:
            path = work / "bench.duckdb"
            env = {"DUCKDB_PATH": str(path)}
            _measure("duckdb", env, lambda: duckdb_writer(path), files)
            path.unlink()
        if "postgres" in TARGETS:
            with throwaway_cluster() as env:
                os.environ.update(env)
                _measure("postgres", env, postgres_writer, files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
