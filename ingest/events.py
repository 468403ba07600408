"""The loan event contract (schema version 1).

Every event is a JSON object with an envelope and a payload:

    {"event_id": "...", "event_type": "loan.application", "schema_version": 1,
     "occurred_at": "2017-03-01T00:00:00Z", "source": "lendingclub-csv:accepted.csv",
     "loan_id": "99706724", "payload": {...LendingClub fields as raw strings...}}

`loan.application` carries only what was known when the loan was issued; `loan.performance`
carries the status and payment fields, which describe the outcome and so must never reach a
model that scores at origination. One LendingClub row becomes one event of each type.
Payload values stay the raw strings of the export: cleaning happens in dbt. Payload keys are
LendingClub's current column names, whatever the layout (normalise_header), and `loan_id` is
the published id or, for a row without one, a surrogate derived from its origination fields
(surrogate_loan_id).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

SCHEMA_VERSION = 1
APPLICATION = "loan.application"
PERFORMANCE = "loan.performance"
EVENT_TYPES = (APPLICATION, PERFORMANCE)
# Version 2 is one loan-month of a payment-history file (ingest.payment_history), a
# loan.performance payload of another shape; version 1 events keep theirs.
MONTHLY_SCHEMA_VERSION = 2
SCHEMA_VERSIONS = {
    APPLICATION: (SCHEMA_VERSION,),
    PERFORMANCE: (SCHEMA_VERSION, MONTHLY_SCHEMA_VERSION),
}

# Fields that describe what happened after issue. They go to loan.performance only.
PERFORMANCE_FIELDS = frozenset(
    {
        "loan_status", "pymnt_plan", "out_prncp", "out_prncp_inv", "total_pymnt",
        "total_pymnt_inv", "total_rec_prncp", "total_rec_int", "total_rec_late_fee",
        "recoveries", "collection_recovery_fee", "last_pymnt_d", "last_pymnt_amnt",
        "next_pymnt_d", "last_credit_pull_d", "last_fico_range_high", "last_fico_range_low",
        "hardship_flag", "hardship_type", "hardship_reason", "hardship_status", "deferral_term",
        "hardship_amount", "hardship_start_date", "hardship_end_date",
        "payment_plan_start_date", "hardship_length", "hardship_dpd", "hardship_loan_status",
        "orig_projected_additional_accrued_interest", "hardship_payoff_balance_amount",
        "hardship_last_payment_amount", "debt_settlement_flag", "debt_settlement_flag_date",
        "settlement_status", "settlement_date", "settlement_amount", "settlement_percentage",
        "settlement_term",
    }
)  # fmt: skip
# Why a record holding a NUL character is quarantined, whichever way it arrives.
NUL_REASON = (
    "a NUL character (\\u0000): Postgres cannot store it as text, and dbt could not read it back"
)
# The performance event's as-of date: the latest of these that the row has.
AS_OF_FIELDS = ("last_pymnt_d", "last_credit_pull_d")

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
# 'Mar-2017', 'Feb-02', '18-Dec', 'Sept-2017', 'March-2017': a month name (3 letters or more of
# it) and a year of 2 or 4 digits, either way round; 'Jan2016', the payment-history files'
# form: a month name and a 4-digit year, nothing between.
_NAMED_MONTH = re.compile(
    r"([A-Za-z]{3,9})-([0-9]{2}|[0-9]{4})|([0-9]{2}|[0-9]{4})-([A-Za-z]{3,9})"
    r"|([A-Za-z]{3,9})([0-9]{4})"
)
# '2011-12-29', '2006-05-23 05:00', '2006-05-23T05:00:07.250': an ISO date, maybe with a time.
_ISO_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?)?"
)
_LOAN_ID_IN_URL = re.compile(r"loan_id=(\d+)")


def performance_status(event: LoanEvent) -> Any:
    """A performance event's loan status as its payload holds it (an export snapshot's
    `loan_status`, a payment-history month's `period_end_lstat`); None if it has none."""
    key = "period_end_lstat" if event.schema_version == MONTHLY_SCHEMA_VERSION else "loan_status"
    return event.payload.get(key)


