"""Read-only queries against the configured warehouse, as pandas frames."""

from __future__ import annotations

import pandas as pd

from ingest.settings import Settings


def read_sql(settings: Settings, query: str) -> pd.DataFrame:
    if settings.warehouse == "postgres":
        import psycopg2

        with psycopg2.connect("") as con, con.cursor() as cur:
            cur.execute(query)
            columns = [c.name for c in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)
    import duckdb

    # Read-only: other readers (Superset, a notebook) may have the file open too.
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(query).df()
