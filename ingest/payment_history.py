"""LendingClub's monthly payment-history files (PMTHIST): one row per loan and month.

Each row becomes one `loan.performance` event of schema version 2 (events.MONTHLY_SCHEMA_VERSION):

    {"event_type": "loan.performance", "schema_version": 2, "loan_id": "1077501",
     "occurred_at": "2016-01-01T00:00:00Z", "source": "lendingclub-pmthist:PMTHIST.csv",
     "payload": {"loan_id": "1077501", "month": "Jan2016", "period_end_lstat": "Current",
                 "pbal_beg_period": "4000.0", ..., "as_of_d": "2016-01-01"}}

The payload keeps the file's raw strings under its column names in lower case (the files
write `LOAN_ID`, `IssuedDate`, `grade`: case is not part of a name here), empty values left
out, plus `as_of_d`, the month as an ISO date. `occurred_at` is the month's first day. So the
same loan-month read again, from a re-downloaded file or a replay on Kafka, is the same event,
and a corrected month (another status, another amount) is a new one that dbt orders after it.

Version 1 performance events (an export row's snapshot) are unchanged and still read: dbt
stages each version by its own model (stg_loan_events__performance, stg_loan_events__loan_months).

Reading is tolerant of column order, case and extra columns. A row without a numeric
`LOAN_ID` or a readable `MONTH` cannot be an event: EventError names the field, and the
loader quarantines the row. Every other value is dbt's to parse (a bad amount is flagged
there, never a reason to lose the month).
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.events import (
    MAX_LOAN_ID_DIGITS,
    MONTHLY_SCHEMA_VERSION,
    PERFORMANCE,
    EventError,
    LoanEvent,
    month_timestamp,
    valid_loan_id,
)

# A header is a payment history's if it names the loan and the month and at least this many
# of the other columns every PMTHIST layout has.
_MARKERS = frozenset(
    {"period_end_lstat", "pbal_beg_period", "pbal_end_period", "received_amt", "due_amt",
     "mob", "prncp_paid", "int_paid", "received_d", "co"}
)  # fmt: skip
_MARKERS_NEEDED = 3


def history_names(header: Sequence[str]) -> list[str]:
    """Column names as the payloads carry them: trimmed, lower case."""
    return [name.strip().lower() for name in header]


def repeated_history_names(header: Sequence[str]) -> list[str]:
    """The names a history's header holds more than once, read without case ('MONTH' and
    'Month'): the reader refuses such a file, since either column could be the month."""
    names = history_names(header)
    return sorted({name for name in names if names.count(name) > 1})


def is_payment_history(header: Sequence[str]) -> bool:
    """Whether a header row is a PMTHIST file's: LOAN_ID, MONTH and a few of its columns."""
    names = set(history_names(header))
    return {"loan_id", "month"} <= names and len(_MARKERS & names) >= _MARKERS_NEEDED


class LoanMonthBuilder:
    """Turns payment-history rows (value lists in `header` order) into loan-month events."""

    def __init__(self, header: Sequence[str], source: str, latest_year: int) -> None:
        self.names = history_names(header)
        self.source = source
        self.latest_year = latest_year
        self._loan_id = self.names.index("loan_id")
        self._month = self.names.index("month")

    def month(self, values: Sequence[str]) -> str:
        """The row's month as its event's `occurred_at` ('2016-01-01T00:00:00Z')."""
        try:
            month = month_timestamp(values[self._month], self.latest_year)
        except ValueError as exc:
            raise EventError("month", str(exc)) from None
        if month is None:
            raise EventError("month", "empty: a payment-history row needs its month")
        return month

    def build(self, values: Sequence[str]) -> tuple[LoanEvent]:
        """The row's one event (a tuple, as LoanEventBuilder.build gives an export row's two)."""
        loan_id = values[self._loan_id].strip()
        if not valid_loan_id(loan_id):
            raise EventError(
                "loan_id",
                f"{loan_id[:40]!r} is not a numeric loan id (1 to {MAX_LOAN_ID_DIGITS} ASCII "
                "digits)",
            )
        month = self.month(values)
        payload = {name: value for name, value in zip(self.names, values, strict=True) if value}
        payload["as_of_d"] = month[:10]
        return (
            LoanEvent.create(
                PERFORMANCE, loan_id, month, self.source, payload, MONTHLY_SCHEMA_VERSION
            ),
        )
