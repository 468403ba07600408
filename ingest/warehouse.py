"""The raw-layer writer shared by the batch loader and the streaming service.

A batch (events plus quarantined records) lands in one database transaction, possibly written
in parts as they arrive (a Landing): bulk-copied into the raw tables, skipping records whose
source coordinates already landed, plus one audit row in raw.ingest_batches. Either all of it
lands or none does, and landing it again adds nothing.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa

from ingest import raw_migration
from ingest.copy_stream import COPY_OPTIONS, CopyStream
from ingest.events import LoanEvent, record_id
from ingest.raw_tables import (
    BATCH_COLUMNS,
    COMMIT_SEQUENCE,
    EVENT_COLUMNS,
    EVENT_TABLES,
    IDENTITY_COLUMNS,
    LANDING_COLUMNS,
    LANDING_SEQUENCE,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    SOURCE_KEY,
    TABLE_KEYS,
    raw_ddl,
)
from ingest.settings import Settings

# psycopg2 reads COPY input in chunks of this size: a whole encoded slice per read, so one
# Python call and one send per slice rather than per 64 KB.
COPY_READ_BYTES = 1 << 24
# Records per transaction for bulk loads: one DuckDB row group (122,880 rows) per table. A
# DuckDB commit checkpoints the table's last, partly filled row group by compressing it again,
# so committing every 25k rows compressed each payload about three times.
BULK_COMMIT_ROWS = 122_880
# DuckDB files are created in storage format v1.2.0 (readable by DuckDB 1.2 and later; the
# project and its Superset pin 1.5.5), the first that compresses long strings with ZSTD.
ZSTD_STORAGE_VERSION = "v1.2.0"
DUCKDB_CONNECT_CONFIG = {"storage_compatibility_version": ZSTD_STORAGE_VERSION}


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be reached or refused the write; nothing of the batch landed."""


@dataclass(frozen=True, slots=True)
class SourcePosition:
    kind: str  # "file" or "kafka"
    name: str  # file name or topic
    partition: int  # 0 for files
    offset: int  # line number or Kafka offset


# The columns holding whole records (JSON payloads, quarantined raw bytes).
LZ4_COLUMNS = (
    *((table, "payload") for table in EVENT_TABLES.values()),
    (QUARANTINE_TABLE, "raw_record"),
)
_TABLE_COLUMNS = {
    **{table: EVENT_COLUMNS for table in EVENT_TABLES.values()},
    QUARANTINE_TABLE: QUARANTINE_COLUMNS,
}


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


def _version_tuple(tag: str) -> tuple[int, ...]:
    """'v1.2.0' or 'v1.2.0+' as (1, 2, 0)."""
    return tuple(int(part) for part in tag.strip("v+").split("."))


def _utc_now() -> datetime:
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
        for table in _TABLE_COLUMNS:
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
            table: {name: [] for name in columns} for table, columns in _TABLE_COLUMNS.items()
        }
        self.ranges = SourceRanges()
        self.started_at: datetime | None = None  # when the first record arrived
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _track(self, position: SourcePosition) -> None:
        if not self.size:
            self.started_at = _utc_now()
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


class Warehouse(Protocol):
    name: str

    def init(self) -> None: ...
    def begin_landing(self) -> Landing: ...
    def land(self, batch: Batch) -> BatchResult: ...
    def query(self, sql: str) -> list[tuple[Any, ...]]: ...
    def close(self) -> None: ...


