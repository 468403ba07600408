import csv
import tracemalloc
from pathlib import Path

import pytest

from ingest.files.lendingclub_csv import (
    DEFAULT_MAX_RECORD_BYTES,
    SNIFF_RECORDS,
    CsvFormatError,
    CsvReject,
    CsvRow,
    LendingClubCsv,
    _split,
)
from tests.lendingclub_layouts import LOAN_CSV_HEADER, LOAN_CSV_ROW


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(text)
    return path


def _records(tmp_path: Path, text: str) -> tuple[list[str], list[CsvRow | CsvReject]]:
    export = LendingClubCsv(_write(tmp_path, text))
    return export.header, list(export)


def test_plain_rows_keep_raw_strings(tmp_path):
    header, records = _records(tmp_path, "id,term,int_rate\n1, 36 months,13.99\n")
    assert header == ["id", "term", "int_rate"]
    assert records == [CsvRow(2, "1, 36 months,13.99", ["1", " 36 months", "13.99"])]


def test_prospectus_preamble_and_quoted_header(tmp_path):
    text = "Notes offered by Prospectus (https://www.lendingclub.com/info/prospectus.action)\n"
    text += '"id","int_rate"\n"1"," 10.65%"\n'
    header, records = _records(tmp_path, text)
    assert header == ["id", "int_rate"]
    assert records[0].values == ["1", " 10.65%"]


def test_footer_lines_and_blank_lines_are_skipped(tmp_path):
    text = "id,a\n1,x\n\n2,y\nTotal amount funded in policy code 1: 471701350\n"
    text += "Total amount funded in policy code 2: 0\n"
    _, records = _records(tmp_path, text)
    assert [r.values for r in records] == [["1", "x"], ["2", "y"]]


def test_quoted_field_spanning_lines_is_one_record(tmp_path):
    text = 'id,desc,b\n1,"first line,\nsecond line",z\n2,plain,z\n'
    _, records = _records(tmp_path, text)
    assert records[0] == CsvRow(
        2, '1,"first line,\nsecond line",z', ["1", "first line,\nsecond line", "z"]
    )
    assert records[1].line == 4


def test_wrong_column_count_is_rejected_with_line_number(tmp_path):
    _, records = _records(tmp_path, "id,a,b\n1,x,y\n2,x\n3,x,y\n")
    assert isinstance(records[1], CsvReject)
    assert records[1].line == 3
    assert "expected 3 fields" in records[1].reason and "found 2" in records[1].reason
    assert [r.values for r in records if isinstance(r, CsvRow)] == [
        ["1", "x", "y"],
        ["3", "x", "y"],
    ]


def test_text_after_a_closing_quote_is_broken_quoting(tmp_path):
    _, records = _records(tmp_path, 'id,a\n1,"x"y\n2,z\n')
    assert isinstance(records[0], CsvReject)
    assert records[0].line == 2 and "broken quoting" in records[0].reason
    assert records[1] == CsvRow(3, "2,z", ["2", "z"])


def test_unclosed_quote_does_not_swallow_the_rest_of_the_file(tmp_path):
    good = "".join(f"{i},ok\n" for i in range(3, 80))
    _, records = _records(tmp_path, 'id,a\n1,"never closed\n' + good)
    rejects = [r for r in records if isinstance(r, CsvReject)]
    assert [r.line for r in rejects] == [2]
    assert "not closed" in rejects[0].reason
    assert len([r for r in records if isinstance(r, CsvRow)]) == 77


def test_a_file_without_header_is_refused(tmp_path):
    with pytest.raises(CsvFormatError, match="header"):
        LendingClubCsv(_write(tmp_path, "loan,amount\n1,2\n"))


def test_bytes_read_follows_the_records(tmp_path):
    path = _write(tmp_path, 'id,a\n1,x\n2,"y\nz"\n3,w\n')
    export = LendingClubCsv(path)
    assert (export.bytes_read, export.bytes_total) == (5, 21)
    seen = [export.bytes_read for _ in export]
    assert seen == [9, 17, 21]  # each record's last line is read, the next one is not


