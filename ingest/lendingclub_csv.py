"""Streaming reader for LendingClub accepted-loan CSV exports.

The real files are up to 1.6 GB, so rows are read one physical line at a time and never held
together. The reader only deals with the file's structure: a "Notes offered by Prospectus"
preamble, the header, quoted fields that span lines, "Total amount funded" footers, broken
quoting and wrong field counts. A record it cannot split into fields comes back as a
`CsvReject` with its line number, so the caller can quarantine it and carry on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.events import NUL_REASON

# A quoted field may hold newlines (the `desc` column does), but an unbalanced quote must not
# swallow the rest of the file: past this many physical lines the record is rejected instead.
MAX_LINES_PER_RECORD = 50
FOOTER_PREFIX = "Total amount funded in policy code"
PREAMBLE_PREFIX = "Notes offered by Prospectus"


class CsvFormatError(ValueError):
    """The file is not a LendingClub export at all (no header row found)."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    raw: str
    values: list[str]


@dataclass(frozen=True, slots=True)
class CsvReject:
    line: int
    raw: str
    reason: str


def _is_header(line: str) -> bool:
    first = line.split(",", 1)[0].strip().strip('"').lstrip("\ufeff")
    return first == "id"


def _logical_records(
    lines: Iterator[tuple[int, str]],
) -> Iterator[tuple[int, str] | CsvReject]:
    """Join physical lines into records whose quotes balance; reject runaway quotes."""
    pending: list[tuple[int, str]] = []
    quotes = 0
    for number, text in lines:
        if not pending:
            if not text.strip() or text.startswith(FOOTER_PREFIX):
                continue
            if '"' not in text:
                yield number, text  # the usual record: one line, no quotes
                continue
        pending.append((number, text))
        quotes += text.count('"')
        if quotes % 2 == 0:
            yield pending[0][0], "\n".join(t for _, t in pending)
            pending, quotes = [], 0
        elif len(pending) >= MAX_LINES_PER_RECORD:
            first_number, first_text = pending[0]
            yield CsvReject(
                first_number,
                first_text,
                f"line {first_number}: broken quoting: a quoted field opened here is not "
                f"closed within {MAX_LINES_PER_RECORD} lines",
            )
            # Re-read everything after the bad line: those lines are probably good rows.
            yield from _logical_records(iter(pending[1:]))
            pending, quotes = [], 0
    if pending:
        first_number, first_text = pending[0]
        yield CsvReject(
            first_number,
            first_text,
            f"line {first_number}: broken quoting: a quoted field opened here is not closed "
            "before the end of the file",
        )
        yield from _logical_records(iter(pending[1:]))


class LendingClubCsv:
    """An open export: `header` is read at once, iterating yields its records in order, and
    `bytes_read` of `bytes_total` says how far into the file that has got."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.bytes_total = self.path.stat().st_size
        self.bytes_read = 0
        self._lines = self._physical_lines()
        self.header = self._read_header()

    def _physical_lines(self) -> Iterator[tuple[int, str]]:
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                self.bytes_read += len(raw)
                yield number, raw.decode("utf-8", errors="replace").rstrip("\r\n")

    def _read_header(self) -> list[str]:
        for _number, text in self._lines:
            text = text.lstrip("\ufeff")
            if _is_header(text):
                return next(csv.reader([text]))
            if text.strip() and not text.startswith(PREAMBLE_PREFIX):
                raise CsvFormatError(
                    f"{self.path}: expected a LendingClub header starting with 'id' before "
                    f"data, found {text[:80]!r}"
                )
        raise CsvFormatError(f"{self.path}: no LendingClub header row (a line starting with 'id')")

    def __iter__(self) -> Iterator[CsvRow | CsvReject]:
        width = len(self.header)
        for record in _logical_records(self._lines):
            yield _fields(record, width)

    def parts(self, size: int, share: int = 0, shares: int = 1) -> Iterator[CsvPart]:
        """The records in parts of `size`, but only parts `share`, `share + shares`, ...: so
        `shares` processes can each split their share of one file into fields (the costly
        step) while every record keeps its line number and the file's quoting rules."""
        width = len(self.header)
        records: list[tuple[int, str] | CsvReject] = []
        index = read = 0
        for record in _logical_records(self._lines):
            read += 1
            if index % shares == share:
                records.append(record)
            if read % size == 0:
                if records:
                    yield CsvPart(
                        index, [_fields(r, width) for r in records], read, self.bytes_read
                    )
                    records = []
                index += 1
        if records:  # the last part, short
            yield CsvPart(index, [_fields(r, width) for r in records], read, self.bytes_read)


@dataclass(frozen=True, slots=True)
class CsvPart:
    """One part of a file: its records, and how far into the file it ends."""

    index: int
    records: list[CsvRow | CsvReject]
    records_read: int  # in the file up to the end of this part
    bytes_read: int


def _fields(record: tuple[int, str] | CsvReject, width: int) -> CsvRow | CsvReject:
    return record if isinstance(record, CsvReject) else _split(*record, width)


def _split(number: int, text: str, width: int) -> CsvRow | CsvReject:
    """The record's fields, or why it has none. Most LendingClub rows quote nothing, and
    str.split gives the same fields as the csv module for those at a fraction of the cost."""
    if "\x00" in text:
        return CsvReject(number, text, f"line {number}: {NUL_REASON}")
    if '"' not in text and "\r" not in text:  # the csv module would refuse a lone \r
        values = text.split(",")
    else:
        try:
            values = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            return CsvReject(number, text, f"line {number}: broken quoting: {exc}")
    if len(values) != width:
        return CsvReject(
            number,
            text,
            f"line {number}: wrong column count: expected {width} fields as in the header, "
            f"found {len(values)}",
        )
    return CsvRow(number, text, values)
