"""Columns of values as a Postgres COPY input stream, encoded in bulk and read in chunks.

The format is COPY's CSV with a delimiter and a quote character that no JSON text holds
(control characters are always escaped inside JSON strings): a value goes through as it is
unless it holds one of them or a line break, or is empty, and then only that value is quoted.
So the ~2 KB payloads need no per-character escaping, which in COPY's text format (every
backslash doubled) was most of the client's time. Rows are encoded a slice at a time as
psycopg2 reads, so Postgres parses one slice while the next is being encoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

DELIMITER = "\x1f"  # ASCII unit separator
QUOTE = "\x1e"  # ASCII record separator
COPY_OPTIONS = "(format csv, delimiter e'\\x1f', quote e'\\x1e', escape e'\\x1e')"
# A value holding any of these (or empty, which CSV reads as null) must be quoted.
_NEEDS_QUOTES = (DELIMITER, QUOTE, "\n", "\r")
ROWS_PER_SLICE = 2_000


def _quoted(text: str) -> str:
    return QUOTE + text.replace(QUOTE, QUOTE + QUOTE) + QUOTE


def _field(value: Any) -> str:
    if value is None:
        return ""  # unquoted empty: null
    text = value if isinstance(value, str) else str(value)
    if not text or any(special in text for special in _NEEDS_QUOTES):
        return _quoted(text)
    return text


def encode_column(values: Sequence[Any]) -> list[str]:
    """One column's values as CSV fields; whole columns are checked at once (C loops)."""
    kinds = set(map(type, values))
    if kinds <= {int}:
        return list(map(str, values))
    if kinds == {str}:
        joined = "".join(values)
        if "" not in values and not any(special in joined for special in _NEEDS_QUOTES):
            return list(values)
    return [_field(value) for value in values]


def encode_rows(columns: Sequence[Sequence[Any]]) -> bytes:
    """The rows as one block of COPY input (each row ends with a newline)."""
    fields = [encode_column(column) for column in columns]
    rows = map(DELIMITER.join, zip(*fields, strict=True))
    return ("\n".join(rows) + "\n").encode() if fields and fields[0] else b""


class CopyStream:
    """A file-like object over the rows for psycopg2's copy_expert, encoded slice by slice."""

    def __init__(self, columns: Sequence[Sequence[Any]], rows_per_slice: int = ROWS_PER_SLICE):
        self._slices = self._encode(columns, rows_per_slice)
        self._pending = memoryview(b"")

    @staticmethod
    def _encode(columns: Sequence[Sequence[Any]], rows_per_slice: int) -> Iterator[bytes]:
        rows = len(columns[0]) if columns else 0
        for start in range(0, rows, rows_per_slice):
            yield encode_rows([column[start : start + rows_per_slice] for column in columns])

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            block = next(self._slices, None)
            if block is None:
                return b""
            self._pending = memoryview(block)
        size = len(self._pending) if size < 0 else size
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return bytes(chunk)
