"""Streaming reader for LendingClub CSV files: accepted-loan exports and payment histories.

The real files are up to 1.6 GB, so the reader never holds more than a chunk of the file and
one record: it reads bytes in CHUNK_BYTES chunks and splits them into lines itself, with the
line ending the file uses (LF, CRLF, or the lone CR of old Mac spreadsheets; a UTF-8 BOM is
skipped), numbering lines as an editor does and counting every byte it has consumed
(`bytes_read`, for progress). It deals only with the file's structure: a "Notes offered by
Prospectus" preamble, the header, quoted fields that span lines (a line break inside one
reads as \n whatever the file's endings), "Total amount funded" footers, broken quoting,
wrong field counts and records over `max_record_bytes`. A record it cannot split into fields
comes back as a `CsvReject` with its line number and reason, so the caller can quarantine it
and carry on; a record over the limit keeps only its first bytes, so memory stays bounded by
the limit (a 300 MB line: 944 MB at peak when lines were read whole, 2.2 MB now, measured
with tracemalloc). A file that is no export at all, or whose values are shifted against its
header (see `shift_problem`), raises CsvFormatError as it is opened, before anything lands.

Splitting 64 KiB chunks costs about what Python's own line iterator did (0.8 against 0.6 us
a line, on 50,000 synthetic loans; against about 30 us to parse a loan; 1 MiB chunks took
1.2 us).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO

from ingest.events import NUL_REASON, normalise_header
from ingest.files.shifted_columns import SNIFF_RECORDS, shift_problem
from ingest.payment_history import is_payment_history, repeated_history_names

# A quoted field may hold newlines (the `desc` column does), but an unbalanced quote must not
# swallow the rest of the file: past this many physical lines, or past the record size limit,
# the record is rejected instead and the lines after its first are read again.
MAX_LINES_PER_RECORD = 50
DEFAULT_MAX_RECORD_BYTES = 1 << 20  # INGEST_MAX_RECORD_BYTES
REJECT_HEAD_BYTES = 1024  # what a record over the limit keeps for the quarantine (at most)
CHUNK_BYTES = 64 << 10
BOM = b"\xef\xbb\xbf"
FOOTER_PREFIX = "Total amount funded in policy code"
PREAMBLE_PREFIX = "Notes offered by Prospectus"
# A header is a LendingClub header if its first column is `id`, or if it names at least
# HEADER_MARKERS_NEEDED of these (some tools drop or move `id`).
HEADER_MARKERS = frozenset(
    {"loan_amnt", "funded_amnt", "term", "int_rate", "installment", "grade", "sub_grade",
     "annual_inc", "issue_d", "loan_status", "dti", "earliest_cr_line"}
)  # fmt: skip
HEADER_MARKERS_NEEDED = 3
_WHAT_A_HEADER_IS = (
    "a first column 'id', or column names such as loan_amnt, int_rate, issue_d (an export), or "
    "LOAN_ID, MONTH, PERIOD_END_LSTAT (a payment history)"
)


class CsvFormatError(ValueError):
    """The file is not a LendingClub export at all (no header row found), or its values are
    shifted against its header: the message names the file and says what to do."""


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


def _header_names(text: str) -> list[str] | None:
    """The line's column names if it is a LendingClub header, else None."""
    try:
        names = next(csv.reader([text]), [])
    except csv.Error:
        return None
    current = normalise_header(names)
    if current[:1] == ["id"] or len(HEADER_MARKERS.intersection(current)) >= HEADER_MARKERS_NEEDED:
        return names
    if is_payment_history(names):
        return names
    return None


def _line_ending(handle: BinaryIO) -> bytes:
    """How the file's first line ends: b"\r" for a lone CR (old Mac spreadsheets), else b"\n"
    (a CRLF line drops its CR). Reads up to that point, in chunks, then rewinds."""
    ending = b"\n"
    while chunk := handle.read(CHUNK_BYTES):
        cr, lf = chunk.find(b"\r"), chunk.find(b"\n")
        if lf >= 0 and not 0 <= cr < lf:  # the first line ends in LF
            break
        if cr >= 0:
            after = chunk[cr + 1 : cr + 2] or handle.read(1)
            ending = b"\n" if after == b"\n" else b"\r"
            break
    handle.seek(0)
    return ending


