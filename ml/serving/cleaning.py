"""A raw LendingClub application (the export's field names and string formats) to the cleaned
values staging gives it: the Python twin of dbt's parsers, for deciding on arrival.

Each parser here is the rule of the dbt macro it names (dbt_project/macros/
lendingclub_parsing.sql), applied to the field list of `application_fields()`
(dbt_project/macros/staging_fields.sql): the same patterns with the same bounds, `trim` of
spaces only (as both engines' `trim`), counts rounded half to even (both engines' cast of a
double to an integer). tests/integration/test_cleaning_agreement.py lands generated and real-
format values, builds staging, and holds the two row for row; a change to one side fails it.
Nothing here raises on any text: an unreadable value is None, and its field is named in
`unparseable` (the staging model's `<field>_unparseable` flags).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ingest.events import EARLIEST_YEAR, LATEST_YEAR, parse_lc_month

_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,12})?")
_TERM = re.compile(r"[0-9]{1,3} months")
_EMP_LENGTH = re.compile(r"[0-9]{1,2}\+? years?")
_LOAN_ID = re.compile(r"[0-9]{1,18}")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


TOO_DEEP = "<JSON nested too deep to read>"


def text(value: Any) -> str | None:
    """A payload value as the text staging reads (JSON's own text for a number). A value
    nested deeper than the standard library writes (a thousand levels) reads as a text no
    parser accepts, never an error."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except RecursionError:
        return TOO_DEEP


def _trim(value: str) -> str:
    return value.strip(" ")


def lc_number(value: str | None) -> float | None:
    if value is None:
        return None
    cleaned = _trim(value).replace("%", "")  # replace(trim(x), '%', '')
    return float(cleaned) if _NUMBER.fullmatch(cleaned) else None


def lc_integer(value: str | None) -> int | None:
    number = lc_number(value)
    if number is None or not INT_MIN <= number <= INT_MAX:
        return None
    return round(number)  # half to even, as a cast from double on both engines


def lc_term_months(value: str | None) -> int | None:
    if value is None or not _TERM.fullmatch(_trim(value)):
        return None
    return int(_trim(value).split(" ")[0])


def lc_emp_length_years(value: str | None) -> int | None:
    if value is None:
        return None
    trimmed = _trim(value)
    if trimmed == "< 1 year":
        return 0
    if not _EMP_LENGTH.fullmatch(trimmed):
        return None
    return int(trimmed.split(" ")[0].replace("+", ""))


def lc_month_date(value: str | None, latest_year: int | None) -> date | None:
    """The month a date names (ingest.events.parse_lc_month), within the years the decoder
    accepts; None for anything else, or when there is no year to bound a two-digit one."""
    if value is None or latest_year is None:
        return None
    try:
        month = parse_lc_month(_trim(value), latest_year)
    except ValueError:
        return None
    if month is None or not EARLIEST_YEAR <= month.year <= LATEST_YEAR:
        return None
    return month


def lc_loan_id(value: str | None) -> int | None:
    return int(value) if value is not None and _LOAN_ID.fullmatch(value) else None


@dataclass(frozen=True)
class Field:
    """One entry of dbt's application_fields(): payload key, typed column, parser, flag."""

    key: str
    parser: Callable[[str | None], Any] | None  # None: a month, parsed with its year bound
    column: str = ""
    flag: str | None = "default"

    @property
    def name(self) -> str:
        return self.column or self.key

    @property
    def flag_name(self) -> str | None:
        return f"{self.key}_unparseable" if self.flag == "default" else self.flag


APPLICATION_FIELDS = (
    Field("loan_amnt", lc_number),
    Field("funded_amnt", lc_number),
    Field("term", lc_term_months, "term_months"),
    Field("int_rate", lc_number),
    Field("installment", lc_number),
    Field("emp_length", lc_emp_length_years, "emp_length_years"),
    Field("annual_inc", lc_number),
    Field("issue_d", None, "issue_date", "issue_date_unparseable"),
    Field("dti", lc_number, "dti_reported", None),
    Field("delinq_2yrs", lc_integer),
    Field("earliest_cr_line", None, "earliest_cr_line_date"),
    Field("fico_range_low", lc_integer),
    Field("fico_range_high", lc_integer),
    Field("inq_last_6mths", lc_integer),
    Field("mths_since_last_delinq", lc_integer),
    Field("open_acc", lc_integer),
    Field("pub_rec", lc_integer),
    Field("revol_bal", lc_number),
    Field("revol_util", lc_number),
    Field("total_acc", lc_integer),
    Field("mort_acc", lc_integer),
    Field("pub_rec_bankruptcies", lc_integer),
)
TEXT_FIELDS = (
    "grade", "sub_grade", "emp_title", "home_ownership", "verification_status", "purpose",
    "title", "zip_code", "addr_state", "application_type",
)  # fmt: skip
# Texts that mean "no value" for a field besides the empty string (field_missing_texts).
MISSING_TEXTS = {"emp_length": ("n/a",)}
# The list as plain tuples, read once per application.
_STEPS = tuple((f, f.key, f.parser, f.name, f.flag_name) for f in APPLICATION_FIELDS)


@dataclass(frozen=True)
class CleanApplication:
    """The cleaned values (fct_loans' names and meanings) and the fields that did not parse."""

    values: dict[str, Any]
    unparseable: tuple[str, ...]


def _flagged(field: Field, raw: str | None, parsed: Any) -> bool:
    if parsed is not None or raw is None or _trim(raw) == "":
        return False
    return _trim(raw).lower() not in MISSING_TEXTS.get(field.key, ())


def clean_application(
    payload: Mapping[str, Any], landed_year: int, dti_max_valid: float
) -> CleanApplication:
    """Staging's columns for one application. `landed_year` bounds two-digit years as the
    landing's year does in staging (an application scored on arrival lands now)."""
    raw: dict[str, str | None] = {}
    values: dict[str, Any] = {}
    flags: list[str] = []
    for field, key, parser, name, flag in _STEPS:
        raw[key] = value = text(payload.get(key))
        if parser is not None:
            parsed = parser(value)
        elif key == "issue_d":
            parsed = lc_month_date(value, landed_year)
        else:  # a credit line's two-digit year is bounded by the loan's own issue year
            issue = values["issue_date"]
            parsed = lc_month_date(value, issue.year if issue else landed_year)
        values[name] = parsed
        if flag and parsed is None and value and _flagged(field, value, parsed):
            flags.append(flag)
    for key in TEXT_FIELDS:
        values[key] = text(payload.get(key))
    reported = values.pop("dti_reported")
    values["dti"] = reported if reported is not None and 0 <= reported <= dti_max_valid else None
    values["dti_quality_flag"] = _dti_quality(raw["dti"], reported, dti_max_valid)
    values["credit_history_years"] = _credit_history_years(
        values["earliest_cr_line_date"], values["issue_date"]
    )
    return CleanApplication(values, tuple(flags))


def _dti_quality(raw: str | None, reported: float | None, dti_max_valid: float) -> str | None:
    if raw is None or _trim(raw) == "":
        return "missing"
    if reported is None:
        return "unparseable"
    if reported == 999:
        return "sentinel_999"
    if reported > dti_max_valid:
        return "above_max"
    if reported < 0:
        return "negative"
    return None


def _credit_history_years(earliest: date | None, issued: date | None) -> float | None:
    """Whole months from the first credit line to issue, in years (int_loans__rule_banded)."""
    if earliest is None or issued is None:
        return None
    return ((issued.year - earliest.year) * 12 + issued.month - earliest.month) / 12.0
