import csv
from pathlib import Path

import pytest

from ingest.lendingclub_csv import CsvFormatError, CsvReject, CsvRow, LendingClubCsv, _split


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
