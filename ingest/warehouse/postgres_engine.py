"""The Postgres warehouse: the project's one `psycopg2.connect`, and its settings.

Connections read libpq's PG* variables (the same dbt's profile reads). Each gets a connect
timeout (PGCONNECT_TIMEOUT, else 10 s), a statement timeout (INGEST_STATEMENT_TIMEOUT_SECONDS,
added to PGOPTIONS unless it sets one), and TCP keepalives and a user timeout, so a server
that vanished without closing the connection is noticed within about a minute instead of
hours, and no write can hang a service forever.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.settings import ConfigError, Settings
from ingest.warehouse.session import (
    Params,
    ReaderConnection,
    WarehouseSession,
    WarehouseUnavailable,
)

# The read-only role BI readers (Superset) connect as, unless SUPERSET_PG_USER names another.
DEFAULT_READER = "superset_reader"
PARQUET_FETCH_ROWS = 100_000
_PARQUET_TYPES = {
    "bigint": pa.int64(), "integer": pa.int32(), "double precision": pa.float64(),
    "text": pa.string(), "date": pa.date32(), "boolean": pa.bool_(),
    "timestamp without time zone": pa.timestamp("us"),
}  # fmt: skip


def connect_options(statement_timeout: float) -> dict[str, Any]:
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


def connect(settings: Settings, application: str = "credit-risk-ews") -> Any:
    import psycopg2

    try:
        return psycopg2.connect(
            "", application_name=application, **connect_options(settings.statement_timeout)
        )
    except psycopg2.OperationalError as exc:
        raise WarehouseUnavailable(
            f"cannot connect to Postgres (PGHOST/PGPORT/PGUSER/PGDATABASE): {str(exc).strip()}"
        ) from exc


def _bound(sql: str, params: Params) -> str:
    """`?` placeholders as psycopg2's `%s` (and a literal % doubled) when there are params."""
    return sql if params is None else sql.replace("%", "%%").replace("?", "%s")


# Any number of writers: ingest, dbt and the ML step can run side by side.
SINGLE_WRITER = False


class PostgresSession(WarehouseSession):
    engine = "postgres"

    def __init__(self, settings: Settings, read_only: bool = False) -> None:
        self.con = connect(settings)
        if read_only:
            self.con.set_session(readonly=True)

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        with self.con.cursor() as cur:
            cur.execute(_bound(sql, params), params)
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        return pa.Table.from_pandas(self.frame(sql, params), preserve_index=False)

    def chunks(self, sql: str, rows: int, params: Params = None) -> Iterator[pd.DataFrame]:
        """Through a server-side cursor: the server sends `rows` rows at a time."""
        with self.con.cursor(name="chunks") as cur:
            cur.itersize = rows
            cur.execute(_bound(sql, params), params)
            while chunk := cur.fetchmany(rows):
                yield pd.DataFrame(chunk, columns=[c.name for c in cur.description])

    def rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cur:
            cur.execute(_bound(sql, params), params)
            found = cur.fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in found]

    def execute(self, sql: str, params: Params = None) -> None:
        with self.con.cursor() as cur:
            cur.execute(_bound(sql, params), params)

    def append(self, table: str, frame: pd.DataFrame) -> None:
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
        buffer.seek(0)
        columns = ", ".join(frame.columns)
        with self.con.cursor() as cur:
            cur.copy_expert(
                f"copy {table} ({columns}) from stdin with (format csv, null '\\N')", buffer
            )

    def write_parquet(self, sql: str, path: Path) -> None:
        """Streams the result through a server-side cursor, so memory stays flat."""
        with self.con.cursor() as cur:
            cur.execute(f"select * from ({sql}) as result limit 0")
            types = {row[0]: row[1] for row in self._result_types(cur)}
        schema = pa.schema([(n, _PARQUET_TYPES.get(t, pa.string())) for n, t in types.items()])
        with self.con.cursor(name="parquet") as cur, pq.ParquetWriter(path, schema) as writer:
            cur.itersize = PARQUET_FETCH_ROWS
            cur.execute(sql)
            while rows := cur.fetchmany(PARQUET_FETCH_ROWS):
                columns = [
                    pa.array(c, type=f.type)
                    for c, f in zip(zip(*rows, strict=True), schema, strict=True)
                ]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))

    def _result_types(self, cur: Any) -> list[tuple[str, str]]:
        """(column, Postgres type name) of the cursor's last result."""
        oids = [(c.name, c.type_code) for c in cur.description]
        with self.con.cursor() as lookup:
            lookup.execute(
                "select oid, format_type(oid, null) from pg_type where oid = any(%s)",
                ([oid for _, oid in oids],),
            )
            names = dict(lookup.fetchall())
        return [(name, names[oid]) for name, oid in oids]

    def columns(self, schema: str, table: str) -> dict[str, str]:
        with self.con.cursor() as cur:
            cur.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            )
            return dict(cur.fetchall())

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        import psycopg2

        with suppress(psycopg2.Error):  # the connection is gone, and the transaction with it
            self.con.rollback()

    def close(self) -> None:
        if not self.con.closed:
            self.rollback()
            self.con.close()


def describe(settings: Settings) -> str:
    return "Postgres (PG* variables)"


def open_session(settings: Settings, read_only: bool) -> PostgresSession:
    return PostgresSession(settings, read_only)


def writer_class() -> type:
    from ingest.warehouse.postgres_writer import PostgresWriter

    return PostgresWriter


def reader_connection(
    settings: Settings, env: Mapping[str, str], password_mask: str
) -> ReaderConnection:
    """The PG* server as the read-only role SUPERSET_PG_USER (default superset_reader) with
    SUPERSET_PG_PASSWORD, the password masked in the URI; SUPERSET_WAREHOUSE_URI when the
    reader sees the server under another address."""
    role = env.get("SUPERSET_PG_USER") or DEFAULT_READER
    password = env.get("SUPERSET_PG_PASSWORD", "")
    if not password:
        raise ConfigError(
            "SUPERSET_PG_PASSWORD is not set: the password of the read-only role "
            f"{role!r} Superset reaches Postgres as (created by `python -m exports superset`)"
        )
    if env.get("SUPERSET_WAREHOUSE_URI"):
        return ReaderConnection(env["SUPERSET_WAREHOUSE_URI"], password, {}, role)
    host = env.get("PGHOST") or "127.0.0.1"
    port = env.get("PGPORT") or "5432"
    database = env.get("PGDATABASE") or "postgres"
    uri = f"postgresql+psycopg2://{quote(role, safe='')}:{password_mask}@{host}:{port}/{database}"
    return ReaderConnection(uri, password, {}, role)
