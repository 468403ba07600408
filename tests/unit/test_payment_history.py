"""A payment-history (PMTHIST) row becomes one loan-month event: recognised by its header
whatever the case, order and extra columns; its payload the file's strings under lower-case
names; the same month the same event however its columns are ordered; a row without a loan
id or a month refused naming the field. The decoder reads version 2 performance events and
still reads version 1."""

from __future__ import annotations

import orjson
import pytest

from ingest.events import (
    APPLICATION,
    MONTHLY_SCHEMA_VERSION,
    PERFORMANCE,
    SCHEMA_VERSION,
    EventError,
    LoanEventBuilder,
    performance_status,
)
from ingest.files.lendingclub_csv import CsvFormatError, LendingClubCsv
from ingest.payment_history import LoanMonthBuilder, is_payment_history
from ingest.streaming import producer
from ingest.streaming.decoding import LoanEvent, Rejection, decode_event
from ml.serving.rules import behaviour_reason

HEADER = ["LOAN_ID", "MONTH", "MOB", "PERIOD_END_LSTAT", "PBAL_BEG_PERIOD", "RECEIVED_AMT", "grade"]
ROW = ["1077501", "Jan2016", "3", "Current", "4000.5", "", "B"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER, True),
        ([" loan_id", "month ", "Period_End_Lstat", "DUE_AMT", "MOB", "Extra"], True),
        (["LOAN_ID", "MONTH", "PERIOD_END_LSTAT"], False),  # too few of its columns
        (["id", "loan_amnt", "issue_d", "loan_status"], False),  # an export
        (["MONTH", "PERIOD_END_LSTAT", "DUE_AMT", "MOB"], False),  # no loan id
    ],
)
def test_a_history_is_recognised_by_its_header(header, expected):
    assert is_payment_history(header) is expected


def test_a_row_is_one_event_under_lower_case_names():
    (event,) = LoanMonthBuilder(HEADER, "lendingclub-pmthist:h.csv", 2026).build(ROW)
    assert event.event_type == PERFORMANCE
    assert event.schema_version == MONTHLY_SCHEMA_VERSION
    assert event.loan_id == "1077501"
    assert event.occurred_at == "2016-01-01T00:00:00Z"
    assert event.payload == {
        "loan_id": "1077501", "month": "Jan2016", "mob": "3", "period_end_lstat": "Current",
        "pbal_beg_period": "4000.5", "grade": "B", "as_of_d": "2016-01-01",
    }  # fmt: skip


def test_the_same_month_is_the_same_event_whatever_the_column_order():
    (first,) = LoanMonthBuilder(HEADER, "a", 2026).build(ROW)
    order = [3, 0, 6, 1, 5, 2, 4]
    (second,) = LoanMonthBuilder([HEADER[i] for i in order], "b", 2026).build(
        [ROW[i] for i in order]
    )
    assert first.event_id == second.event_id
    changed = [*ROW[:3], "In Grace Period", *ROW[4:]]
    (corrected,) = LoanMonthBuilder(HEADER, "a", 2026).build(changed)
    assert corrected.event_id != first.event_id


@pytest.mark.parametrize(
    ("index", "value", "field", "problem"),
    [
        (0, "", "loan_id", "not a numeric loan id"),
        (0, "L-12", "loan_id", "not a numeric loan id"),
        (1, "", "month", "empty"),
        (1, "Jam2016", "month", "not a month"),
        (1, "Jan1492", "month", "outside the years"),
    ],
)
def test_a_row_without_loan_or_month_is_refused_naming_the_field(index, value, field, problem):
    values = list(ROW)
    values[index] = value
    with pytest.raises(EventError, match=problem) as error:
        LoanMonthBuilder(HEADER, "a", 2026).build(values)
    assert error.value.field == field


def _message(event_type: str, version: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": "e", "event_type": event_type, "schema_version": version,
            "occurred_at": "2016-01-01T00:00:00Z", "source": "s", "loan_id": "7",
            "payload": {"period_end_lstat": "Current"},
        }
    )  # fmt: skip


def test_the_decoder_reads_both_performance_versions_and_one_application_version():
    for version in (SCHEMA_VERSION, MONTHLY_SCHEMA_VERSION):
        event = decode_event(_message(PERFORMANCE, version), PERFORMANCE, 1 << 20)
        assert isinstance(event, LoanEvent) and event.schema_version == version
    refused = decode_event(_message(APPLICATION, MONTHLY_SCHEMA_VERSION), APPLICATION, 1 << 20)
    assert isinstance(refused, Rejection) and refused.field == "schema_version"
    assert "unsupported schema_version 2 for loan.application" in refused.reason


def test_a_late_month_fires_the_stream_scorers_behaviour_trigger():
    late = [*ROW[:3], "Late (31-120 days)", *ROW[4:]]
    (month,) = LoanMonthBuilder(HEADER, "a", 2026).build(late)
    assert performance_status(month) == "Late (31-120 days)"
    assert behaviour_reason(performance_status(month)) == "BEHAVIOUR_LATE_31_120"
    builder = LoanEventBuilder(["id", "issue_d", "loan_status"], "e", 2026)
    _, snapshot = builder.build(["7", "Mar-2017", "In Grace Period"])
    assert behaviour_reason(performance_status(snapshot)) == "BEHAVIOUR_GRACE"


def test_a_history_naming_a_column_twice_is_refused_as_a_whole(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "LOAN_ID,MONTH,PERIOD_END_LSTAT,DUE_AMT,MOB,Month\n7,Jan2016,Current,1,1,Feb2016\n"
    )
    with pytest.raises(CsvFormatError, match="'month' more than once"):
        LendingClubCsv(path)


def test_the_spool_sorts_months_and_skips_the_ones_before_since(tmp_path, monkeypatch):
    monkeypatch.setattr(producer, "SPOOL_LINES", 2)  # appended in several rounds
    path = tmp_path / "h.csv"
    rows = ["1,Mar2016,Current", "1,Jan2016,Current", "2,Feb2016,Current", "2,Mar2016,Late",
            "3,Mar2016,Current", "x,Mar2016,Current", "4,Dec2015,Current"]  # fmt: skip
    path.write_text(
        "LOAN_ID,MONTH,PERIOD_END_LSTAT,DUE_AMT,MOB\n" + "".join(f"{r},1,1\n" for r in rows)
    )
    report = producer.ProduceReport()
    spools = producer._spool_by_month(
        LendingClubCsv(path), tmp_path, "2016-01-01T00:00:00Z", report, None
    )
    assert sorted(spools) == [
        "2016-01-01T00:00:00Z",
        "2016-02-01T00:00:00Z",
        "2016-03-01T00:00:00Z",
    ]
    march = spools["2016-03-01T00:00:00Z"].read_bytes().splitlines()
    assert [line.split(b"\t")[0] for line in march] == [b"1", b"2", b"3"]  # file order
    assert report.rows_skipped == 1 and "loan_id" in report.first_problems[0]