class Landing:
    """One open transaction that lands a batch written in parts, committed with one audit row.

    The streaming sink writes a checkpoint's parts while it consumes the next messages, and
    the loader commits about a DuckDB row group at a time. A failed part rolls the whole
    transaction back: nothing of the batch lands, and the landing cannot be used again.
    """

    def __init__(self, warehouse: _BaseWarehouse) -> None:
        self._warehouse = warehouse
        self.batch_id = uuid.uuid4().hex
        self.started_at = _utc_now()
        self.ranges = SourceRanges()
        self.inserted = dict.fromkeys(_TABLE_COLUMNS, 0)
        self.reused_positions = 0
        self.received = 0
        self.write_seconds = 0.0
        self._open = False
        with warehouse._rolled_back_on_error():
            warehouse._begin()
            landing_seq = warehouse._next_value(LANDING_SEQUENCE)
        self.stamp = LandingStamp(self.batch_id, landing_seq, self.started_at)
        self._open = True

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(f"landing {self.batch_id} was rolled back or committed")

    def write(self, part: Batch) -> None:
        self._check_open()
        started = time.perf_counter()
        self._open = False  # until the part is in
        with self._warehouse._rolled_back_on_error():
            written = self._warehouse._insert_tables(part, self.stamp)
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
        with self._warehouse._rolled_back_on_error():
            commit_seq = self._warehouse._commit_sequence_number()
            self._warehouse._insert_audit(
                (
                    self.batch_id, self.stamp.landing_seq, commit_seq, kinds, names, ranges,
                    self.received, apps, perf, quarantined, duplicates, self.reused_positions,
                    round(self.write_seconds * 1000, 3), lag_at_commit, self.started_at,
                    _utc_now(),
                )
            )  # fmt: skip
            self._warehouse._commit()
        return BatchResult(
            self.batch_id, apps, perf, quarantined, duplicates, self.write_seconds,
            self.reused_positions,
        )  # fmt: skip

    def abort(self) -> None:
        """Roll back whatever was written (a no-op once committed or rolled back)."""
        if self._open:
            self._open = False
            self._warehouse._rollback()


class _BaseWarehouse:
    """The part of landing that does not depend on the database: transactions in parts."""

    name = "base"

    def _insert_tables(self, batch: Batch, stamp: LandingStamp) -> PartWritten:
        raise NotImplementedError

    def _next_value(self, sequence: str) -> int:
        raise NotImplementedError

    def _commit_sequence_number(self) -> int:
        """The landing's place in commit order, taken as the last step before its commit."""
        return self._next_value(COMMIT_SEQUENCE)

    def _insert_audit(self, row: tuple[Any, ...]) -> None:
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


