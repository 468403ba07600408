"""Run the project's dbt from tests and benchmarks, on either warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO_ROOT

DBT = str(Path(sys.executable).parent / "dbt")


# The models the loan-level tests read (fct_loans, the watchlist and everything before them):
# `dbt run --select` of these takes a fraction of a whole `dbt build` with its tests.
LOAN_MODELS = ("--select", "+fct_loans", "+early_warning_watchlist")
# The models from the two scorers' tables (ml.loan_predictions, live.loan_decisions) to the
# watchlist: what a test that only writes PDs or decisions rebuilds.
SCORED_MODELS = (
    "--select", "stg_ml__loan_predictions", "int_loans__champion_predictions",
    "stg_live__loan_decisions", "int_loans__latest_live_decision", "fct_loans",
    "early_warning_watchlist",
)  # fmt: skip


def run_dbt(
    *args: str,
    target: str,
    env: dict[str, str],
    target_path: Path | None = None,
    unit_tests: bool = False,
) -> float:
    """Run `dbt <args>` against `target`; fail loudly with dbt's output; return seconds taken.

    `target_path` keeps dbt's artefacts apart from another dbt running in the same checkout;
    under pytest-xdist each worker gets its own by default, one per engine
    (target/pytest-gw0-duckdb, ...), logs too: dbt parses the whole project again whenever
    the profile's connection differs from the last run's in that folder, so a worker that
    alternates between the engines would pay a full parse at every switch.
    A `build` leaves out the dbt unit tests unless `unit_tests`: they read no warehouse data,
    so one build per engine runs them (test_dbt_build.py) instead of all 18 builds of the
    suite (12 s of each).
    """
    started = time.perf_counter()
    if args and args[0] == "build" and not unit_tests:
        args = (*args, "--exclude-resource-type", "unit_test")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if target_path is None and worker and "--target-path" not in args:
        target_path = REPO_ROOT / "target" / f"pytest-{worker}-{target}"
    paths = ["--target-path", str(target_path)] if target_path else []
    logs = {"DBT_LOG_PATH": str(target_path / "logs")} if target_path else {}
    variables = {**os.environ, **env, **logs, "WAREHOUSE": target}
    cwd = REPO_ROOT
    if target == "duckdb" and Path(variables.get("DUCKDB_PATH", "")).is_absolute():
        # dbt parses the whole project again (9 s of 14 here) whenever the profile's
        # connection differs from the last run's, and the DuckDB path is part of it: from
        # the file's folder, the path is its name, the same for most tests.
        database = Path(variables["DUCKDB_PATH"])
        cwd, variables["DUCKDB_PATH"] = database.parent, database.name
    result = subprocess.run(
        [DBT, *args, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT / "profiles"),
         "--target", target, *paths],
        cwd=cwd,
        env=variables,
        capture_output=True,
        text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}")
    return time.perf_counter() - started