class EventError(ValueError):
    """A record cannot become a valid event; names the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r}: {problem}")
        self.field = field
        self.problem = problem


def parse_lc_month(text: str, latest_year: int) -> date | None:
    """The month a LendingClub date names, as its first day; None for an empty value.

    Every form the exports and their spreadsheet re-saves hold: 'Mar-2017', 'Feb-02'
    (two-digit year), '18-Dec' and '15-Dec' (year first), 'Dec-15', 'Sept-2017' or
    'March-2017' (a month name), 'Jan2016' (the payment-history files), and the browse-notes layout's ISO dates and date-times
    ('2011-12-29', '2006-05-23 05:00', to their month). A two-digit year is put in the century
    that keeps it at or before `latest_year`, so 'Feb-02' is 2002 and a credit line 'Oct-62' on
    a 2015 loan is 1962. Raises ValueError ('... is not a month') for anything else.
    """
    text = text.strip()
    if not text:
        return None
    if iso := _ISO_DATE.fullmatch(text):
        year, month, day, hour, minute, second = (int(g or 0) for g in iso.groups())
        try:
            date(year, month, day)  # a real day, or it is no date at all
        except ValueError:
            raise ValueError(f"{text!r} is not a month: no such day") from None
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{text!r} is not a month: no such time of day")
        return date(year, month, 1)
    named = _NAMED_MONTH.fullmatch(text)
    month = _month_number(named.group(1) or named.group(4) or named.group(5)) if named else None
    if named is None or month is None:
        raise ValueError(f"{text!r} is not a month like 'Mar-2017' or '2017-03-01'")
    year_text = named.group(2) or named.group(3) or named.group(6)
    year = int(year_text)
    if len(year_text) == 2:
        year += 2000 if 2000 + year <= latest_year else 1900
    elif year < 1:
        raise ValueError(f"{text!r} is not a month: no year 0")
    return date(year, month, 1)


def _month_number(name: str) -> int | None:
    """1 to 12 for a month's English name or an abbreviation of 3 letters or more."""
    name = name.lower()
    for number, full in enumerate(_MONTH_NAMES, start=1):
        if full.startswith(name):
            return number
    return None


@functools.lru_cache(maxsize=8192)
def month_timestamp(text: str, latest_year: int) -> str | None:
    """The month as a UTC timestamp string ('2017-03-01T00:00:00Z'), or None if empty.

    Such strings sort as the months do, and an export holds a few hundred distinct month
    texts, so each is parsed and formatted once. ValueError outside EARLIEST_YEAR to
    LATEST_YEAR, the years an event's time may have however it arrives."""
    month = parse_lc_month(text, latest_year)
    if month is None:
        return None
    if not EARLIEST_YEAR <= month.year <= LATEST_YEAR:
        raise ValueError(f"{text!r} is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}")
    return f"{month.isoformat()}T00:00:00Z"


# An event's time must fall in these years, whichever way it arrives: every engine stores
# them, dbt's parsers take the same range, and Python's datetime converts them to UTC without
# overflowing (year 1 with a +01:00 offset cannot).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
# A loan id is a whole number that fits dbt's bigint loan_id with room to spare.
MAX_LOAN_ID_DIGITS = 18
# Surrogate ids (rows without a published id) are the 16-digit numbers below 2**53: no
# LendingClub id comes near (theirs have at most 9 digits), a published id in this range is
# refused (so a surrogate never names a real loan), and every one survives a trip through a
# JSON number or a float64 exactly (Superset's tables and charts run in JavaScript: an 18-digit
# id would be shown rounded to the nearest 2**k, and a filter on it would match nothing).
SURROGATE_DIGITS = 16
SURROGATE_MIN = 10 ** (SURROGATE_DIGITS - 1)
SURROGATE_END = 2**53
_SURROGATE_SPAN = SURROGATE_END - SURROGATE_MIN
# Identifiers, not origination facts: a surrogate id does not depend on them (they are blank
# in the files that need one, and a url without a loan_id must not change the id).
_IDENTIFIER_FIELDS = frozenset({"id", "member_id", "url"})


def valid_loan_id(text: str) -> bool:
    """ASCII digits only (str.isdigit also takes full-width and superscript digits, which
    no warehouse casts to a number), at most MAX_LOAN_ID_DIGITS of them."""
    return 0 < len(text) <= MAX_LOAN_ID_DIGITS and text.isascii() and text.isdigit()


def is_surrogate_loan_id(loan_id: str) -> bool:
    """Whether a valid loan id is in the surrogate range (a published one is not: at most 9
    digits, or refused by loan_identity)."""
    return len(loan_id) == SURROGATE_DIGITS and SURROGATE_MIN <= int(loan_id) < SURROGATE_END