def test_a_nul_character_is_rejected_with_its_line(tmp_path):
    _, records = _records(tmp_path, 'id,a\n1,x\x00y\n2,"q\x00"\n3,z\n')
    assert [(type(r).__name__, r.line) for r in records] == [
        ("CsvReject", 2), ("CsvReject", 3), ("CsvRow", 4)
    ]  # fmt: skip
    assert "NUL character" in records[0].reason and records[0].reason.startswith("line 2:")


@pytest.mark.parametrize(
    "text",
    ["1,, 36 months,,", " a , b ,c", "1,Zoë's café,\t,x", ",", "1,a\\b,c", "1,a\rb,c", '1,"a,b",c'],
)
def test_rows_split_as_the_csv_module_splits_them(text):
    """Unquoted rows take str.split, the rest the csv module: the fields must not differ."""
    try:
        expected = CsvRow(7, text, next(csv.reader([text], strict=True)))
    except csv.Error:
        expected = None
    split = _split(7, text, len(expected.values) if expected else 3)
    assert split == expected if expected else isinstance(split, CsvReject)


QUIRKY = (
    "Notes offered by Prospectus (https://www.lendingclub.com/info/prospectus.action)\n"
    'id,a\n1,x\n2,"multi\nline"\n3\n\n4,y\n5,"never closed\n6,z\n7,w\n'
    "Total amount funded in policy code 1: 1\n"
)


@pytest.mark.parametrize(("size", "shares"), [(1, 2), (2, 2), (3, 2), (2, 3), (100, 2)])
def test_parts_shared_between_processes_cover_the_file_once_in_order(tmp_path, size, shares):
    path = _write(tmp_path, QUIRKY)
    whole = list(LendingClubCsv(path))
    parts = [
        part for share in range(shares) for part in LendingClubCsv(path).parts(size, share, shares)
    ]
    parts.sort(key=lambda part: part.index)
    assert [part.index for part in parts] == list(range(len(parts)))
    assert [record for part in parts for record in part.records] == whole
    assert [part.records_read for part in parts] == [
        min(size * (part.index + 1), len(whole)) for part in parts
    ]
    assert parts[-1].bytes_read == path.stat().st_size


LINES = (
    'id,desc,b\n1,"two\nlines",z\n2,plain,z\n\n3,"",z\nTotal amount funded in policy code 1: 1\n'
)
EXPECTED = [
    CsvRow(2, '1,"two\nlines",z', ["1", "two\nlines", "z"]),
    CsvRow(4, "2,plain,z", ["2", "plain", "z"]),
    CsvRow(6, '3,"",z', ["3", "", "z"]),
]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["", "BOM"])
@pytest.mark.parametrize("preamble", ["", "Notes offered by Prospectus (https://x)\n"])
def test_line_endings_and_a_bom_give_the_same_records_and_line_numbers(
    tmp_path, ending, bom, preamble
):
    """Spreadsheet re-saves: CRLF or CR-only line endings (old Mac), a UTF-8 BOM. A line break
    inside a quoted field reads as \\n whatever the file's endings."""
    path = tmp_path / "export.csv"
    path.write_bytes(bom + (preamble + LINES).replace("\n", ending).encode())
    export = LendingClubCsv(path)
    shift = 1 if preamble else 0
    assert export.header == ["id", "desc", "b"]
    assert list(export) == [CsvRow(r.line + shift, r.raw, r.values) for r in EXPECTED]
    assert export.bytes_read == export.bytes_total == path.stat().st_size


