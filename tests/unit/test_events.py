import uuid
from datetime import date

import orjson
import pytest

from ingest.events import (
    APPLICATION,
    PERFORMANCE,
    PERFORMANCE_FIELDS,
    SURROGATE_MIN,
    EventError,
    LoanEventBuilder,
    SurrogateRepeats,
    canonical_payload,
    event_id,
    is_surrogate_loan_id,
    loan_identity,
    parse_lc_month,
    surrogate_loan_id,
    valid_loan_id,
)


@pytest.mark.parametrize(
    ("text", "latest_year", "expected"),
    [
        ("Mar-2017", 2026, date(2017, 3, 1)),
        ("Jan2016", 2026, date(2016, 1, 1)),
        ("Sept2017", 2026, date(2017, 9, 1)),
        ("Feb-02", 2026, date(2002, 2, 1)),  # two-digit year: 2002, not 2102 or 1902
        ("Dec-19", 2026, date(2019, 12, 1)),
        ("Oct-62", 2015, date(1962, 10, 1)),  # a credit line before the loan's issue year
        ("Jan-15", 2015, date(2015, 1, 1)),
        ("18-Dec", 2026, date(2018, 12, 1)),  # year first, from a spreadsheet re-save
        ("15-Dec", 2026, date(2015, 12, 1)),  # both spreadsheet forms of December 2015
        ("Dec-15", 2026, date(2015, 12, 1)),
        ("2018-Dec", 2026, date(2018, 12, 1)),
        ("Sept-2017", 2026, date(2017, 9, 1)),  # a locale's abbreviation
        ("March-2017", 2026, date(2017, 3, 1)),
        ("2011-12-29", 2026, date(2011, 12, 1)),  # ISO dates of the browse-notes layout
        ("2006-05-23 05:00", 2026, date(2006, 5, 1)),
        ("2006-05-23T05:00:07", 2026, date(2006, 5, 1)),
        ("2006-05-23 05:00:07.250", 2026, date(2006, 5, 1)),
        ("  Mar-2017 ", 2026, date(2017, 3, 1)),
        ("", 2026, None),
        ("   ", 2026, None),
    ],
)
def test_parse_lc_month(text, latest_year, expected):
    assert parse_lc_month(text, latest_year) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2017-03", "Foo-2017", "March", "Mar-20x7", "Marzipan-2017", "Mar-201", "Mar-²⁰¹⁷",
        "2011-02-30", "2011-13-01", "Jan16", "Jan20167", "Foo2016", "2011-12-29 25:00", "2011-12-29 05", "2011-12-29x",
    ],
)  # fmt: skip
def test_parse_lc_month_rejects_non_months(text):
    with pytest.raises(ValueError, match="not a month"):
        parse_lc_month(text, 2026)


def test_loan_identity_prefers_id_then_url_then_none():
    assert loan_identity("1077501", "") == "1077501"
    url = "https://lendingclub.com/browse/loanDetail.action?loan_id=1077430"
    assert loan_identity("", url) == "1077430"
    assert loan_identity("", "") is None  # the builder derives a surrogate id
    assert loan_identity(" ", "https://lendingclub.com/browse/loanDetail.action") is None
    with pytest.raises(EventError, match="not a numeric"):
        loan_identity("abc", url)


@pytest.mark.parametrize("reserved", ["1000000000000000", "9007199254740991"])
def test_a_published_id_in_the_surrogate_range_is_refused(reserved):
    """Surrogate ids never meet a real one: LendingClub's ids have at most 9 digits."""
    with pytest.raises(EventError, match="reserved for surrogate ids") as error:
        loan_identity(reserved, "")
    assert error.value.field == "id"
    for published in ("999999999", "0999999999999999", "9007199254740992", "1" * 18):
        assert loan_identity(published, "") == published


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


# The 2018Q4-and-later public files: id, member_id and url blank on every row.
NO_ID_HEADER = ["id", "member_id", "url", "loan_amnt", "term", "issue_d", "emp_title",
                "loan_status", "last_pymnt_d", "total_pymnt"]  # fmt: skip
NO_ID_ROW = ["", "", "", "10000.0", " 36 months", "Dec-2018", "Nurse", "Current", "Feb-2019",
             "612.5"]  # fmt: skip


def _no_id(**changes):
    row = dict(zip(NO_ID_HEADER, NO_ID_ROW, strict=True)) | changes
    return LoanEventBuilder(NO_ID_HEADER, "test", 2026).build([row[n] for n in NO_ID_HEADER])


