"""The DuckDB raw writer: Arrow bulk inserts into the raw tables, in row-group-sized
transactions, with conflict checks only where a part could have a conflict.

Measured reasons, on 2 cores (the figures are in the README): one DuckDB thread, since a
second cost the parser processes more CPU than it saved (27k -> 30k loans/s); row groups
written as soon as they are full (200k loans in one transaction: commit 2.6 -> 1.2 s); ZSTD
for the payloads (200k loans 213 -> 61 MB, about 25 -> 12 us of CPU per loan).
"""

from __future__ import annotations

import sys

import pyarrow as pa

from ingest.events import record_id
from ingest.warehouse import raw_migration
from ingest.warehouse.batch import Batch
from ingest.warehouse.duckdb_engine import ZSTD_STORAGE_VERSION, DuckDBSession
from ingest.warehouse.landing import LandingStamp, PartWritten, RawWriter, reused_positions_sql
from ingest.warehouse.raw_tables import (
    EVENT_TABLES,
    LANDING_COLUMNS,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    TABLE_KEYS,
    raw_ddl,
)


def _version_tuple(tag: str) -> tuple[int, ...]:
    """'v1.2.0' or 'v1.2.0+' as (1, 2, 0)."""
    return tuple(int(part) for part in tag.strip("v+").split("."))


class DuckDBWriter(RawWriter):
    """Lands batches in a DuckDB file through its session (one writer process at a time)."""

    def __init__(self, session: DuckDBSession) -> None:
        super().__init__(session)
        self.con = session.con
        self.path = session.path
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
        upgrade = raw_migration.needs_upgrade(self.session)
        try:
            if upgrade:
                raw_migration.rename_layout1(self.session, cascade="")
            for statement in raw_ddl(
                json_type="json", bytes_type="blob", payload_compression="zstd" if zstd else None
            ):
                self.con.execute(statement)
            if upgrade:
                self._upgrade_layout1()
            self.session.commit()
        except BaseException:
            self._rollback()
            raise
        if upgrade:
            raw_migration.upgraded_note(str(self.path))

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
        batches = raw_migration.copy_batches(self.session)
        for table in EVENT_TABLES.values():
            self.con.execute(raw_migration.upgrade_sql(table, "layout1_event_id"))
        self.con.execute(raw_migration.upgrade_sql(QUARANTINE_TABLE, "layout1_record_id"))
        raw_migration.drop_layout1(self.session, cascade="")
        raw_migration.restart_sequences(self.session, batches)

    def storage_version(self) -> tuple[int, ...]:
        """The file's storage format, e.g. (1, 2, 0)."""
        (tag,) = self.con.execute(
            "select tags['storage_version'] from duckdb_databases() "
            "where database_name = current_database()"
        ).fetchone()
        return _version_tuple(tag)

    def _begin(self) -> None:
        """Nothing to do: the session is always in a transaction (it begins the next one as
        it commits)."""

    def _commit(self) -> None:
        self.session.commit()

    def _rollback(self) -> None:
        self.session.rollback()

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
                reused += self.con.execute(reused_positions_sql(table, "incoming")).fetchone()[0]
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
