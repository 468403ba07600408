"""A landing: one transaction of a raw-table writer that a batch is written into part by
part, committed with one audit row in raw.ingest_batches, and the writer's engine-independent
side (transactions in parts, the landing and commit numbers).

Either all of a landing lands or none does, and landing the same records again adds nothing.
The streaming sink writes a checkpoint's parts while it consumes the next messages; the
loader commits about a DuckDB row group at a time. A failed part rolls the whole transaction
back, and the landing cannot be used again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.warehouse.batch import Batch, BatchResult, SourceRanges, utc_now
from ingest.warehouse.raw_tables import (
    BATCH_COLUMNS,
    COMMIT_SEQUENCE,
    IDENTITY_COLUMNS,
    LANDING_SEQUENCE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    SOURCE_KEY,
    TABLE_COLUMNS,
)
from ingest.warehouse.session import WarehouseSession, WarehouseUnavailable


@dataclass(frozen=True, slots=True)
class LandingStamp:
    """What a landing stamps on every row it writes (LANDING_COLUMNS)."""

    batch_id: str
    landing_seq: int
    landed_at: datetime  # the ingest host's clock: for people; nothing is decided by it


@dataclass(frozen=True, slots=True)
class PartWritten:
    inserted: dict[str, int]  # new rows per table
    reused_positions: int  # rows at source coordinates that held another record before


class Landing:
    """One open transaction that lands a batch written in parts, committed with one audit row.

    The streaming sink writes a checkpoint's parts while it consumes the next messages, and
    the loader commits about a DuckDB row group at a time. A failed part rolls the whole
    transaction back: nothing of the batch lands, and the landing cannot be used again.
    """

    def __init__(self, writer: RawWriter) -> None:
        self._writer = writer
        self.batch_id = uuid.uuid4().hex
        self.started_at = utc_now()
        self.ranges = SourceRanges()
        self.inserted = dict.fromkeys(TABLE_COLUMNS, 0)
        self.reused_positions = 0
        self.received = 0
        self.write_seconds = 0.0
        self._open = False
        with writer._rolled_back_on_error():
            writer._begin()
            landing_seq = writer._next_value(LANDING_SEQUENCE)
        self.stamp = LandingStamp(self.batch_id, landing_seq, self.started_at)
        self._open = True

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(f"landing {self.batch_id} was rolled back or committed")

    def write(self, part: Batch) -> None:
        self._check_open()
        started = time.perf_counter()
        self._open = False  # until the part is in
        with self._writer._rolled_back_on_error():
            written = self._writer._insert_tables(part, self.stamp)
        self._open = True
        for table, count in written.inserted.items():
            self.inserted[table] += count
        self.reused_positions += written.reused_positions
        self.received += len(part)
        self.ranges.merge(part.ranges)
        self.started_at = min(self.started_at, part.started_at or self.started_at)
        self.write_seconds += time.perf_counter() - started

    def commit(self, lag_at_commit: int | None = None) -> BatchResult:
        """Commit every part written, with the audit row; `lag_at_commit` is the consumer lag."""
        self._check_open()
        self._open = False
        apps = self.inserted["loan_applications"]
        perf = self.inserted["loan_performance"]
        quarantined = self.inserted[QUARANTINE_TABLE]
        duplicates = self.received - apps - perf - quarantined
        kinds, names, ranges = self.ranges.audit()
        with self._writer._rolled_back_on_error():
            commit_seq = self._writer._commit_sequence_number()
            self._writer._insert_audit(
                (
                    self.batch_id, self.stamp.landing_seq, commit_seq, kinds, names, ranges,
                    self.received, apps, perf, quarantined, duplicates, self.reused_positions,
                    round(self.write_seconds * 1000, 3), lag_at_commit, self.started_at,
                    utc_now(),
                )
            )  # fmt: skip
            self._writer._commit()
        return BatchResult(
            self.batch_id, apps, perf, quarantined, duplicates, self.write_seconds,
            self.reused_positions,
        )  # fmt: skip

    def abort(self) -> None:
        """Roll back whatever was written (a no-op once committed or rolled back)."""
        if self._open:
            self._open = False
            self._writer._rollback()


class RawWriter:
    """Lands batches through a warehouse session; the engine's writer supplies the inserts.

    `init()` creates the raw tables (idempotent); `begin_landing()` opens a Landing, `land()`
    lands one whole batch. Each engine subclass implements `_insert_tables` (its bulk path)
    and the transaction hooks.
    """

    def __init__(self, session: WarehouseSession) -> None:
        self.session = session

    def init(self) -> None:
        raise NotImplementedError

    def _insert_tables(self, batch: Batch, stamp: LandingStamp) -> PartWritten:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _unavailable(self, exc: Exception) -> WarehouseUnavailable | None:
        """The exception as WarehouseUnavailable when it means the database cannot be reached."""
        return None

    def _next_value(self, sequence: str) -> int:
        return self.session.rows(f"select nextval('{sequence}')")[0][0]

    def _commit_sequence_number(self) -> int:
        """The landing's place in commit order, taken as the last step before its commit."""
        return self._next_value(COMMIT_SEQUENCE)

    def _insert_audit(self, row: tuple[Any, ...]) -> None:
        self.session.execute(
            f"insert into {RAW_SCHEMA}.ingest_batches ({', '.join(BATCH_COLUMNS)}) "
            f"values ({', '.join('?' for _ in BATCH_COLUMNS)})",
            row,
        )

    @contextmanager
    def _rolled_back_on_error(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            self._rollback()
            unavailable = self._unavailable(exc)
            if unavailable is not None:
                raise unavailable from exc
            raise

    def begin_landing(self) -> Landing:
        return Landing(self)

    def land(self, batch: Batch) -> BatchResult:
        """Land one whole batch in one transaction."""
        landing = self.begin_landing()
        landing.write(batch)
        return landing.commit()

    def close(self) -> None:
        self.session.close()


def reused_positions_sql(table: str, incoming: str) -> str:
    """How many incoming records are new at source coordinates where another record landed
    before (a duplicate of a landed record is not counted)."""
    same_place = " and ".join(f"landed.{c} = incoming.{c}" for c in SOURCE_KEY)
    identity = IDENTITY_COLUMNS[table]
    landed = f"select 1 from {RAW_SCHEMA}.{table} as landed where {same_place}"
    return (
        f"select count(*) from {incoming} as incoming "
        f"where exists ({landed} and landed.{identity} <> incoming.{identity}) "
        f"and not exists ({landed} and landed.{identity} = incoming.{identity})"
    )
