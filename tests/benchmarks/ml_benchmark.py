"""`make bench`: training all PD candidates on 1 million loans, and scoring throughput.

Targets: training every candidate in under 2 minutes on 2 cores; scoring at least 100,000
loans/s including the warehouse write. The same-run baseline for scoring is reading the
features alone (what any scoring must pay before predicting).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from ingest.settings import Settings
from ingest.synthetic import write_synthetic_csv
from ingest.warehouse.session import open_session
from ml.scoring import score
from ml.training import FEATURES_QUERY, train
from tests.dbt_runner import run_dbt
from tests.landing import duckdb_writer, land_csv

LOANS = int(os.environ.get("BENCH_ML_LOANS", "1000000"))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="crews-ml-bench-") as folder:
        work = Path(folder)
        csv_path, path = work / "loans.csv", work / "bench.duckdb"
        started = time.perf_counter()
        write_synthetic_csv(csv_path, LOANS, seed=9)
        land_csv(duckdb_writer(path), csv_path)
        run_dbt("build", target="duckdb", env={"DUCKDB_PATH": str(path)}, target_path=work / "dbt")
        print(
            f"setup: {LOANS:,} loans generated, landed and built in {time.perf_counter() - started:.0f}s"
        )

        store = open_session(Settings(duckdb_path=path))
        try:
            started = time.perf_counter()
            report = train(store, work / "models", progress=print)
            elapsed = time.perf_counter() - started
            print(f"train all candidates on {LOANS:,} loans ({report.split.train_rows:,} "
                  f"resolved in training): {elapsed:.1f}s (target < 120s)")  # fmt: skip
            print(report.metrics.to_string(index=False, float_format="{:.4f}".format))
            started = time.perf_counter()
            rows = len(store.frame(FEATURES_QUERY))
            print(
                f"baseline, read features only: {rows / (time.perf_counter() - started):,.0f} loans/s"
            )
            scored = score(store)
            print(f"score with {scored.candidate}, incl. the warehouse write: "
                  f"{scored.loans_per_second:,.0f} loans/s (target 100,000)")  # fmt: skip
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
