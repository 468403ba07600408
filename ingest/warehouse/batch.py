"""What a landing is made of: records bound for the raw tables, kept as columns as they
arrive, with where each came from (SourcePosition) and the ranges of coordinates a batch
covers (SourceRanges), for the landed-already probe and the audit row. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest.events import LoanEvent, record_id
from ingest.warehouse.raw_tables import (
    EVENT_COLUMNS,
    EVENT_TABLES,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    TABLE_COLUMNS,
)


@dataclass(frozen=True, slots=True)
class SourcePosition:
    kind: str  # "file" or "kafka"
    name: str  # file name or topic
    partition: int  # 0 for files
    offset: int  # line number or Kafka offset


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # the raw columns are UTC without zone


class SourceRanges:
    """The first and last offset seen of each source (kind, name, partition): the key ranges a
    batch covers, for the landed-already probe and the audit row."""

    def __init__(self) -> None:
        self._spans: dict[tuple[str, str, int], list[int]] = {}

    def track(self, position: SourcePosition) -> None:
        key = (position.kind, position.name, position.partition)
        span = self._spans.get(key)
        if span is None:
            self._spans[key] = [position.offset, position.offset]
        elif position.offset < span[0]:
            span[0] = position.offset
        elif position.offset > span[1]:
            span[1] = position.offset

    def merge(self, other: SourceRanges) -> None:
        for key, (first, last) in other._spans.items():
            span = self._spans.setdefault(key, [first, last])
            span[0], span[1] = min(span[0], first), max(span[1], last)

    def items(self) -> list[tuple[tuple[str, str, int], tuple[int, int]]]:
        """((kind, name, partition), (first, last offset)) for every source."""
        return [(key, (first, last)) for key, (first, last) in self._spans.items()]

    def audit(self) -> tuple[str, str, str]:
        """(source kinds, source names, JSON offset ranges) for the raw.ingest_batches row."""
        kinds = ",".join(sorted({kind for kind, _, _ in self._spans})) or "none"
        names = ",".join(sorted({name for _, name, _ in self._spans}))
        ranges = {f"{name}/{partition}": span for (_, name, partition), span in self._spans.items()}
        return kinds, names, orjson.dumps(ranges).decode()

    def landed_probe(self, placeholder: str) -> tuple[str, list[Any]]:
        """A query whether a raw table holds a record in any of these ranges (a primary-key
        range probe per range and table), with its parameters in the driver's style."""
        probe = (
            "exists (select 1 from {table} where source_kind = {p} and source_name = {p} and "
            "source_partition = {p} and source_offset between {p} and {p})"
        )
        probes, params = [], []
        for table in TABLE_COLUMNS:
            for key, span in self.items():
                probes.append(probe.format(table=f"{RAW_SCHEMA}.{table}", p=placeholder))
                params += [*key, *span]
        return f"select {' or '.join(probes) or 'false'}", params


class Batch:
    """Rows bound for the raw tables, kept as columns as they arrive.

    Appending straight into per-table column lists means landing needs no second pass over
    the records: the lists become a bulk copy as they are.
    """

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, list[Any]]] = {
            table: {name: [] for name in columns} for table, columns in TABLE_COLUMNS.items()
        }
        self.ranges = SourceRanges()
        self.started_at: datetime | None = None  # when the first record arrived
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _track(self, position: SourcePosition) -> None:
        if not self.size:
            self.started_at = utc_now()
        self.size += 1
        self.ranges.track(position)

    def add_event(self, event: LoanEvent, position: SourcePosition) -> None:
        table = self.tables[EVENT_TABLES[event.event_type]]
        table["event_id"].append(event.event_id)
        table["event_type"].append(event.event_type)
        table["schema_version"].append(event.schema_version)
        table["occurred_at"].append(event.occurred_at)
        table["source"].append(event.source)
        table["loan_id"].append(event.loan_id)
        table["payload"].append(event.payload_json)
        table["source_kind"].append(position.kind)
        table["source_name"].append(position.name)
        table["source_partition"].append(position.partition)
        table["source_offset"].append(position.offset)
        self._track(position)

    def add_landed_rows(self, table: str, columns: Mapping[str, list[Any]]) -> None:
        """Event rows that landed once before (an archive replay), with their original source
        coordinates: landing them again where they already are is a no-op."""
        target = self.tables[table]
        for name in EVENT_COLUMNS:
            target[name].extend(columns[name])
        for position in zip(
            columns["source_kind"], columns["source_name"], columns["source_partition"],
            columns["source_offset"], strict=True,
        ):  # fmt: skip
            self._track(SourcePosition(*position))

    def add_quarantine(
        self, raw: bytes, reason: str, position: SourcePosition, error_field: str | None = None
    ) -> None:
        table = self.tables[QUARANTINE_TABLE]
        table["record_id"].append(record_id(raw))
        table["raw_record"].append(raw)
        table["error_field"].append(error_field)
        table["reason"].append(reason)
        table["source_kind"].append(position.kind)
        table["source_name"].append(position.name)
        table["source_partition"].append(position.partition)
        table["source_offset"].append(position.offset)
        self._track(position)


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    applications: int
    performance: int
    quarantined: int
    duplicates: int
    write_seconds: float
    # Records at coordinates that held a different record before: a changed file under a
    # name already loaded, or a partition whose offsets started over.
    reused_positions: int = 0
