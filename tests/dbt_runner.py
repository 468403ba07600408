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


def run_dbt(*args: str, target: str, env: dict[str, str], target_path: Path | None = None) -> float:
    """Run `dbt <args>` against `target`; fail loudly with dbt's output; return seconds taken.

    `target_path` keeps dbt's artefacts apart from another dbt running in the same checkout;
    under pytest-xdist each worker gets its own by default (target/pytest-gw0, ...), logs too.
    """
    started = time.perf_counter()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if target_path is None and worker and "--target-path" not in args:
        target_path = REPO_ROOT / "target" / f"pytest-{worker}"
    paths = ["--target-path", str(target_path)] if target_path else []
    logs = {"DBT_LOG_PATH": str(target_path / "logs")} if target_path else {}
    result = subprocess.run(
        [DBT, *args, "--profiles-dir", "profiles", "--target", target, *paths],
        cwd=REPO_ROOT,
        env={**os.environ, **env, **logs, "WAREHOUSE": target},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}")
    return time.perf_counter() - started