def _oversized(number: int, data: bytes, size: int, limit: int) -> CsvReject:
    """A record of `size` bytes over the limit, keeping its first bytes (of `data`, its
    start: at least `limit` bytes of it)."""
    head = data[: min(REJECT_HEAD_BYTES, limit)]
    return CsvReject(
        number,
        head.decode("utf-8", errors="replace"),
        f"line {number}: a record of {size:,} bytes, over the {limit:,}-byte limit "
        f"(INGEST_MAX_RECORD_BYTES); only its first {len(head):,} bytes are kept",
    )


def _logical_records(
    lines: Iterator[tuple[int, str] | CsvReject], limit: int
) -> Iterator[tuple[int, str] | CsvReject]:
    """Join physical lines into records whose quotes balance; reject runaway quotes and
    records over `limit` (a line over it arrives already rejected)."""
    pending: list[tuple[int, str]] = []
    quotes = size = 0
    for line in lines:
        if isinstance(line, CsvReject):
            if pending:  # the quoted field in progress cannot close within the limit
                yield from _unclosed(pending, f"within the {limit:,}-byte record limit", limit)
                pending, quotes, size = [], 0, 0
            yield line
            continue
        _, text = line
        if not pending:
            if not text.strip() or text.startswith(FOOTER_PREFIX):
                continue
            if '"' not in text:
                yield line  # the usual record: one line, no quotes
                continue
        pending.append(line)
        quotes += text.count('"')
        size += len(text) + 1  # characters: bytes only once the record is whole
        if quotes % 2 == 0:
            record = "\n".join(t for _, t in pending)
            if size > limit and len(encoded := record.encode()) > limit:
                yield _oversized(pending[0][0], encoded, len(encoded), limit)
            else:
                yield pending[0][0], record
            pending, quotes, size = [], 0, 0
        elif len(pending) >= MAX_LINES_PER_RECORD:
            yield from _unclosed(pending, f"within {MAX_LINES_PER_RECORD} lines", limit)
            pending, quotes, size = [], 0, 0
        elif size > limit:
            yield from _unclosed(pending, f"within the {limit:,}-byte record limit", limit)
            pending, quotes, size = [], 0, 0
    if pending:
        yield from _unclosed(pending, "before the end of the file", limit)


def _unclosed(
    pending: list[tuple[int, str]], where: str, limit: int
) -> Iterator[tuple[int, str] | CsvReject]:
    """The first line of a record whose quoted field does not close, rejected; then the
    lines after it, read again: they are probably good rows."""
    number, text = pending[0]
    yield CsvReject(
        number,
        text,
        f"line {number}: broken quoting: a quoted field opened here is not closed {where}",
    )
    yield from _logical_records(iter(pending[1:]), limit)