class DuckDBWarehouse(_BaseWarehouse):
    """Embedded DuckDB file. One writer process at a time: readers open it read-only."""

    name = "duckdb"

    def __init__(self, path: Path) -> None:
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path), config=DUCKDB_CONNECT_CONFIG)
        except duckdb.IOException as exc:
            raise WarehouseUnavailable(
                f"cannot open DuckDB file {path}: {exc} (a DuckDB file has one writer at a "
                "time: stop the other process, e.g. the ingest service or dbt)"
            ) from exc
        self.path = path
        # A bulk insert compresses and writes each row group as soon as it is full, while the
        # loader parses the next, instead of buffering five for the commit (200k loans in one
        # transaction: commit 2.6 -> 1.2 s, total 4.6 -> 4.2 s). One thread: the writer
        # inserts one part at a time, and a second DuckDB thread cost more CPU than it saved,
        # CPU the parser processes needed (2 cores, 200k loans: 27k -> 30k loans/s).
        self.con.execute("set write_buffer_row_group_count = 1")
        self.con.execute("set threads = 1")

    def init(self) -> None:
        """Create the raw tables; payloads compressed with ZSTD where the file's format has it.

        The JSON payloads repeat the same keys row after row: ZSTD stores them in a quarter of
        the space of DuckDB's default (FSST) for half the CPU (200k loans: 213 -> 61 MB,
        about 25 -> 12 us per loan on one thread). An older file (made by another tool
        first) keeps FSST."""
        zstd = self.storage_version() >= _version_tuple(ZSTD_STORAGE_VERSION)
        if not zstd:
            print(
                f"note: {self.path} is in an older DuckDB storage format: payloads are stored "
                "with DuckDB's default compression (about 3.5x the size, loads slower); a "
                "warehouse file created by `python -m ingest init` gets ZSTD",
                file=sys.stderr,
            )
        upgrade = raw_migration.needs_upgrade(self._raw_columns)
        self.con.begin()
        try:
            if upgrade:
                raw_migration.rename_layout1(self.con.execute, cascade="")
            for statement in raw_ddl(
                json_type="json", bytes_type="blob", payload_compression="zstd" if zstd else None
            ):
                self.con.execute(statement)
            if upgrade:
                self._upgrade_layout1()
            self.con.commit()
        except BaseException:
            self._rollback()
            raise
        if upgrade:
            _upgraded_note(str(self.path))

    def _raw_columns(self, table: str) -> set[str]:
        rows = self.con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [RAW_SCHEMA, table],
        ).fetchall()
        return {name for (name,) in rows}

    def _upgrade_layout1(self) -> None:
        """Rows never leave the transaction: the new ids are computed in the statements, by
        Python functions registered on the connection."""

        def event_ids(
            types: pa.Array, loans: pa.Array, times: pa.Array, payloads: pa.Array
        ) -> pa.Array:
            columns = (c.to_pylist() for c in (types, loans, times, payloads))
            return pa.array(raw_migration.content_event_ids(*columns))

        def record_ids(raw: pa.Array) -> pa.Array:
            return pa.array([record_id(value) for value in raw.to_pylist()])

        self.con.create_function(
            "layout1_event_id", event_ids, ["VARCHAR", "VARCHAR", "TIMESTAMP", "VARCHAR"],
            "VARCHAR", type="arrow",
        )  # fmt: skip
        self.con.create_function("layout1_record_id", record_ids, ["BLOB"], "VARCHAR", type="arrow")
        batches = raw_migration.copy_batches(self.con.execute)
        for table in EVENT_TABLES.values():
            self.con.execute(raw_migration.upgrade_sql(table, "layout1_event_id"))
        self.con.execute(raw_migration.upgrade_sql(QUARANTINE_TABLE, "layout1_record_id"))
        raw_migration.drop_layout1(self.con.execute, cascade="")
        raw_migration.restart_sequences(self.con.execute, batches)

    def storage_version(self) -> tuple[int, ...]:
        """The file's storage format, e.g. (1, 2, 0)."""
        (tag,) = self.con.execute(
            "select tags['storage_version'] from duckdb_databases() "
            "where database_name = current_database()"
        ).fetchone()
        return _version_tuple(tag)

    def _begin(self) -> None:
        self.con.begin()

    def _commit(self) -> None:
        self.con.commit()

    def _rollback(self) -> None:
        import duckdb

        with suppress(duckdb.TransactionException):  # a failed commit has rolled back already
            self.con.rollback()

    def _next_value(self, sequence: str) -> int:
        return self.con.execute(f"select nextval('{sequence}')").fetchone()[0]

    def _insert_tables(self, batch: Batch, stamp: LandingStamp) -> PartWritten:
        """A plain insert when the part cannot conflict (none of its source ranges has landed,
        this transaction's earlier parts included, and no record is in it twice: the usual
        case), else one that skips what landed already. DuckDB has no savepoints to retry
        from, and checking each row for a conflict costs a fifth of the insert (26.6 -> 22.5
        us of CPU per loan without it)."""
        landed = self.con.execute(*batch.ranges.landed_probe("?")).fetchone()[0]
        inserted: dict[str, int] = {}
        reused = 0
        for table, columns in batch.tables.items():
            if not next(iter(columns.values())):
                inserted[table] = 0
                continue
            self.con.register("incoming", pa.table(columns))
            if landed:
                reused += self.con.execute(_reused_positions_sql(table, "incoming")).fetchone()[0]
            plain = not landed and self._incoming_keys_unique(table)
            names = ", ".join(columns)
            cursor = self.con.execute(
                f"insert into {RAW_SCHEMA}.{table} ({names}, {', '.join(LANDING_COLUMNS)}) "
                f"select {names}, ?, ?, ? from incoming"
                f"{'' if plain else ' on conflict do nothing'}",
                [stamp.batch_id, stamp.landing_seq, stamp.landed_at],
            )
            inserted[table] = cursor.fetchone()[0]
            self.con.unregister("incoming")
        return PartWritten(inserted, reused)

    def _incoming_keys_unique(self, table: str) -> bool:
        (unique,) = self.con.execute(
            "select count(*) = (select count(*) from (select distinct "
            f"{', '.join(TABLE_KEYS[table])} from incoming)) from incoming"
        ).fetchone()
        return unique

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def _insert_audit(self, row: tuple[Any, ...]) -> None:
        placeholders = ", ".join("?" for _ in BATCH_COLUMNS)
        self.con.execute(
            f"insert into {RAW_SCHEMA}.ingest_batches ({', '.join(BATCH_COLUMNS)}) "
            f"values ({placeholders})",
            row,
        )

    def close(self) -> None:
        self.con.close()


