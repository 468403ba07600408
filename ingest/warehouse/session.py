"""The one way into the warehouse outside dbt: a session opened from Settings.

Every reader and writer in ingest/, ml/ and exports/ opens the warehouse here, and this is the
one place that chooses between the engines (`open_session`); each engine lives in its own
module (`duckdb_engine`, `postgres_engine`) with its connection settings written once, the
way dbt-duckdb's `environments.create()` decides where a connection lives.

A session runs in one transaction until `commit()` (a failed statement or `close()` without
a commit rolls it back), so a step that reads and writes sees its own writes and lands them
together. Queries take bound parameters as `?` on both engines. Results come back as pandas
frames, Arrow tables, or frames in chunks of a bounded size for results too large to hold.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa

from ingest.settings import Settings

Params = Sequence[Any] | None
# The engine modules, by the WAREHOUSE setting's value.
ENGINES = {
    "duckdb": "ingest.warehouse.duckdb_engine",
    "postgres": "ingest.warehouse.postgres_engine",
}


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be reached or refused the write; nothing of the batch landed."""


@dataclass(frozen=True)
class ReaderConnection:
    """How a read-only BI client (Superset) reaches the warehouse: a SQLAlchemy URI (any
    password masked), the password to send apart from it, engine parameters, and the
    read-only role it connects as where the engine has roles."""

    uri: str
    password: str | None
    engine_params: dict[str, Any]
    role: str | None = None


class WarehouseSession(ABC):
    """An open connection to the warehouse, in a transaction until `commit()`."""

    engine: ClassVar[str]
    con: Any  # the driver's connection, for the raw writers' bulk paths

    @abstractmethod
    def frame(self, sql: str, params: Params = None) -> pd.DataFrame: ...

    @abstractmethod
    def arrow(self, sql: str, params: Params = None) -> pa.Table: ...

    @abstractmethod
    def chunks(self, sql: str, rows: int, params: Params = None) -> Iterator[pd.DataFrame]:
        """The result `rows` at a time (a server-side cursor, or an Arrow reader)."""

    @abstractmethod
    def rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def execute(self, sql: str, params: Params = None) -> None: ...

    @abstractmethod
    def append(self, table: str, frame: pd.DataFrame) -> None:
        """Insert the frame's rows into `table`, matching columns by name."""

    @abstractmethod
    def write_parquet(self, sql: str, path: Path) -> None:
        """The query's result as one Parquet file, in bounded memory."""

    @abstractmethod
    def columns(self, schema: str, table: str) -> dict[str, str]:
        """A table's columns and their types, in order; empty when it does not exist."""

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Roll back what was not committed, and close the connection."""

    @contextmanager
    def transaction(self) -> Iterator[WarehouseSession]:
        """Commit what the block did, or roll it back if it raised."""
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def __enter__(self) -> WarehouseSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def engine_module(settings: Settings) -> ModuleType:
    """The module of the engine WAREHOUSE names: the one place the engine is chosen."""
    return importlib.import_module(ENGINES[settings.warehouse])


def open_session(settings: Settings, read_only: bool = False) -> WarehouseSession:
    """A session on the configured warehouse. `read_only` lets other readers (Superset, a
    notebook) keep a DuckDB file open beside it; on Postgres its transactions are read-only."""
    return engine_module(settings).open_session(settings, read_only)


def read_frame(settings: Settings, sql: str, params: Params = None) -> pd.DataFrame:
    """One query's result, through a read-only session opened and closed for it."""
    with open_session(settings, read_only=True) as session:
        return session.frame(sql, params)