class LendingClubCsv:
    """An open export: `header` is read at once, iterating yields its records in order, and
    `bytes_read` of `bytes_total` says how far into the file that has got. Records over
    `max_record_bytes` are rejected with their first bytes."""

    def __init__(self, path: str | Path, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        self.path = Path(path)
        self.max_record_bytes = max_record_bytes
        # The csv module refuses fields over 128 KiB unless told: the record limit rules.
        csv.field_size_limit(max(csv.field_size_limit(), max_record_bytes))
        self.bytes_total = self.path.stat().st_size
        self.bytes_read = 0
        self._lines = self._physical_lines()
        self.header = self._read_header()
        self._records = self._checked(_logical_records(self._lines, max_record_bytes))

    def _checked(
        self, records: Iterator[tuple[int, str] | CsvReject]
    ) -> Iterator[tuple[int, str] | CsvReject]:
        """The records, once the first SNIFF_RECORDS have shown the values line up with the
        header (CsvFormatError if not); `bytes_read` follows them as if never read ahead."""
        header_end = self.bytes_read
        head = [(record, self.bytes_read) for record in islice(records, SNIFF_RECORDS)]
        rows = [
            values
            for record, _ in head
            if not isinstance(record, CsvReject)
            and not isinstance(values := _values(*record), CsvReject)
        ]
        if problem := shift_problem(self.header, rows):
            raise CsvFormatError(f"{self.path}: {problem}")
        read_ahead, self.bytes_read = self.bytes_read, header_end
        return chain(self._replayed(head, read_ahead), records)

    def _replayed(
        self, head: list[tuple[tuple[int, str] | CsvReject, int]], read_ahead: int
    ) -> Iterator[tuple[int, str] | CsvReject]:
        for record, bytes_read in head:
            self.bytes_read = bytes_read
            yield record
        self.bytes_read = read_ahead

    def _physical_lines(self) -> Iterator[tuple[int, str] | CsvReject]:
        """The file's lines, numbered from 1, without their line endings; a line over the
        limit comes as a CsvReject holding its first bytes, the rest skipped unread into
        memory."""
        limit = self.max_record_bytes
        with self.path.open("rb") as handle:
            terminator = _line_ending(handle)
            data = handle.read(len(BOM))
            if data == BOM:
                self.bytes_read += len(BOM)
                data = b""
            data += handle.read(CHUNK_BYTES)
            crlf = terminator == b"\n"
            number = 0
            while True:
                lines = data.split(terminator)
                carry = lines.pop()  # the start of a line the next chunk ends
                long = len(data) > limit  # else no line in it can be
                first = number + 1
                for number, raw in enumerate(lines, start=first):
                    self.bytes_read += len(raw) + 1
                    if long and len(raw) > limit:
                        yield _oversized(number, raw, len(raw), limit)
                        continue
                    text = raw.decode("utf-8", errors="replace")
                    yield number, text.rstrip("\r") if crlf else text
                more = handle.read(CHUNK_BYTES)
                if len(carry) > limit:  # skip to the end of the line, keeping its head
                    number += 1
                    head, size = carry[: min(REJECT_HEAD_BYTES, limit)], len(carry)
                    while more and (end := more.find(terminator)) < 0:
                        size += len(more)
                        more = handle.read(CHUNK_BYTES)
                    if more:
                        size += end
                        self.bytes_read += 1
                        more = more[end + 1 :] or handle.read(CHUNK_BYTES)
                    self.bytes_read += size
                    carry = b""
                    yield _oversized(number, head, size, limit)
                if not more:
                    break
                data = carry + more
            if carry:  # the last line, without a line ending
                number += 1
                self.bytes_read += len(carry)
                text = carry.decode("utf-8", errors="replace")
                yield number, text.rstrip("\r") if crlf else text

    def _read_header(self) -> list[str]:
        for line in self._lines:
            if isinstance(line, CsvReject):
                raise CsvFormatError(
                    f"{self.path}: expected a LendingClub header ({_WHAT_A_HEADER_IS}) before "
                    f"data, found {line.reason.partition(': ')[2]}"
                )
            text = line[1]
            if (names := _header_names(text)) is not None:
                if is_payment_history(names) and (twice := repeated_history_names(names)):
                    raise CsvFormatError(
                        f"{self.path}: the payment history's header names "
                        f"{', '.join(map(repr, twice))} more than once (its column names are "
                        "read without case): which column holds the value is ambiguous; "
                        "nothing was loaded"
                    )
                return names
            if text.strip() and not text.lstrip('"').startswith(PREAMBLE_PREFIX):
                raise CsvFormatError(
                    f"{self.path}: expected a LendingClub header ({_WHAT_A_HEADER_IS}) before "
                    f"data, found {text[:80]!r}"
                )
        raise CsvFormatError(f"{self.path}: no LendingClub header row ({_WHAT_A_HEADER_IS})")

    def __iter__(self) -> Iterator[CsvRow | CsvReject]:
        width = len(self.header)
        for record in self._records:
            yield _fields(record, width)

    def parts(self, size: int, share: int = 0, shares: int = 1) -> Iterator[CsvPart]:
        """The records in parts of `size`, but only parts `share`, `share + shares`, ...: so
        `shares` processes can each split their share of one file into fields (the costly
        step) while every record keeps its line number and the file's quoting rules."""
        width = len(self.header)
        records: list[tuple[int, str] | CsvReject] = []
        index = read = 0
        for record in self._records:
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
    """The record's fields, or why it has none."""
    values = _values(number, text)
    if isinstance(values, CsvReject):
        return values
    if len(values) != width:
        return CsvReject(
            number,
            text,
            f"line {number}: wrong column count: expected {width} fields as in the header, "
            f"found {len(values)}",
        )
    return CsvRow(number, text, values)


def _values(number: int, text: str) -> list[str] | CsvReject:
    """The record's values, however many. Most LendingClub rows quote nothing, and str.split
    gives the same fields as the csv module for those at a fraction of the cost."""
    if "\x00" in text:
        return CsvReject(number, text, f"line {number}: {NUL_REASON}")
    if '"' not in text and "\r" not in text:  # the csv module would refuse a lone \r
        return text.split(",")
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error as exc:
        return CsvReject(number, text, f"line {number}: broken quoting: {exc}")