class PostgresWarehouse(_BaseWarehouse):
    """Postgres through libpq's PG* variables; batches go in with COPY."""

    name = "postgres"

    def __init__(self, dsn: str = "", statement_timeout: float = 300.0) -> None:
        import psycopg2

        try:
            self.con = psycopg2.connect(
                dsn, application_name="credit-risk-ews-ingest",
                **postgres_connect_options(statement_timeout),
            )  # fmt: skip
        except psycopg2.OperationalError as exc:
            raise WarehouseUnavailable(
                f"cannot connect to Postgres (PGHOST/PGPORT/PGUSER/PGDATABASE): {str(exc).strip()}"
            ) from exc
        self._staging_ready = False

    def init(self) -> None:
        """Create the raw tables; serialised, as concurrent `create if not exists` can collide.

        Payloads are `json`, not `jsonb`: the text kept exactly as received, and COPY only
        validates it instead of converting it (jsonb's parse was a third of the server's
        COPY time; dbt reads each payload once either way, at the same cost).

        When the layout is already in place nothing is executed but a catalog read: DDL
        takes locks that wait for every open landing (a new ingester joining while another
        wrote a slow checkpoint would otherwise wait for that checkpoint before it joined).
        """
        if self._layout_ready():
            return
        with self.con.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext('credit-risk-ews raw ddl'))")
            run = _run_on(cur)
            upgrade = raw_migration.needs_upgrade(self._raw_columns)
            if upgrade:
                raw_migration.rename_layout1(run, cascade=" cascade")
                self._rename_layout1_indexes(cur)
            for statement in raw_ddl(json_type="json", bytes_type="bytea", index_landing_seq=True):
                cur.execute(statement)
            self._compress_large_columns_with_lz4(cur)
            if upgrade:
                self._upgrade_layout1(cur)
        self.con.commit()
        if upgrade:
            _upgraded_note("Postgres")

    def _layout_ready(self) -> bool:
        """Whether every raw table, index and sequence of the current layout exists, with
        the payload columns compressed as init leaves them (a catalog read, no locks)."""
        wanted = {table: {*columns, *LANDING_COLUMNS} for table, columns in _TABLE_COLUMNS.items()}
        wanted["ingest_batches"] = set(BATCH_COLUMNS)
        pairs = ", ".join(f"('{table}', '{column}')" for table, column in LZ4_COLUMNS)
        with self.con.cursor() as cur:
            cur.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = %s",
                (RAW_SCHEMA,),
            )
            found: dict[str, set[str]] = {}
            for table, column in cur.fetchall():
                found.setdefault(table, set()).add(column)
            cur.execute(
                "select (select count(*) from pg_indexes where schemaname = %s "
                "and indexname = any(%s)) + (select count(*) from pg_sequences "
                "where schemaname = %s and sequencename in ('landing_seq', 'commit_seq'))",
                (RAW_SCHEMA, [f"{t}_landing_seq" for t in EVENT_TABLES.values()], RAW_SCHEMA),
            )
            (objects,) = cur.fetchone()
            cur.execute(
                "select count(*) from pg_attribute as a join pg_class as c on a.attrelid = c.oid "
                "join pg_namespace as n on c.relnamespace = n.oid where n.nspname = %s "
                f"and (c.relname, a.attname) in ({pairs}) and a.attcompression <> 'l' "
                "and exists (select 1 from pg_settings where name = "
                "'default_toast_compression' and 'lz4' = any(enumvals))",
                (RAW_SCHEMA,),
            )
            (uncompressed,) = cur.fetchone()
        self.con.rollback()  # end the read transaction
        tables_ready = all(columns <= found.get(t, set()) for t, columns in wanted.items())
        return tables_ready and objects == len(EVENT_TABLES) + 2 and not uncompressed

    def _raw_columns(self, table: str) -> set[str]:
        with self.con.cursor() as cur:
            cur.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s",
                (RAW_SCHEMA, table),
            )
            return {name for (name,) in cur.fetchall()}

    @staticmethod
    def _rename_layout1_indexes(cur: Any) -> None:
        """Index names are per schema: the layout-1 tables' must make way for the new ones."""
        cur.execute(
            "select indexname from pg_indexes where schemaname = %s and tablename like %s",
            (RAW_SCHEMA, f"%{raw_migration.OLD}"),
        )
        for (name,) in cur.fetchall():
            cur.execute(f'alter index {RAW_SCHEMA}."{name}" rename to "{name}{raw_migration.OLD}"')

    def _upgrade_layout1(self, cur: Any) -> None:
        """Layout-1 rows read through a server-side cursor, a chunk at a time, and COPYed in."""
        batches = raw_migration.copy_batches(_run_on(cur))
        for table in _TABLE_COLUMNS:
            with self.con.cursor(name=f"layout1_{table}") as reader:
                reader.itersize = raw_migration.CHUNK_ROWS
                reader.execute(raw_migration.layout1_rows_sql(table))
                while rows := reader.fetchmany(raw_migration.CHUNK_ROWS):
                    names = [column.name for column in reader.description]
                    columns = {
                        n: list(v) for n, v in zip(names, zip(*rows, strict=True), strict=True)
                    }
                    upgraded = raw_migration.upgraded_columns(table, columns)
                    _copy_in(
                        cur, f"{RAW_SCHEMA}.{table}", ", ".join(upgraded), _copy_values(upgraded)
                    )
        raw_migration.drop_layout1(_run_on(cur), cascade=" cascade")
        raw_migration.restart_sequences(_run_on(cur), batches)

    @staticmethod
    def _compress_large_columns_with_lz4(cur: Any) -> None:
        """Payloads (~2.5 KB) are stored compressed; Postgres' default pglz costs more than
        the rest of the COPY (measured: 16k -> 28k rows/s with lz4). The raw
        columns say lz4 for every writer; this session's default covers its temporary
        staging tables. Where the server lacks lz4 (before 14, or built without it) the
        default stays."""
        cur.execute(
            "select 'lz4' = any(enumvals) from pg_settings where name = 'default_toast_compression'"
        )
        supported = cur.fetchone()
        if not (supported and supported[0]):
            return
        cur.execute("set default_toast_compression = 'lz4'")
        for table, column in LZ4_COLUMNS:
            cur.execute(
                "select attcompression from pg_attribute "
                "where attrelid = %s::regclass and attname = %s",
                (f"{RAW_SCHEMA}.{table}", column),
            )
            if cur.fetchone()[0] != "l":  # altering takes a brief exclusive lock: only once
                cur.execute(
                    f"alter table {RAW_SCHEMA}.{table} alter column {column} set compression lz4"
                )

    def _begin(self) -> None:
        if not self._staging_ready:
            with self.con.cursor() as cur:
                for table in _TABLE_COLUMNS:
                    names = ", ".join(_TABLE_COLUMNS[table])
                    cur.execute(
                        f"create temporary table if not exists incoming_{table} "
                        f"on commit delete rows as select {names} from {RAW_SCHEMA}.{table} "
                        "with no data"
                    )
            self._staging_ready = True

    def _unavailable(self, exc: Exception) -> WarehouseUnavailable | None:
        import psycopg2

        if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
            return WarehouseUnavailable(f"Postgres write failed: {str(exc).strip()}")
        return None

    def _commit(self) -> None:
        self.con.commit()

    def _rollback(self) -> None:
        import psycopg2

        try:
            self.con.rollback()
        except psycopg2.Error:
            self._staging_ready = False

    def _next_value(self, sequence: str) -> int:
        with self.con.cursor() as cur:
            cur.execute("select nextval(%s)", (sequence,))
            return cur.fetchone()[0]

    def _commit_sequence_number(self) -> int:
        """Concurrent landings take their commit number one at a time, each holding a lock
        until its commit is visible: so commit numbers are handed out in commit order, and
        dbt, reading every landing numbered above its watermark, never passes one that was
        still to commit (a number taken before a commit without the lock could be overtaken
        by a landing that commits first)."""
        with self.con.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (COMMIT_SEQUENCE,))
        return super()._commit_sequence_number()

    def _insert_tables(self, batch: Batch, stamp: LandingStamp) -> PartWritten:
        """COPY straight into the raw tables when none of the batch's source ranges has
        landed yet (the usual case); otherwise, or when a concurrent writer lands the same
        records first, through staging tables with ON CONFLICT DO NOTHING."""
        import psycopg2.errors

        tables = {
            table: columns for table, columns in batch.tables.items() if columns["source_kind"]
        }
        inserted = dict.fromkeys(batch.tables, 0)
        with self.con.cursor() as cur:
            cur.execute(*batch.ranges.landed_probe("%s"))
            if not cur.fetchone()[0]:
                cur.execute("savepoint direct_copy")
                try:
                    for table, columns in tables.items():
                        inserted[table] = self._copy_direct(cur, table, columns, stamp)
                    cur.execute("release savepoint direct_copy")
                    return PartWritten(inserted, 0)
                except psycopg2.errors.UniqueViolation:
                    cur.execute("rollback to savepoint direct_copy")
            reused = 0
            for table, columns in tables.items():
                inserted[table], table_reused = self._copy_via_staging(cur, table, columns, stamp)
                reused += table_reused
        return PartWritten(inserted, reused)

    @staticmethod
    def _copy_direct(
        cur: Any, table: str, columns: dict[str, list[Any]], stamp: LandingStamp
    ) -> int:
        values = _copy_values(columns)
        rows = len(values[0])
        values += [
            [stamp.batch_id] * rows,
            [str(stamp.landing_seq)] * rows,
            [stamp.landed_at.isoformat(sep=" ")] * rows,
        ]
        names = ", ".join([*columns, *LANDING_COLUMNS])
        _copy_in(cur, f"{RAW_SCHEMA}.{table}", names, values)
        return rows

    @staticmethod
    def _copy_via_staging(
        cur: Any, table: str, columns: dict[str, list[Any]], stamp: LandingStamp
    ) -> tuple[int, int]:
        """(rows inserted, rows at coordinates that held another record)."""
        names = ", ".join(columns)
        _copy_in(cur, f"incoming_{table}", names, _copy_values(columns))
        cur.execute(_reused_positions_sql(table, f"incoming_{table}"))
        reused = cur.fetchone()[0]
        cur.execute(
            f"insert into {RAW_SCHEMA}.{table} ({names}, {', '.join(LANDING_COLUMNS)}) "
            f"select {names}, %s, %s, %s from incoming_{table} on conflict do nothing",
            (stamp.batch_id, stamp.landing_seq, stamp.landed_at),
        )
        inserted = cur.rowcount
        cur.execute(f"truncate incoming_{table}")  # the landing's next part may come this way
        return inserted, reused

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cur:
            cur.execute(sql)
            rows = cur.fetchall()
        self.con.rollback()  # end the read transaction
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]

    def _insert_audit(self, row: tuple[Any, ...]) -> None:
        with self.con.cursor() as cur:
            cur.execute(
                f"insert into {RAW_SCHEMA}.ingest_batches ({', '.join(BATCH_COLUMNS)}) "
                f"values ({', '.join('%s' for _ in BATCH_COLUMNS)})",
                row,
            )

    def close(self) -> None:
        if not self.con.closed:
            self.con.close()


