"""`make bench`: how long after its event a decision is in the warehouse.

The landing service and the stream scorer run side by side on a real Postgres with a
gradient-boosting champion (tests/benchmarks/bench_champion.py); synthetic loans are produced at
1,000 applications/s (2,000 events/s with their performance events) for BENCH_DECISION_SECONDS
(60 by default); SCORER_TOP_FEATURES=0 measures the scorer without top features. Latency is `decided_at - event_time` (the Kafka message timestamp, set when
the producer sends it) over the application decisions: p50, p95, p99 (target p95 < 2 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

from ingest.settings import Settings
from ingest.streaming.local_broker import local_broker
from ingest.streaming.producer import produce_csv
from ingest.synthetic import write_synthetic_csv
from tests.benchmarks.bench_champion import fit_champion
from tests.postgres_cluster import free_port, throwaway_cluster

SECONDS = int(os.environ.get("BENCH_DECISION_SECONDS", "60"))
APPLICATIONS_PER_SECOND = 1_000

_LATENCY_SQL = """
select count(*),
       percentile_cont(0.50) within group (order by extract(epoch from decided_at - event_time)),
       percentile_cont(0.95) within group (order by extract(epoch from decided_at - event_time)),
       percentile_cont(0.99) within group (order by extract(epoch from decided_at - event_time)),
       count(pd)
from live.loan_decisions where event_type = 'loan.application'
"""


def _decided(env: dict[str, str]) -> int:
    try:
        with psycopg2.connect("") as con, con.cursor() as cur:
            cur.execute("select count(*) from live.loan_decisions")
            return cur.fetchone()[0]
    except psycopg2.Error:
        return 0


def main() -> None:
    loans = SECONDS * APPLICATIONS_PER_SECOND
    with tempfile.TemporaryDirectory(prefix="crews-decision-bench-") as work, \
            throwaway_cluster() as pg_env, local_broker(free_port()) as bootstrap:  # fmt: skip
        os.environ.update(pg_env)
        csv_path = Path(work) / "loans.csv"
        write_synthetic_csv(csv_path, loans, seed=9)
        fit_champion(csv_path, Path(work) / "models")
        env = {**os.environ, **pg_env, "WAREHOUSE": "postgres", "KAFKA_BOOTSTRAP": bootstrap,
               "ML_MODEL_DIR": str(Path(work) / "models"), "INGEST_METRICS_PORT": "0",
               "SCORER_METRICS_PORT": "0",
               "SCORER_TOP_FEATURES": os.environ.get("SCORER_TOP_FEATURES", "1")}  # fmt: skip
        settings = Settings.from_env(env)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for command in (["ingest", "run"], ["ml", "serve-stream"])
        ]
        try:
            time.sleep(8)  # both join their groups before the clock starts
            report = produce_csv(
                settings, csv_path, rate=2 * APPLICATIONS_PER_SECOND, show_progress=False
            )
            deadline = time.monotonic() + 120
            while _decided(env) < report.events_sent and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
        with psycopg2.connect("") as con, con.cursor() as cur:
            cur.execute(_LATENCY_SQL)
            decided, p50, p95, p99, with_pd = cur.fetchone()
    print(
        f"decision latency, landing service + stream scorer on Postgres, "
        f"{report.events_sent:,} events produced in {report.seconds:.0f}s "
        f"({report.events_sent / report.seconds:,.0f}/s, half of them applications)"
    )
    print(f"  top features: {'on' if env['SCORER_TOP_FEATURES'] != '0' else 'off'}, "
          f"scorer checkpoint every {settings.scorer_commit_interval:g} s")  # fmt: skip
    print(f"  {decided:,} application decisions ({with_pd:,} with a PD): p50 {p50:.2f}s  "
          f"p95 {p95:.2f}s  p99 {p99:.2f}s  (target p95 < 2 s)")  # fmt: skip


if __name__ == "__main__":
    main()
