"""The ML step's one connection to the warehouse: read frames (whole, or in chunks of a
bounded size for results too large to hold), run DDL, append frames.

One connection per process: DuckDB refuses a second connection to the same file with a
different configuration, and the step both reads features and writes results.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Protocol

import pandas as pd

from ingest.settings import Settings
from ingest.warehouse import DUCKDB_CONNECT_CONFIG


class MlStore(Protocol):
    def read(self, sql: str) -> pd.DataFrame: ...
    def read_chunks(self, sql: str, rows: int) -> Iterator[pd.DataFrame]: ...
    def execute(self, sql: str) -> None: ...
    def append(self, table: str, frame: pd.DataFrame) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


class DuckDBStore:
    def __init__(self, path: str) -> None:
        import duckdb

        self.con = duckdb.connect(path, config=DUCKDB_CONNECT_CONFIG)
        self.con.begin()

    def read(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def read_chunks(self, sql: str, rows: int) -> Iterator[pd.DataFrame]:
        for batch in self.con.execute(sql).to_arrow_reader(rows):
            yield batch.to_pandas()

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def append(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("incoming_frame", frame)
        self.con.execute(f"insert into {table} by name select * from incoming_frame")
        self.con.unregister("incoming_frame")

    def commit(self) -> None:
        self.con.commit()
        self.con.begin()

    def close(self) -> None:
        self.con.rollback()
        self.con.close()


class PostgresStore:
    def __init__(self) -> None:
        import psycopg2

        self.con = psycopg2.connect("")  # libpq's PG* variables

    def read(self, sql: str) -> pd.DataFrame:
        with self.con.cursor() as cur:
            cur.execute(sql)
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])

    def read_chunks(self, sql: str, rows: int) -> Iterator[pd.DataFrame]:
        """Through a server-side cursor: the server sends `rows` rows at a time."""
        with self.con.cursor(name="read_chunks") as cur:
            cur.itersize = rows
            cur.execute(sql)
            while chunk := cur.fetchmany(rows):
                yield pd.DataFrame(chunk, columns=[c.name for c in cur.description])

    def execute(self, sql: str) -> None:
        with self.con.cursor() as cur:
            cur.execute(sql)

    def append(self, table: str, frame: pd.DataFrame) -> None:
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
        buffer.seek(0)
        columns = ", ".join(frame.columns)
        with self.con.cursor() as cur:
            cur.copy_expert(
                f"copy {table} ({columns}) from stdin with (format csv, null '\\N')", buffer
            )

    def commit(self) -> None:
        self.con.commit()

    def close(self) -> None:
        self.con.rollback()
        self.con.close()


def open_store(settings: Settings) -> MlStore:
    if settings.warehouse == "postgres":
        return PostgresStore()
    return DuckDBStore(str(settings.duckdb_path))
