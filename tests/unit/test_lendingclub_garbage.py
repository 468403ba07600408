"""Generated garbage through the CSV reader, the month parser and the event builder.

The reader must never raise anything but CsvFormatError (a file that is no export, or one
shifted against its header), whatever the bytes; it must read the same records whatever size
of chunk the bytes arrive in; and the builder must refuse a row only with an EventError.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.events import (
    MONTHLY_SCHEMA_VERSION,
    EventError,
    LoanEventBuilder,
    SurrogateRepeats,
    is_surrogate_loan_id,
    parse_lc_month,
    valid_loan_id,
)
from ingest.files import lendingclub_csv
from ingest.files.lendingclub_csv import CsvFormatError, CsvReject, CsvRow, LendingClubCsv
from ingest.payment_history import LoanMonthBuilder

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER = "id,url,loan_amnt,term,issue_d,loan_status,last_pymnt_d,desc"

# Bytes that look enough like an export to get past the header: pieces of real rows, quotes,
# line endings of every kind, BOMs, NULs, footers and the preamble, in any order.
PIECES = st.sampled_from(
    [b",", b'"', b'""', b"\n", b"\r", b"\r\n", b"\xef\xbb\xbf", b"\x00", b"\xff\xfe", b"1",
     b"Mar-2017", b"18-Dec", b"2011-12-29 05:00", b" 36 months", b"Current", b"x" * 70,
     b"https://lendingclub.com/browse/loanDetail.action?loan_id=7",
     b"Total amount funded in policy code 1: 5\n", b"Notes offered by Prospectus\n",
     HEADER.encode() + b"\n", "Zoë".encode()]
)  # fmt: skip
EXPORTISH = st.lists(PIECES, max_size=60).map(b"".join)
ANY_BYTES = st.one_of(
    st.binary(max_size=400), EXPORTISH, EXPORTISH.map(lambda b: HEADER.encode() + b"\n" + b)
)


def _read(data: bytes, chunk: int, limit: int) -> tuple[list[str], list[CsvRow | CsvReject]] | str:
    """The header and records the reader finds, or the CsvFormatError it raises."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "garbage.csv"
        path.write_bytes(data)
        with mock.patch.object(lendingclub_csv, "CHUNK_BYTES", chunk):
            try:
                export = LendingClubCsv(path, max_record_bytes=limit)
            except CsvFormatError as error:
                return str(error).replace(str(path), "<file>")
            records = list(export)
            assert export.bytes_read == export.bytes_total
            parts = [p for share in (0, 1) for p in LendingClubCsv(path, limit).parts(3, share, 2)]
    assert (
        sorted((r for p in parts for r in p.records), key=lambda r: r.line) == records
    )  # the parser processes' split covers the same records
    return export.header, records


@SETTINGS
@given(data=ANY_BYTES, limit=st.sampled_from([16, 64, 1 << 20]))
def test_any_bytes_give_records_or_a_csv_format_error(data, limit):
    result = _read(data, 65536, limit)
    if isinstance(result, str):
        return
    header, records = result
    lines = [r.line for r in records]
    assert lines == sorted(set(lines)) and all(n >= 2 for n in lines)
    for record in records:
        assert isinstance(record, (CsvRow, CsvReject))
        if isinstance(record, CsvRow):
            assert len(record.values) == len(header) and "\x00" not in record.raw
        else:
            assert record.reason.startswith(f"line {record.line}: ")
            assert len(record.raw.encode()) <= max(limit, lendingclub_csv.REJECT_HEAD_BYTES * 3)


@SETTINGS
@given(data=ANY_BYTES, chunk=st.sampled_from([1, 2, 3, 7, 64]))
def test_the_records_do_not_depend_on_how_the_bytes_arrive(data, chunk):
    """Lines, CRLFs split between chunks, BOMs and over-long lines at chunk edges."""
    assert _read(data, chunk, 48) == _read(data, 65536, 48)


FIELD = st.text(alphabet=st.sampled_from('ab ,"\n\r-1é'), max_size=8)


