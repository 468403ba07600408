"""`make bench`: sustained Kafka -> raw tables ingest, against same-run baselines.

(a) the ceiling: the same events COPYed / bulk-inserted straight into the same tables, no
Kafka; (b) the original design: one INSERT per event, a commit every 200 rows.
Throughput is events over the span of the service's batches (first batch start to last
commit, from raw.ingest_batches), so broker start and group join are not counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg2

from ingest.events import LoanEventBuilder
from ingest.files.lendingclub_csv import CsvRow, LendingClubCsv
from ingest.settings import Settings
from ingest.streaming.local_broker import local_broker
from ingest.streaming.producer import produce_csv
from ingest.synthetic import write_synthetic_csv
from ingest.warehouse.batch import Batch, SourcePosition
from tests.landing import postgres_writer
from tests.postgres_cluster import free_port, throwaway_cluster

LOANS = int(os.environ.get("BENCH_STREAM_LOANS", "100000"))  # two events each
ROW_BY_ROW_EVENTS = 20_000


def _batches(csv_path: Path, size: int = 20_000) -> list[Batch]:
    export = LendingClubCsv(csv_path)
    builder = LoanEventBuilder(export.header, "bench", date.today().year)
    batches, batch = [], Batch()
    for record in export:
        if isinstance(record, CsvRow):
            for event in builder.build(record.values):
                position = SourcePosition(
                    "kafka", event.event_type, 0, len(batches) * size + len(batch)
                )
                batch.add_event(event, position)
        if len(batch) >= size:
            batches.append(batch)
            batch = Batch()
    return [*batches, batch] if batch else batches


def _stream(env: dict[str, str]) -> tuple[float, float, int]:
    subprocess.run(
        [sys.executable, "-m", "ingest", "run", "--until-idle", "3"],
        env={**os.environ, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    if env["WAREHOUSE"] == "postgres":
        with psycopg2.connect("") as con, con.cursor() as cur:
            cur.execute(_SPAN_SQL)
            return cur.fetchone()
    import duckdb

    with duckdb.connect(env["DUCKDB_PATH"], read_only=True) as con:
        return con.execute(_SPAN_SQL).fetchone()


_SPAN_SQL = """
select sum(applications_landed + performance_landed)
       / extract(epoch from (max(committed_at) - min(started_at))),
       percentile_cont(0.95) within group (order by write_ms) / 1000.0,
       sum(applications_landed + performance_landed)
from raw.ingest_batches
"""


def _ceiling(batches: list[Batch]) -> float:
    store = postgres_writer()
    store.init()
    with store.con.cursor() as cur:
        cur.execute("truncate raw.loan_applications, raw.loan_performance, raw.ingest_batches")
    store.con.commit()
    started = time.perf_counter()
    events = 0
    for batch in batches:
        result = store.land(batch)
        events += result.applications + result.performance
    rate = events / (time.perf_counter() - started)
    store.close()
    return rate


def _row_by_row(batches: list[Batch]) -> float:
    con = psycopg2.connect("")
    table = batches[0].tables["loan_applications"]
    names = list(table)
    with con.cursor() as cur:
        cur.execute("truncate raw.loan_applications")
    con.commit()
    rows = list(zip(*table.values(), strict=True))[:ROW_BY_ROW_EVENTS]
    started = time.perf_counter()
    with con.cursor() as cur:
        for i, row in enumerate(rows, start=1):
            cur.execute(
                f"insert into raw.loan_applications ({', '.join(names)}, batch_id, landing_seq, "
                f"landed_at) values ({', '.join(['%s'] * len(names))}, 'rowbyrow', 0, now())",
                row,
            )
            if i % 200 == 0:
                con.commit()
    con.commit()
    rate = len(rows) / (time.perf_counter() - started)
    con.close()
    return rate


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="crews-stream-bench-") as work:
        return _run(Path(work))


def _run(work: Path) -> int:
    csv_path = work / "loans.csv"
    write_synthetic_csv(csv_path, LOANS, seed=2)
    with local_broker(free_port()) as bootstrap, throwaway_cluster() as pg:
        os.environ.update(pg)
        env = {"KAFKA_BOOTSTRAP": bootstrap, "INGEST_METRICS_PORT": "0"}
        settings = Settings.from_env({**os.environ, **env})
        sent = produce_csv(settings, csv_path, show_progress=False).events_sent
        print(f"produced {sent:,} events")
        figures = {}
        for warehouse in ("postgres", "duckdb"):
            run_env = {**env, "WAREHOUSE": warehouse, "DUCKDB_PATH": str(work / "w.duckdb"),
                       "INGEST_CONSUMER_GROUP": f"bench-{warehouse}"}  # fmt: skip
            rate, p95, landed = _stream(run_env)
            rate, p95 = float(rate), float(p95)
            figures[warehouse] = rate
            print(
                f"stream into {warehouse}: {rate:,.0f} events/s, p95 batch write {p95:.2f}s, {landed:,} landed"
            )
        batches = _batches(csv_path)
        ceiling = _ceiling(batches)
        row_by_row = _row_by_row(batches)
    print(f"ceiling, COPY straight into Postgres (no Kafka): {ceiling:,.0f} events/s")
    print(f"original design, INSERT per event, commit every 200: {row_by_row:,.0f} events/s")
    print(
        f"stream into Postgres / ceiling: {figures['postgres'] / ceiling:.2f} (target >= 0.5); "
        f"/ row-by-row: {figures['postgres'] / row_by_row:.1f}x; target 25,000 events/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