def _run_on(cur: Any) -> Any:
    """`execute(sql)` that returns the cursor, as DuckDB's connection does."""

    def run(sql: str) -> Any:
        cur.execute(sql)
        return cur

    return run


def _upgraded_note(where: str) -> None:
    print(
        f"note: upgraded the raw tables in {where} from the first layout (event ids now derived "
        "from content; landings numbered in commit order). Staging still holds the old ids: "
        "rebuild with `dbt build --full-refresh --profiles-dir profiles`",
        file=sys.stderr,
    )


def _copy_values(columns: dict[str, list[Any]]) -> list[list[Any]]:
    return [
        ["\\x" + raw.hex() for raw in values] if name == "raw_record" else values  # bytea hex
        for name, values in columns.items()
    ]


def _reused_positions_sql(table: str, incoming: str) -> str:
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


def _copy_in(cur: Any, target: str, names: str, values: list[list[Any]]) -> None:
    cur.copy_expert(
        f"copy {target} ({names}) from stdin {COPY_OPTIONS}",
        CopyStream(values),
        size=COPY_READ_BYTES,
    )


def postgres_connect_options(statement_timeout: float) -> dict[str, Any]:
    """libpq settings that keep a writer from hanging on a slow or unreachable server: a
    connect timeout (PGCONNECT_TIMEOUT, else 10 s), a statement timeout (added to PGOPTIONS
    unless it sets one), and TCP keepalives and a user timeout, so a server that vanished
    without closing the connection is noticed within about a minute instead of hours."""
    options = os.environ.get("PGOPTIONS", "")
    if "statement_timeout" not in options:
        options = f"{options} -c statement_timeout={round(statement_timeout * 1000)}".strip()
    return {
        "connect_timeout": os.environ.get("PGCONNECT_TIMEOUT") or 10,
        "options": options,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": 60_000,
    }


def open_warehouse(settings: Settings) -> Warehouse:
    if settings.warehouse == "postgres":
        return PostgresWarehouse(statement_timeout=settings.statement_timeout)
    return DuckDBWarehouse(settings.duckdb_path)


def open_initialised_warehouse(settings: Settings) -> Warehouse:
    """Open the warehouse and make sure the raw tables exist (idempotent)."""
    warehouse = open_warehouse(settings)
    try:
        warehouse.init()
    except Exception:
        warehouse.close()
        raise
    return warehouse