@SETTINGS
@given(rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=8))
def test_line_endings_never_change_the_records(rows):
    """The same rows written with LF, CRLF or CR-only endings read the same (a line break
    inside a quoted field reads as \\n)."""

    def quoted(value: str) -> str:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        return '"' + value.replace('"', '""') + '"' if re.search('[,"\n]', value) else value

    text = "\n".join([HEADER.rsplit(",", 5)[0], *(",".join(map(quoted, r)) for r in rows)]) + "\n"
    results = [
        _read(text.replace("\n", ending).encode(), 65536, 1 << 20) for ending in ("\n", "\r\n")
    ]
    assert results[0] == results[1]
    if not any("\n" in v for r in rows for v in r):  # CR-only files break lines on CR alone
        assert _read(text.replace("\n", "\r").encode(), 65536, 1 << 20) == results[0]


@SETTINGS
@given(text=st.text(max_size=30), latest_year=st.integers(1900, 9000))
def test_month_parsing_never_raises_anything_but_value_error(text, latest_year):
    try:
        month = parse_lc_month(text, latest_year)
    except ValueError as error:
        assert "not a month" in str(error)
    else:
        assert month is None or month.day == 1


@SETTINGS
@given(year=st.integers(1950, 2026), month=st.integers(1, 12), form=st.integers(0, 7))
def test_every_month_form_names_its_month(year, month, form):
    first = date(year, month, 1)
    text = [
        first.strftime("%b-%Y"), first.strftime("%b-%y"), first.strftime("%y-%b"),
        f"{year}-{month:02d}-28", f"{year}-{month:02d}-01 05:00", first.strftime("%Y-%b"),
        first.strftime("%B-%Y"), first.strftime("%b%Y"),
    ][form]  # fmt: skip
    assert parse_lc_month(text, latest_year=year) == first


BUILDER_HEADER = ["id", "member_id", "url", "loan_amnt", "issue_d", "is_inc_v", "loan_status",
                  "last_pymnt_d", "last_credit_pull_d", "desc"]  # fmt: skip
VALUE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "Mar-2017", "18-Dec", "2011-12-29", "2006-05-23 05:00", "7",
                     "100000000000000000", "https://x?loan_id=12", "https://x?loan_id="]),
)  # fmt: skip


@SETTINGS
@given(rows=st.lists(st.lists(VALUE, min_size=10, max_size=10), min_size=1, max_size=5))
def test_the_builder_refuses_a_row_only_with_an_event_error(rows):
    builder = LoanEventBuilder(BUILDER_HEADER, "garbage", 2026)
    repeats = SurrogateRepeats()
    ids = []
    for values in rows:
        try:
            application, performance = repeats.resolve(*builder.build(values))
        except EventError as error:
            assert error.field in BUILDER_HEADER
            continue
        assert valid_loan_id(application.loan_id) and application.loan_id == performance.loan_id
        assert re.fullmatch(r"\d{4}-\d\d-01T00:00:00Z", application.occurred_at)
        assert "is_inc_v" not in application.payload
        ids.append(application.loan_id)
    surrogates = [loan_id for loan_id in ids if is_surrogate_loan_id(loan_id)]
    assert len(surrogates) == len(set(surrogates))


HISTORY_HEADER = [
    "LOAN_ID",
    "MONTH",
    "PERIOD_END_LSTAT",
    "PBAL_BEG_PERIOD",
    "RECEIVED_AMT",
    "Extra",
]
HISTORY_VALUE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "Jan2016", "Feb-2017", "Current", "12.5", "7", "1234567890123456789"]),
)


@SETTINGS
@given(rows=st.lists(st.lists(HISTORY_VALUE, min_size=6, max_size=6), min_size=1, max_size=5))
def test_the_history_builder_refuses_a_row_only_with_an_event_error(rows):
    builder = LoanMonthBuilder(HISTORY_HEADER, "garbage", 2026)
    for values in rows:
        try:
            (event,) = builder.build(values)
        except EventError as error:
            assert error.field in ("loan_id", "month")
            continue
        assert valid_loan_id(event.loan_id) and event.schema_version == MONTHLY_SCHEMA_VERSION
        assert re.fullmatch(r"\d{4}-\d\d-01T00:00:00Z", event.occurred_at)
        assert event.payload["as_of_d"] == event.occurred_at[:10]
        assert all(value for value in event.payload.values())  # empty values left out