def test_a_cr_only_file_split_into_parts_keeps_every_record(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(LINES.replace("\n", "\r").encode())
    parts = [p for share in (0, 1) for p in LendingClubCsv(path).parts(1, share, 2)]
    assert sorted(r.line for p in parts for r in p.records) == [2, 4, 6]


@pytest.mark.parametrize(
    "header",
    [
        "member_id,loan_amnt,int_rate,issue_d,id",  # a tool put id last
        "loan_amnt,term,int_rate,grade,issue_d",  # no id column at all
        '"loan_amnt","int_rate","issue_d", "x" ,""',
    ],
)
def test_a_lendingclub_header_need_not_start_with_id(tmp_path, header):
    export = LendingClubCsv(_write(tmp_path, header + "\n" + ",".join("1" * 5) + "\n"))
    assert export.header == next(csv.reader([header]))  # the builder normalises the names
    assert [r.values for r in export] == [["1"] * 5]


def test_a_file_that_is_no_export_is_refused_naming_what_was_found(tmp_path):
    with pytest.raises(CsvFormatError, match=r"found 'name,amount,issue_d'") as error:
        LendingClubCsv(_write(tmp_path, "name,amount,issue_d\n1,2,3\n"))
    assert "loan_amnt" in str(error.value)  # says what a header looks like


def _big_line_file(tmp_path, body: bytes) -> Path:
    path = tmp_path / "big.csv"
    path.write_bytes(b"id,a\n1,x\n" + body + b"\n3,y\n")
    return path


@pytest.mark.parametrize("size", [101, 5000, 300_000])
def test_a_record_over_the_limit_is_rejected_with_its_first_bytes_and_size(tmp_path, size):
    body = b"2," + b"x" * (size - 2)
    export = LendingClubCsv(_big_line_file(tmp_path, body), max_record_bytes=100)
    records = list(export)
    assert [type(r).__name__ for r in records] == ["CsvRow", "CsvReject", "CsvRow"]
    assert [r.line for r in records] == [2, 3, 4]
    reject = records[1]
    assert reject.raw == body[:100].decode()  # its first bytes, at most the limit
    assert f"a record of {size:,} bytes" in reject.reason and "100-byte limit" in reject.reason
    assert reject.reason.startswith("line 3:") and "INGEST_MAX_RECORD_BYTES" in reject.reason
    assert export.bytes_read == export.bytes_total


def test_a_record_over_the_limit_at_the_end_of_the_file(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"id,a\n1,x\n2," + b"y" * 70_000)
    export = LendingClubCsv(path, max_record_bytes=1000)
    records = list(export)
    assert [r.line for r in records] == [2, 3] and isinstance(records[1], CsvReject)
    assert "70,002 bytes" in records[1].reason
    assert export.bytes_read == export.bytes_total


def test_a_quoted_record_growing_over_the_limit_is_rejected_and_the_rest_reread(tmp_path):
    lines = "".join(f"{i},{'z' * 30}\n" for i in range(3, 10))
    path = _write(tmp_path, 'id,a\n1,"opened and never closed\n' + lines)
    records = list(LendingClubCsv(path, max_record_bytes=100))
    assert isinstance(records[0], CsvReject) and records[0].line == 2
    assert "100-byte" in records[0].reason and "not closed" in records[0].reason
    assert [r.line for r in records[1:]] == list(range(3, 10))
    assert all(isinstance(r, CsvRow) for r in records[1:])


def test_a_long_quoted_field_under_the_limit_is_a_row(tmp_path):
    """The csv module refuses fields over 128 KiB by default: the record limit rules."""
    desc = "word " * 60_000
    path = _write(tmp_path, f'id,desc\n1,"{desc}"\n')
    (record,) = LendingClubCsv(path)
    assert record.values == ["1", desc]


def test_memory_stays_bounded_on_a_300_mb_line(tmp_path):
    """One 300 MB line used to be read whole, decoded and split (peak about 5x the line):
    now the reader holds a chunk and at most the record limit."""
    path = tmp_path / "huge.csv"
    block = b"x" * (1 << 20)
    with path.open("wb") as out:
        out.write(b"id,a\n1,x\n2,")
        for _ in range(300):
            out.write(block)
        out.write(b"\n3,y\n")
    tracemalloc.start()
    try:
        export = LendingClubCsv(path)
        records = [(type(r).__name__, r.line) for r in export]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert records == [("CsvRow", 2), ("CsvReject", 3), ("CsvRow", 4)]
    assert export.bytes_read == export.bytes_total
    assert peak < 4 * DEFAULT_MAX_RECORD_BYTES, f"peak {peak:,} bytes"


def _loan_rows(count: int = 10) -> list[list[str]]:
    return [
        [(LOAN_CSV_ROW | {"id": str(1077501 + k)}).get(name, "") for name in LOAN_CSV_HEADER]
        for k in range(count)
    ]


def _shifted_file(tmp_path: Path, header: list[str], rows: list[list[str]]) -> Path:
    return _write(tmp_path, "\n".join(",".join(r) for r in [header, *rows]) + "\n")


def test_values_shifted_by_a_missing_value_are_one_error_for_the_file(tmp_path):
    """Every row lost its funded_amnt_inv value: 'term' holds a rate, and so on."""
    gone = LOAN_CSV_HEADER.index("funded_amnt_inv")
    path = _shifted_file(
        tmp_path, LOAN_CSV_HEADER, [r[:gone] + r[gone + 1 :] for r in _loan_rows()]
    )
    with pytest.raises(CsvFormatError) as error:
        LendingClubCsv(path)
    message = str(error.value)
    assert message.startswith(f"{path}: values are shifted against the header")
    assert "from column 5 ('funded_amnt_inv') on" in message
    assert "one place to the left" in message
    assert "10 of the first 10 rows have 73 fields for the header's 74 names" in message
    assert "export or download the file again" in message
    assert "remove the extra name before 'funded_amnt_inv'" in message


@pytest.mark.parametrize("trailer", [[], ["notes"]], ids=["fewer names", "same count"])
def test_a_header_missing_a_name_is_one_error_for_the_file(tmp_path, trailer):
    """Without 'grade' in the header every value from there on sits one place to the right,
    whether or not the field count gives it away."""
    at = LOAN_CSV_HEADER.index("grade")
    header = LOAN_CSV_HEADER[:at] + LOAN_CSV_HEADER[at + 1 :] + trailer
    with pytest.raises(CsvFormatError) as error:
        LendingClubCsv(_shifted_file(tmp_path, header, _loan_rows()))
    message = str(error.value)
    # the shift shows at sub_grade; int_rate and installment cannot tell (numbers both)
    assert "from a column between column 7 ('int_rate') and column 9 ('sub_grade') on" in message
    assert "one place to the right" in message and "'sub_grade' holds 'B'" in message
    assert "add the missing name before 'sub_grade' in the header" in message


def test_rows_with_a_value_too_many_at_their_end_are_one_error_for_the_file(tmp_path):
    path = _shifted_file(tmp_path, LOAN_CSV_HEADER, [[*r, ""] for r in _loan_rows()])
    with pytest.raises(CsvFormatError, match="75 fields for the header's 74 names, though the"):
        LendingClubCsv(path)


def test_a_few_bad_rows_are_rows_not_a_bad_file(tmp_path):
    rows = _loan_rows()
    rows[3] = [*rows[3][:20], "Manager", " Sales", *rows[3][21:]]  # an unquoted comma
    rows[7] = rows[7][:-1]
    records = list(LendingClubCsv(_shifted_file(tmp_path, LOAN_CSV_HEADER, rows)))
    assert [r.line for r in records if isinstance(r, CsvReject)] == [5, 9]


def test_the_sniffed_rows_are_still_read_with_their_progress(tmp_path):
    """The first rows are read ahead to check them; iterating still yields them all, and
    bytes_read follows each record, not the read-ahead."""
    text = "id,a\n" + "".join(f"{i},x\n" for i in range(1, SNIFF_RECORDS + 50))
    path = _write(tmp_path, text)
    export = LendingClubCsv(path)
    assert export.bytes_read == 5
    ends = []
    for _ in export:
        ends.append(export.bytes_read)
    assert len(ends) == SNIFF_RECORDS + 49 and ends[0] == 9 and ends[-1] == len(text)
