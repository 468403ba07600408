"""A file whose values are shifted against its header (a damaged copy, a header edited by
hand), told apart from rows that are merely bad by its first records, and diagnosed once, in
words a person can act on. Pure: rows of fields in, a diagnosis or None out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from ingest.events import normalise_header, parse_lc_month

# Files whose values are shifted against their header (a damaged copy, a header edited by hand)
# are told apart from rows that are merely bad by the first SNIFF_RECORDS records: if most have
# the same wrong field count, or several columns' values sit the same distance from their
# names, the whole file is refused at once, before anything lands. Row by row, every row would
# land in quarantine (or, when the count still matches, land with its values under the wrong
# names), and nobody acts on a million copies of one reason.
SNIFF_RECORDS = 200
SNIFF_MIN_ROWS = 5
SHIFTED_SHARE = 0.8  # of the sniffed rows, or of a column's values
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?").fullmatch
_RATE = re.compile(r" *[0-9]+(\.[0-9]+)?%?").fullmatch


def _month(value: str) -> bool:
    try:
        return parse_lc_month(value, 9999) is not None
    except ValueError:
        return False


# What values of some columns look like: enough to see where values sit. Sniffing only: the
# payloads keep the raw strings, and dbt parses them.
_SHAPES: dict[str, Callable[[str], object]] = {
    **dict.fromkeys(
        ("loan_amnt", "funded_amnt", "funded_amnt_inv", "installment", "annual_inc", "dti",
         "fico_range_low", "fico_range_high", "revol_bal", "total_pymnt"),
        _NUMBER,
    ),
    **dict.fromkeys(("int_rate", "revol_util"), _RATE),
    **dict.fromkeys(("issue_d", "earliest_cr_line", "last_pymnt_d", "last_credit_pull_d"), _month),
    "term": re.compile(r" *[0-9]+ months").fullmatch,
    "grade": re.compile(r"[A-G]").fullmatch,
    "sub_grade": re.compile(r"[A-G][1-5]").fullmatch,
    "emp_length": re.compile(r"< 1 year|1 year|[0-9]+\+? years|n/a").fullmatch,
    "home_ownership": re.compile(r"RENT|OWN|MORTGAGE|OTHER|NONE|ANY").fullmatch,
    "verification_status": re.compile(r"Verified|Not Verified|Source Verified").fullmatch,
    "loan_status": re.compile(
        r"(Does not meet the credit policy\. Status:)?(Fully Paid|Charged Off|Current|Default"
        r"|Issued|In Grace Period|Late \([0-9]+-[0-9]+ days\))"
    ).fullmatch,
    "pymnt_plan": re.compile(r"[yn]").fullmatch,
    "initial_list_status": re.compile(r"[wf]").fullmatch,
    "addr_state": re.compile(r"[A-Z]{2}").fullmatch,
    "zip_code": re.compile(r"[0-9]{3}xx").fullmatch,
    "url": re.compile(r"https?://[^ ]+").fullmatch,
    "application_type": re.compile(r"Individual|Joint App|INDIVIDUAL|JOINT").fullmatch,
}  # fmt: skip


def _share(rows: list[list[str]], index: int, shape: Callable[[str], object]) -> float | None:
    """The share of the rows' non-empty values at `index` that have the shape; None if too
    few rows have a value there to tell."""
    present = [v for row in rows if index < len(row) and (v := row[index].strip())]
    if len(present) < SNIFF_MIN_ROWS:
        return None
    return sum(1 for v in present if shape(v)) / len(present)


def shift_problem(header: list[str], rows: list[list[str]]) -> str | None:
    """Why the rows' values do not line up with the header, in words a person can act on; None
    if they do (or if too few rows say either way)."""
    width = len(header)
    if len(rows) < SNIFF_MIN_ROWS:
        return None
    extra, count = Counter(len(row) - width for row in rows).most_common(1)[0]
    extra = extra if count >= SHIFTED_SHARE * len(rows) else 0
    names = normalise_header(header)
    placed: list[int] = []
    moved: dict[int, set[int]] = {}  # column -> how far its kind of value sits from it
    for index, name in enumerate(names):
        shape = _SHAPES.get(name)
        own = None if shape is None else _share(rows, index, shape)
        if shape is None or own is None:
            continue
        near = {
            d: share
            for d in (-2, -1, 1, 2)
            if index + d >= 0 and (share := _share(rows, index + d, shape)) is not None
        }
        fits = {d for d, share in near.items() if share >= SHIFTED_SHARE}
        if own >= SHIFTED_SHARE and not fits:
            placed.append(index)
        elif own < 0.5 and fits:
            moved[index] = fits
    # The shift most moved columns agree on (then the field count's, then the shorter).
    support = Counter(d for fits in moved.values() for d in fits)
    shifts = [d for d in support if support[d] >= 2 or d == extra]
    if not shifts and not extra:
        return None
    counted = (
        f"{count} of the first {len(rows)} rows have {width + extra} fields for the header's "
        f"{width} names"
    )
    if not shifts:
        checked = (
            f" (checked up to column {placed[-1] + 1}, {names[placed[-1]]!r})" if placed else ""
        )
        return (
            f"{counted}, though the values line up with their names{checked}: "
            + (
                "the header lacks a name after them, or each row has a value too many at its end"
                if extra > 0
                else "the header names columns after them that the rows do not have"
            )
            + ". Nothing was loaded: fix the header, or export the file again"
        )
    d = max(shifts, key=lambda k: (support[k], k == extra, -abs(k)))
    start = min(index for index, fits in moved.items() if d in fits)
    before = [index for index in placed if index < start]
    where = f"column {start + 1} ({names[start]!r})"
    if before and before[-1] + 1 < start:
        where = f"a column between column {before[-1] + 2} ({names[before[-1] + 1]!r}) and {where}"
    found = next((row[start] for row in rows if start < len(row) and row[start].strip()), "")
    kind = next(
        (row[start + d] for row in rows if start + d < len(row) and row[start + d].strip()), ""
    )
    places = ("one place", "two places")[abs(d) - 1]
    side, fix = (
        ("right", "add the missing name" + ("s" if d > 1 else ""))
        if d > 0
        else ("left", "remove the extra name" + ("s" if d < -1 else ""))
    )
    return (
        f"values are shifted against the header: from {where} on, each value sits {places} to "
        f"the {side} of its column's name ({names[start]!r} holds {found!r} where a value like "
        f"{kind!r} belongs: those sit {places} to the {side})"
        + (f"; {counted}" if extra else "")
        + ". Nothing was loaded: export or download the file again, or, if the rows are right "
        f"and the header is not, {fix} before {names[start]!r} in the header"
    )
