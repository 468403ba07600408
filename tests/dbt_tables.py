"""What the incremental-against-full-refresh tests share: the book in two loads and next
month's news, and every model table in a stable order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from tests.book_updates import split_book, write_next_month

MODEL_SCHEMAS = ("staging", "intermediate", "marts")
# When dbt staged a row differs between an incremental run and a full refresh by design.
RUN_BOOKKEEPING = {"staged_at", "last_staged_at"}


def duckdb_query(path: Path, query: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query).df()


def two_loads(folder: Path, book: Path) -> tuple[Path, Path, Path]:
    """The book as two files landed one after the other, and next month's news for 300
    loans of the first: an incremental run must find them by what landed since its last run,
    not by what landed in the latest load."""
    first, second, update = folder / "first.csv", folder / "second.csv", folder / "update.csv"
    split_book(book, first, second, 1500)
    assert write_next_month(first, update, 300) == 300
    return first, second, update


def table_contents(query: Callable[[str], pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every model table, rows in a stable order, keyed by schema.table."""
    tables = query(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in {MODEL_SCHEMAS} and table_type = 'BASE TABLE'"
    )
    contents = {}
    for schema, name in tables.itertuples(index=False):
        frame = query(f"select * from {schema}.{name}")
        frame = frame.drop(columns=[c for c in frame.columns if c in RUN_BOOKKEEPING])
        contents[f"{schema}.{name}"] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return contents


def assert_same_tables(incremental: dict, full: dict) -> None:
    assert sorted(incremental) == sorted(full)
    for name, frame in full.items():
        pd.testing.assert_frame_equal(incremental[name], frame, obj=name, check_dtype=False)
