"""The embedded DuckDB warehouse: the project's one `duckdb.connect`, and its settings.

A file has one writer process at a time, or any number of read-only readers. Files are
created in storage format v1.2.0 (readable by DuckDB 1.2 and later; the project and its
Superset pin 1.5.5), the first that compresses long strings with ZSTD; dbt's profile sets the
same (profiles/profiles.yml).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ingest.settings import Settings
from ingest.warehouse.session import (
    Params,
    ReaderConnection,
    WarehouseSession,
    WarehouseUnavailable,
)

ZSTD_STORAGE_VERSION = "v1.2.0"
CONNECT_CONFIG = {"storage_compatibility_version": ZSTD_STORAGE_VERSION}
# What Superset's read-only connection may not do (besides writing): read or write any file
# but the warehouse, reach the network, load extensions, or change these settings back.
SUPERSET_CONFIG = {"enable_external_access": False, "lock_configuration": True}


def connect(path: Path, read_only: bool = False) -> Any:
    import duckdb

    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only, config=dict(CONNECT_CONFIG))
    except duckdb.IOException as exc:
        raise WarehouseUnavailable(
            f"cannot open DuckDB file {path}: {exc} (a DuckDB file has one writer at a "
            "time: stop the other process, e.g. the ingest service or dbt)"
        ) from exc


# One writer process at a time: a service writing keeps dbt and others out until it stops.
SINGLE_WRITER = True


class DuckDBSession(WarehouseSession):
    engine = "duckdb"

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.con = connect(path, read_only)
        self.con.begin()

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        return self.con.execute(sql, params).df()

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        return self.con.execute(sql, params).fetch_arrow_table()

    def chunks(self, sql: str, rows: int, params: Params = None) -> Iterator[pd.DataFrame]:
        for batch in self.con.execute(sql, params).to_arrow_reader(rows):
            yield batch.to_pandas()

    def rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Params = None) -> None:
        self.con.execute(sql, params)

    def append(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("incoming_frame", frame)
        self.con.execute(f"insert into {table} by name select * from incoming_frame")
        self.con.unregister("incoming_frame")

    def write_parquet(self, sql: str, path: Path) -> None:
        """DuckDB writes the file itself, streaming (2.26M loans in about 2 s)."""
        self.con.execute(f"copy ({sql}) to '{path}' (format parquet)")

    def columns(self, schema: str, table: str) -> dict[str, str]:
        found = self.con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        return dict(found)

    def commit(self) -> None:
        self.con.commit()
        self.con.begin()

    def rollback(self) -> None:
        import duckdb

        with suppress(duckdb.TransactionException):  # a failed commit has rolled back already
            self.con.rollback()
        self.con.begin()

    def close(self) -> None:
        import duckdb

        with suppress(duckdb.TransactionException, duckdb.ConnectionException):
            self.con.rollback()
        self.con.close()


def describe(settings: Settings) -> str:
    return f"DuckDB {settings.duckdb_path}"


def open_session(settings: Settings, read_only: bool) -> DuckDBSession:
    return DuckDBSession(settings.duckdb_path, read_only)


def writer_class() -> type:
    from ingest.warehouse.duckdb_writer import DuckDBWriter

    return DuckDBWriter


def reader_connection(
    settings: Settings, env: Mapping[str, str], password_mask: str
) -> ReaderConnection:
    """The file opened read-only (a reader must not take the writer's lock) and locked down
    (SUPERSET_CONFIG). duckdb-engine passes `connect_args` to duckdb.connect, config included."""
    path = Path(settings.duckdb_path).resolve()
    connect_args = {"read_only": True, "config": dict(SUPERSET_CONFIG)}
    return ReaderConnection(f"duckdb:///{path}", None, {"connect_args": connect_args})
