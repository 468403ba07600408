import uuid
from datetime import date

import orjson
import pytest

from ingest.events import (
    APPLICATION,
    PERFORMANCE,
    PERFORMANCE_FIELDS,
    EventError,
    LoanEventBuilder,
    event_id,
    loan_identity,
    parse_lc_month,
)


@pytest.mark.parametrize(
    ("text", "latest_year", "expected"),
    [
        ("Mar-2017", 2026, date(2017, 3, 1)),
        ("Feb-02", 2026, date(2002, 2, 1)),  # two-digit year: 2002, not 2102 or 1902
        ("Dec-19", 2026, date(2019, 12, 1)),
        ("Oct-62", 2015, date(1962, 10, 1)),  # a credit line before the loan's issue year
        ("Jan-15", 2015, date(2015, 1, 1)),
        ("18-Dec", 2026, date(2018, 12, 1)),  # year first, from a spreadsheet re-save
        ("  Mar-2017 ", 2026, date(2017, 3, 1)),
        ("", 2026, None),
        ("   ", 2026, None),
    ],
)
def test_parse_lc_month(text, latest_year, expected):
    assert parse_lc_month(text, latest_year) == expected


@pytest.mark.parametrize("text", ["2017-03", "Foo-2017", "March", "Mar-20x7"])
def test_parse_lc_month_rejects_non_months(text):
    with pytest.raises(ValueError, match="not a month"):
        parse_lc_month(text, 2026)


def test_loan_identity_prefers_id_then_url():
    assert loan_identity("1077501", "") == "1077501"
    url = "https://lendingclub.com/browse/loanDetail.action?loan_id=1077430"
    assert loan_identity("", url) == "1077430"
    with pytest.raises(EventError) as error:
        loan_identity("", "")
    assert error.value.field == "id"
    with pytest.raises(EventError, match="not a numeric"):
        loan_identity("abc", url)


def test_event_id_is_a_uuid8_of_the_content():
    canonical = b'{"a":"1"}'
    ids = {
        event_id(APPLICATION, str(loan), "2017-03-01T00:00:00Z", canonical) for loan in range(200)
    }
    assert len(ids) == 200
    for text in ids:  # every variant digit (8, 9, a, b) is a valid RFC 9562 variant
        parsed = uuid.UUID(text)
        assert parsed.version == 8 and parsed.variant == uuid.RFC_4122
    same = event_id(APPLICATION, "1", "2017-03-01T00:00:00Z", canonical)
    assert same == event_id(APPLICATION, "1", "2017-03-01T00:00:00Z", canonical)
    assert same != event_id(APPLICATION, "1", "2017-03-01T00:00:00Z", b'{"a":"2"}')
    assert same != event_id(PERFORMANCE, "1", "2017-03-01T00:00:00Z", canonical)


def test_a_status_change_within_a_month_is_a_new_event():
    """Current -> Late with the month fields unchanged (a borrower who stopped paying)."""
    _, current = _build(loan_status="Current")
    _, late = _build(loan_status="Late (31-120 days)")
    assert current.occurred_at == late.occurred_at
    assert current.event_id != late.event_id


def test_the_same_row_in_another_column_order_is_the_same_event():
    application, performance = _build()
    reordered = list(reversed(HEADER))
    builder = LoanEventBuilder(reordered, "other-file", 2026)
    row = dict(zip(HEADER, _ROW_VALUES, strict=True))
    again = builder.build([row[name] for name in reordered])
    assert (again[0].event_id, again[1].event_id) == (application.event_id, performance.event_id)


HEADER = [
    "id",
    "url",
    "loan_amnt",
    "issue_d",
    "dti",
    "loan_status",
    "last_pymnt_d",
    "total_pymnt",
    "last_credit_pull_d",
    "recoveries",
    "emp_title",
]


_ROW_VALUES = ["42", "", "5000.0", "Mar-2017", "999", "Charged Off", "Jul-2018", "1200.5",
               "Feb-19", "10.0", ""]  # fmt: skip


def _build(**overrides):
    row = {
        "id": "42",
        "url": "",
        "loan_amnt": "5000.0",
        "issue_d": "Mar-2017",
        "dti": "999",
        "loan_status": "Charged Off",
        "last_pymnt_d": "Jul-2018",
        "total_pymnt": "1200.5",
        "last_credit_pull_d": "Feb-19",
        "recoveries": "10.0",
        "emp_title": "",
    }
    row.update(overrides)
    builder = LoanEventBuilder(HEADER, "test", 2026)
    return builder.build([row[name] for name in HEADER])


def test_row_splits_into_application_and_performance_without_leaks():
    application, performance = _build()
    assert application.event_type == APPLICATION and performance.event_type == PERFORMANCE
    assert application.loan_id == performance.loan_id == "42"
    assert not set(application.payload) & PERFORMANCE_FIELDS
    assert application.payload == {
        "id": "42",
        "loan_amnt": "5000.0",
        "issue_d": "Mar-2017",
        "dti": "999",
    }
    assert performance.payload["loan_status"] == "Charged Off"
    assert application.occurred_at == "2017-03-01T00:00:00Z"
    # as of the latest month the row knows of: last credit pull, Feb 2019 (two-digit year)
    assert performance.occurred_at == "2019-02-01T00:00:00Z"
    assert performance.payload["as_of_d"] == "2019-02-01"
    envelope = orjson.loads(application.to_json())
    assert set(envelope) == {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "source",
        "loan_id",
        "payload",
    }


def test_rows_without_usable_issue_date_are_event_errors():
    with pytest.raises(EventError) as error:
        _build(issue_d="")
    assert error.value.field == "issue_d"
    with pytest.raises(EventError, match="last_pymnt_d"):
        _build(last_pymnt_d="soon")


@pytest.mark.parametrize("bad", ["\uff11\uff12\uff13", "1" * 23, "12a", "⁴²"])
def test_loan_ids_are_short_ascii_numbers(bad):
    """Full-width or superscript digits pass str.isdigit but no warehouse casts them, and a
    23-digit id overflows dbt's bigint: either would have failed every later dbt build."""
    with pytest.raises(EventError, match="not a numeric loan id"):
        loan_identity(bad, "")