def test_a_row_without_id_gets_a_surrogate_id_from_its_origination_fields():
    application, performance = _no_id()
    loan_id = application.loan_id
    assert valid_loan_id(loan_id) and len(loan_id) == 16
    assert SURROGATE_MIN <= int(loan_id) < 2**53 and float(loan_id) == int(loan_id)
    assert performance.loan_id == performance.payload["id"] == loan_id
    assert is_surrogate_loan_id(loan_id) and not is_surrogate_loan_id("99706724")
    assert loan_id == surrogate_loan_id(application.payload)
    # the same origination, whatever happened since, and with or without a url or member id
    assert _no_id(loan_status="Fully Paid", total_pymnt="10500.0")[0].loan_id == loan_id
    assert _no_id(url="https://lendingclub.com/browse/loanDetail.action")[0].loan_id == loan_id
    assert _no_id(member_id="5")[0].loan_id == loan_id
    # another origination is another loan
    assert _no_id(emp_title="Teacher")[0].loan_id != loan_id
    assert _no_id(issue_d="Jan-2019")[0].loan_id != loan_id


def test_surrogate_ids_are_fixed_by_their_definition():
    """Reloading or re-downloading a file must give the ids it gave before: this pins the
    derivation (SHA-256 of the canonical origination fields and the repeat number)."""
    fields = {"loan_amnt": "10000.0", "issue_d": "Dec-2018", "url": "x", "id": "", "member_id": "1"}
    assert surrogate_loan_id(fields) == surrogate_loan_id(
        {"issue_d": "Dec-2018", "loan_amnt": "10000.0"}
    )
    assert surrogate_loan_id(fields) == "2414362804050259"
    assert surrogate_loan_id(fields, 1) == "6602017643202216"


def test_repeats_of_one_origination_become_separate_loans_in_file_order():
    repeats = SurrogateRepeats()
    first = repeats.resolve(*_no_id())
    second = repeats.resolve(*_no_id(loan_status="Charged Off"))
    third = repeats.resolve(*_no_id())
    ids = [first[0].loan_id, second[0].loan_id, third[0].loan_id]
    assert len(set(ids)) == 3 and all(is_surrogate_loan_id(i) for i in ids)
    assert ids[0] == _no_id()[0].loan_id
    assert ids[1] == surrogate_loan_id(first[0].payload, 1)
    for application, performance in (second, third):
        assert performance.loan_id == performance.payload["id"] == application.loan_id
        assert application.payload == first[0].payload  # only the identity differs
        assert application.event_id == event_id(
            APPLICATION, application.loan_id, application.occurred_at,
            canonical_payload(application.payload),
        )  # fmt: skip
    again = SurrogateRepeats()
    assert [again.resolve(*_no_id())[0].loan_id for _ in range(3)] == ids
    published = _build()  # rows with their own id are never renamed
    assert repeats.resolve(*published) == published == repeats.resolve(*published)


def test_a_repeat_whose_next_id_is_taken_takes_the_one_after():
    repeats = SurrogateRepeats()
    application, performance = _no_id()
    assert repeats.first(surrogate_loan_id(application.payload, 1))  # taken by another row
    repeats.resolve(application, performance)
    again = repeats.resolve(application, performance)
    assert again[0].loan_id == surrogate_loan_id(application.payload, 2)


def test_old_column_names_become_the_current_ones():
    """The 2012-2014 browse-notes layout says is_inc_v for verification_status."""
    header = ["id", "issue_d", " is_inc_v ", "loan_status"]
    application, _ = LoanEventBuilder(header, "t", 2026).build(
        ["1", "2011-12-29", "Verified", "Current"]
    )
    assert application.payload == {
        "id": "1",
        "issue_d": "2011-12-29",
        "verification_status": "Verified",
    }
    assert application.occurred_at == "2011-12-01T00:00:00Z"
    both = ["id", "issue_d", "is_inc_v", "verification_status"]
    application, _ = LoanEventBuilder(both, "t", 2026).build(["1", "Mar-2017", "a", "b"])
    assert (
        application.payload["verification_status"] == "b" and application.payload["is_inc_v"] == "a"
    )


@pytest.mark.parametrize("month", ["Feb-0001", "Jan-1899", "Dec-2201", "0001-01-01"])
def test_event_months_keep_to_the_years_the_decoder_takes(month):
    """Whether a row arrives as a file or as a Kafka message, its time is held to the same
    years (the decoder refuses an occurred_at outside them)."""
    with pytest.raises(EventError, match="outside the years 1900-2200") as error:
        _build(issue_d=month)
    assert error.value.field == "issue_d"
