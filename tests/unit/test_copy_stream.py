"""COPY input encoding: every value comes back from Postgres' CSV reader as it went in.

The round trip is checked with Python's csv module configured like the COPY options
(same delimiter, quote and escape), which reads the format the same way Postgres does.
"""

from __future__ import annotations

import csv
import io

import orjson

from ingest.warehouse.postgres_copy import DELIMITER, QUOTE, CopyStream, encode_column, encode_rows


def _read_back(data: bytes) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(data.decode(), newline=""), delimiter=DELIMITER, quotechar=QUOTE,
        doublequote=True,
    )  # fmt: skip
    return list(reader)


def test_json_payloads_go_through_unquoted_and_unescaped():
    payloads = [
        orjson.dumps({"desc": 'said "hi"\\ then\nleft\ttab', "id": "1"}).decode(),
        orjson.dumps({"emp_title": "Café owner"}).decode(),
    ]
    assert encode_column(payloads) == payloads  # no copy, no quoting


def test_values_holding_the_format_characters_are_quoted_and_read_back_intact():
    awkward = [f"a{DELIMITER}b", f"q{QUOTE}q", "two\nlines", "cr\rhere", "plain", ""]
    data = encode_rows([awkward, list(range(len(awkward)))])
    assert _read_back(data) == [[value, str(i)] for i, value in enumerate(awkward)]


def test_an_empty_string_is_quoted_and_a_null_is_not():
    assert encode_column(["", None, "x"]) == [QUOTE + QUOTE, "", "x"]


def test_integer_columns_become_their_decimal_text():
    assert encode_column([0, 7, 1_234_567_890_123]) == ["0", "7", "1234567890123"]


def test_the_stream_yields_every_row_once_in_order_across_slices_and_reads():
    rows = 2_345
    columns = [[f"id-{i}" for i in range(rows)], list(range(rows))]
    stream = CopyStream(columns, rows_per_slice=1_000)
    chunks = []
    while chunk := stream.read(777):  # reads that cut rows in the middle
        chunks.append(chunk)
    assert b"".join(chunks) == encode_rows(columns)
    assert len(_read_back(b"".join(chunks))) == rows


def test_an_empty_column_set_reads_as_end_of_data():
    assert CopyStream([[], []]).read(100) == b""
