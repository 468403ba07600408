"""The Postgres raw writer: COPY into the raw tables, straight in when nothing of a part can
have landed, else through temporary staging tables and ON CONFLICT DO NOTHING.

Measured reasons (figures in the README): COPY's CSV format with a delimiter and a quote
JSON never holds (postgres_copy.py), so payloads go through without escaping; payloads as
`json`, kept as received (jsonb's parse was a third of the server's COPY time); lz4 for the
payload columns (16k -> 28k rows/s against pglz).
"""

from __future__ import annotations

from typing import Any

from ingest.warehouse import raw_migration
from ingest.warehouse.batch import Batch
from ingest.warehouse.landing import LandingStamp, PartWritten, RawWriter, reused_positions_sql
from ingest.warehouse.postgres_copy import COPY_OPTIONS, CopyStream
from ingest.warehouse.postgres_engine import PostgresSession
from ingest.warehouse.raw_tables import (
    BATCH_COLUMNS,
    COMMIT_SEQUENCE,
    EVENT_TABLES,
    LANDING_COLUMNS,
    LZ4_COLUMNS,
    RAW_SCHEMA,
    TABLE_COLUMNS,
    raw_ddl,
)
from ingest.warehouse.session import WarehouseUnavailable

# psycopg2 reads COPY input in chunks of this size: a whole encoded slice per read, so one
# Python call and one send per slice rather than per 64 KB.
COPY_READ_BYTES = 1 << 24


class PostgresWriter(RawWriter):
    """Lands batches in Postgres through its session; parts go in with COPY."""

    def __init__(self, session: PostgresSession) -> None:
        super().__init__(session)
        self.con = session.con
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
            upgrade = raw_migration.needs_upgrade(self.session)
            if upgrade:
                raw_migration.rename_layout1(self.session, cascade=" cascade")
                self._rename_layout1_indexes(cur)
            for statement in raw_ddl(json_type="json", bytes_type="bytea", index_landing_seq=True):
                cur.execute(statement)
            self._compress_large_columns_with_lz4(cur)
            if upgrade:
                self._upgrade_layout1(cur)
        self.con.commit()
        if upgrade:
            raw_migration.upgraded_note("Postgres")

    def _layout_ready(self) -> bool:
        """Whether every raw table, index and sequence of the current layout exists, with
        the payload columns compressed as init leaves them (a catalog read, no locks)."""
        wanted = {table: {*columns, *LANDING_COLUMNS} for table, columns in TABLE_COLUMNS.items()}
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
        batches = raw_migration.copy_batches(self.session)
        for table in TABLE_COLUMNS:
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
        raw_migration.drop_layout1(self.session, cascade=" cascade")
        raw_migration.restart_sequences(self.session, batches)

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
                for table in TABLE_COLUMNS:
                    names = ", ".join(TABLE_COLUMNS[table])
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
        cur.execute(reused_positions_sql(table, f"incoming_{table}"))
        reused = cur.fetchone()[0]
        cur.execute(
            f"insert into {RAW_SCHEMA}.{table} ({names}, {', '.join(LANDING_COLUMNS)}) "
            f"select {names}, %s, %s, %s from incoming_{table} on conflict do nothing",
            (stamp.batch_id, stamp.landing_seq, stamp.landed_at),
        )
        inserted = cur.rowcount
        cur.execute(f"truncate incoming_{table}")  # the landing's next part may come this way
        return inserted, reused


def _copy_values(columns: dict[str, list[Any]]) -> list[list[Any]]:
    return [
        ["\\x" + raw.hex() for raw in values] if name == "raw_record" else values  # bytea hex
        for name, values in columns.items()
    ]


def _copy_in(cur: Any, target: str, names: str, values: list[list[Any]]) -> None:
    cur.copy_expert(
        f"copy {target} ({names}) from stdin {COPY_OPTIONS}",
        CopyStream(values),
        size=COPY_READ_BYTES,
    )