def loan_identity(id_text: str, url: str) -> str | None:
    """The published loan id: the `id` column, else the loan_id in `url`; None if the row
    has neither (the builder then derives a surrogate id). EventError if `id` is malformed."""
    loan_id = id_text.strip()
    field = "id"
    if not loan_id:
        found = _LOAN_ID_IN_URL.search(url)
        if not found:
            return None
        loan_id, field = found.group(1), "url"
    if not valid_loan_id(loan_id):
        raise EventError(
            field,
            f"{loan_id[:40]!r} is not a numeric loan id (1 to {MAX_LOAN_ID_DIGITS} ASCII digits)",
        )
    if len(loan_id) == SURROGATE_DIGITS and is_surrogate_loan_id(loan_id):
        raise EventError(
            field,
            f"{loan_id!r} is in the range reserved for surrogate ids ({SURROGATE_MIN} to "
            f"{SURROGATE_END - 1}; LendingClub ids have at most 9 digits)",
        )
    return loan_id


def surrogate_loan_id(application: dict[str, str], repeat: int = 0) -> str:
    """The id of a loan whose row has none (the 2018Q4-and-later files leave id, member_id and
    url blank): SURROGATE_MIN plus the first 8 bytes of the SHA-256 of 'lendingclub-surrogate',
    `repeat` and the canonical JSON of its origination fields (`application`, the application
    payload, less id, member_id and url), read as a big-endian number modulo
    SURROGATE_END - SURROGATE_MIN (about 8.0e15).

    So it stays the same when the file is loaded again, re-downloaded with newer payment data,
    re-ordered, or produced onto Kafka instead of loaded; `repeat` tells apart rows of one file
    whose origination fields are all the same (see SurrogateRepeats), which also resolves two
    rows of one file whose ids collide. Loans of different files share an id with probability
    about n1 * n2 / 8.0e15 (3e-5 for two files of 500,000 id-less loans each)."""
    fields = application  # the usual case: the files that need one have no identifier at all
    if not _IDENTIFIER_FIELDS.isdisjoint(application):
        fields = {k: v for k, v in application.items() if k not in _IDENTIFIER_FIELDS}
    digest = hashlib.sha256(f"lendingclub-surrogate|{repeat}|".encode())
    digest.update(canonical_payload(fields))
    return str(SURROGATE_MIN + int.from_bytes(digest.digest()[:8], "big") % _SURROGATE_SPAN)


def canonical_payload(payload: dict[str, Any]) -> bytes:
    """The payload as JSON with its keys sorted: the same for the same values whatever order
    they arrived in (a file's column order, a producer's key order). May raise TypeError
    (nested too deep, a value orjson cannot write)."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def event_id(event_type: str, loan_id: str, occurred_at: str, canonical: bytes) -> str:
    """The event's identity, derived from its content: a UUIDv8 (RFC 9562) of the SHA-256 of
    the type, loan id, `occurred_at` (UTC, 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z') and the
    canonical payload. The same fact gets the same id however often and from wherever it
    arrives (a re-sent message, a re-loaded or re-downloaded file, a replay after the
    broker was recreated), and two different facts never share one: a status change within
    a month, or a corrected event re-sent under the producer's old id, is a new event.

    Built from the hex digest directly: the loader makes two per row, and uuid's object
    overhead was a tenth of the load time. SHA-256 costs what SHA-1 does here (2.6 against
    2.4 us for a 2.7 KB payload, with the CPU's SHA extensions)."""
    return _uuid8(
        hashlib.sha256(f"{event_type}|{loan_id}|{occurred_at}|".encode() + canonical).hexdigest()
    )


def record_id(raw: bytes) -> str:
    """A quarantined record's identity: a UUIDv8 of the SHA-256 of its bytes as they arrived."""
    return _uuid8(hashlib.sha256(raw).hexdigest())


# The variant digit (bits 10xx) a hex digit of the digest becomes.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _uuid8(d: str) -> str:
    """A SHA-256 hex digest as a UUIDv8: version digit 8, variant bits 10."""
    return f"{d[:8]}-{d[8:12]}-8{d[13:16]}-{_VARIANT[d[16]]}{d[17:20]}-{d[20:32]}"


@dataclass(frozen=True, slots=True)
class LoanEvent:
    event_id: str
    event_type: str
    schema_version: int
    occurred_at: str  # UTC, 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z'
    source: str
    loan_id: str
    payload: dict[str, Any]
    payload_json: str  # as it lands in the raw tables

    @classmethod
    def create(
        cls,
        event_type: str,
        loan_id: str,
        occurred_at: str,
        source: str,
        payload: dict[str, Any],
        schema_version: int = SCHEMA_VERSION,
    ) -> LoanEvent:
        """An event of ours: its payload stored in canonical form, its id from its content."""
        canonical = canonical_payload(payload)
        return cls(
            event_id(event_type, loan_id, occurred_at, canonical), event_type, schema_version,
            occurred_at, source, loan_id, payload, canonical.decode(),
        )  # fmt: skip

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "event_id": self.event_id,
                "event_type": self.event_type,
                "schema_version": self.schema_version,
                "occurred_at": self.occurred_at,
                "source": self.source,
                "loan_id": self.loan_id,
                "payload": orjson.Fragment(self.payload_json),
            }
        )


