"""Replay a raw-event archive (`python -m exports archive`) into a warehouse.

Rows keep their original event ids, payloads and source coordinates, so a replay rebuilds the
raw tables as they were, and replaying into a warehouse that already has the rows adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from ingest.warehouse.batch import Batch
from ingest.warehouse.landing import RawWriter
from ingest.warehouse.raw_tables import EVENT_COLUMNS, EVENT_TABLES

REPLAY_BATCH_ROWS = 20_000


@dataclass
class ReplayReport:
    files: int = 0
    rows: int = 0
    landed: int = 0
    already_landed: int = 0
    tables: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"replayed {self.files} archive files: {self.rows:,} events read, {self.landed:,} "
            f"landed, {self.already_landed:,} already there (skipped)"
        )


def archive_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))


def replay_archive(folder: Path, warehouse: RawWriter) -> ReplayReport:
    report = ReplayReport()
    for path in archive_files(folder):
        report.files += 1
        for chunk in pq.ParquetFile(path).iter_batches(batch_size=REPLAY_BATCH_ROWS):
            columns = {name: chunk.column(name).to_pylist() for name in EVENT_COLUMNS}
            columns["occurred_at"] = [ts.isoformat() for ts in columns["occurred_at"]]
            event_types = set(columns["event_type"])
            if len(event_types) != 1 or (event_type := event_types.pop()) not in EVENT_TABLES:
                raise ValueError(
                    f"{path}: not an archive of one event type ({sorted(event_types)})"
                )
            batch = Batch()
            batch.add_landed_rows(EVENT_TABLES[event_type], columns)
            result = warehouse.land(batch)
            report.rows += len(batch)
            report.landed += result.applications + result.performance
            report.already_landed += result.duplicates
    return report
