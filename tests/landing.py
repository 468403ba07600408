"""Land a CSV in a warehouse the way `python -m ingest load` does (the setup of most
integration tests and benchmarks), build small batches of events at chosen offsets, or write
stream-scorer decisions with chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ingest.events import LoanEventBuilder
from ingest.files.loader import LoadReport, load_csv
from ingest.settings import Settings
from ingest.warehouse.batch import Batch, SourcePosition
from ingest.warehouse.landing import RawWriter
from ingest.warehouse.session import open_session, read_frame
from ingest.warehouse.writer import open_writer
from ml.serving.decisions_table import DECISION_COLUMNS, DECISIONS, ensure_tables


def land_csv(warehouse: RawWriter, csv_path: Path) -> None:
    warehouse.init()
    try:
        load_csv(csv_path, warehouse, show_progress=False)
    finally:
        warehouse.close()


def batch_at(offsets: list[int], first_loan: int = 0) -> Batch:
    """Application events at the given offsets of one Kafka partition: the loan at offset n
    is loan `first_loan + n`, so the same offset holds the same record unless `first_loan`
    differs (a partition whose offsets started over with other loans)."""
    builder = LoanEventBuilder(["id", "issue_d", "loan_status"], "test", 2026)
    batch = Batch()
    for offset in offsets:
        event = builder.build([str(first_loan + offset), "Mar-2017", "Current"])[0]
        batch.add_event(event, SourcePosition("kafka", "t", 0, offset))
    return batch


def duckdb_writer(path: Path) -> RawWriter:
    """The raw writer of a DuckDB file, opened as the loader opens it."""
    return open_writer(Settings(warehouse="duckdb", duckdb_path=Path(path)))


def postgres_writer(**settings: Any) -> RawWriter:
    """The raw writer of the Postgres the PG* variables name (`settings`: e.g. a statement
    timeout)."""
    return open_writer(Settings(warehouse="postgres", **settings))


def warehouse_under_test(request: Any, tmp_path: Path) -> tuple[Any, str, dict[str, str], Any]:
    """For a fixture parametrised by engine ('duckdb', 'postgres'): (open a writer, the dbt
    target, its environment, read a query into a DataFrame)."""
    if request.param == "postgres":
        env = request.getfixturevalue("postgres_env")
        settings = Settings(warehouse="postgres")
        return postgres_writer, "postgres", env, lambda q: read_frame(settings, q)
    path = tmp_path / "w.duckdb"
    settings = Settings(warehouse="duckdb", duckdb_path=path)
    return (
        lambda: duckdb_writer(path), "duckdb", {"DUCKDB_PATH": str(path)},
        lambda q: read_frame(settings, q),
    )  # fmt: skip


def load_file(open_writer: Any, path: Path) -> LoadReport:
    """Land a file through a writer `open_writer()` opens (and closes after)."""
    store = open_writer()
    try:
        store.init()
        return load_csv(path, store, show_progress=False)
    finally:
        store.close()


def write_decisions(settings: Settings, decisions: list[tuple[datetime, float]]) -> None:
    """One live.loan_decisions row per (decided_at, seconds after its event it was decided)."""
    count = len(decisions)
    frame = pd.DataFrame(
        {
            "loan_id": range(count),
            "event_id": [f"e{n}" for n in range(count)],
            "event_type": "loan.performance",
            "source_name": "loan.performance",
            "source_partition": 0,
            "source_offset": range(count),
            "event_time": [decided - timedelta(seconds=lag) for decided, lag in decisions],
            "decided_at": [decided for decided, _ in decisions],
            "model_run_id": "run-1",
            "pd": 0.1,
            "risk_decile": 3,
            "risk_tier": "B",
            "rule_flag": False,
            "reason_codes": "[]",
        },
        columns=list(DECISION_COLUMNS),
    )
    with open_session(settings) as session, session.transaction():
        ensure_tables(session)
        session.append(DECISIONS, frame)