def with_loan_id(event: LoanEvent, loan_id: str) -> LoanEvent:
    """The same event under another loan id (the performance payload carries it as `id`)."""
    payload = dict(event.payload)
    if "id" in payload:
        payload["id"] = loan_id
    return LoanEvent.create(
        event.event_type, loan_id, event.occurred_at, event.source, payload, event.schema_version
    )


class SurrogateRepeats:
    """Rows of one file with the same origination fields (a row repeated, or one loan listed
    twice) would get the same surrogate id and become one loan: taken in file order, the first
    keeps it and each later one gets the id of the next repeat number that no row of the file
    holds yet (surrogate_loan_id(fields, 1), then 2, ...), so loading the file again, or
    producing it, gives every row the same id again. Holds one int per surrogate id seen
    (about 70 bytes each: 35 MB for 500,000 id-less rows)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def first(self, loan_id: str) -> bool:
        """Whether no row so far holds this surrogate id; it is held from now on."""
        key = int(loan_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def resolve(
        self, application: LoanEvent, performance: LoanEvent
    ) -> tuple[LoanEvent, LoanEvent]:
        """A row's two events, renamed if its surrogate id is already held."""
        if not is_surrogate_loan_id(application.loan_id) or self.first(application.loan_id):
            return application, performance
        return self.renamed(application, performance)

    def renamed(
        self, application: LoanEvent, performance: LoanEvent
    ) -> tuple[LoanEvent, LoanEvent]:
        """A repeated row's events under the next free repeat number's id."""
        repeat = 1
        while not self.first(loan_id := surrogate_loan_id(application.payload, repeat)):
            repeat += 1
        return with_loan_id(application, loan_id), with_loan_id(performance, loan_id)


# Older layouts' names for columns LendingClub later renamed: payloads always carry the
# current name (unless the file has a column of that name as well).
COLUMN_ALIASES = {"is_inc_v": "verification_status"}


def normalise_header(header: Sequence[str]) -> list[str]:
    """Column names as the payloads carry them: trimmed, older names made current."""
    names = [name.strip() for name in header]
    present = set(names)
    return [
        alias if (alias := COLUMN_ALIASES.get(n)) is not None and alias not in present else n
        for n in names
    ]


class LoanEventBuilder:
    """Splits export rows (as value lists in `header` order) into their two events, under
    the current column names (normalise_header).

    Empty values are left out of the payload: in the export an empty string means "no value",
    exactly as a missing key does, and leaving them out halves what lands in the raw tables.
    """

    def __init__(self, header: Sequence[str], source: str, latest_year: int) -> None:
        self.header = normalise_header(header)
        self.source = source
        self.latest_year = latest_year
        self._index = {name: i for i, name in enumerate(self.header)}
        self._application = [
            (n, i) for i, n in enumerate(self.header) if n not in PERFORMANCE_FIELDS
        ]
        self._performance = [(n, i) for i, n in enumerate(self.header) if n in PERFORMANCE_FIELDS]

    def _value(self, values: Sequence[str], name: str) -> str:
        index = self._index.get(name)
        return values[index] if index is not None else ""

    def _timestamp(self, values: Sequence[str], name: str) -> str | None:
        try:
            return month_timestamp(self._value(values, name), self.latest_year)
        except ValueError as exc:
            raise EventError(name, str(exc)) from None

    def build(self, values: Sequence[str]) -> tuple[LoanEvent, LoanEvent]:
        """The row's events; a row without a published id gets its surrogate id (repeats
        within a file are the caller's to resolve, in file order: SurrogateRepeats)."""
        application = {n: v for n, i in self._application if (v := values[i])}
        loan_id = loan_identity(
            self._value(values, "id"), self._value(values, "url")
        ) or surrogate_loan_id(application)
        issued_at = self._timestamp(values, "issue_d")
        if issued_at is None:
            raise EventError("issue_d", "empty: an application needs its issue month")
        as_of_at = issued_at
        for name in AS_OF_FIELDS:
            timestamp = self._timestamp(values, name)
            if timestamp is not None and timestamp > as_of_at:
                as_of_at = timestamp
        performance = {n: v for n, i in self._performance if (v := values[i])}
        performance["id"] = loan_id
        performance["as_of_d"] = as_of_at[:10]
        return (
            LoanEvent.create(APPLICATION, loan_id, issued_at, self.source, application),
            LoanEvent.create(PERFORMANCE, loan_id, as_of_at, self.source, performance),
        )
