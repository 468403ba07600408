"""Land a CSV in a warehouse the way `python -m ingest load` does (the setup of most
integration tests and benchmarks), or build small batches of events at chosen offsets."""

from __future__ import annotations

from pathlib import Path

from orjson import dumps

from ingest.events import LoanEventBuilder
from ingest.loader import load_csv
from ingest.warehouse import Batch, SourcePosition, Warehouse


def land_csv(warehouse: Warehouse, csv_path: Path) -> None:
    warehouse.init()
    try:
        load_csv(csv_path, warehouse, show_progress=False)
    finally:
        warehouse.close()


def batch_at(offsets: list[int]) -> Batch:
    """Application events (loans 0, 1, ...) at the given offsets of one Kafka partition."""
    builder = LoanEventBuilder(["id", "issue_d", "loan_status"], "test", 2026)
    batch = Batch()
    for loan, offset in enumerate(offsets):
        event = builder.build([str(loan), "Mar-2017", "Current"])[0]
        batch.add_event(
            event, SourcePosition("kafka", "t", 0, offset), dumps(event.payload).decode()
        )
    return batch
