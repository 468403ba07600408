"""Phase three: the export's raw strings, as the real files write them.

Months in their three styles ('Mar-2019', 'Mar-19', '19-Mar', mixed per row), money as
'65000.0', counts as '3.0', rates with and without '%', the odd dti of 999 or above 100, empty
fields where the export leaves them empty, and free text quoted as csv.writer would. The
descriptive fields that do not feed the default risk (employer, state, zip code, bureau
counts, joint applicants, settlements) are drawn here too. Guarantee: the draws follow one
fixed order, after `run_forward`'s, so a seed gives the same bytes; every one of the 151
columns is an array of `str`, one per loan, and `csv_text` reads back through the csv module
as those values. Whole columns are built with numpy and lookup tables: formatting the 70
count columns value by value would cost about 2 s per 100,000 loans (see `tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.events import PERFORMANCE_FIELDS
from ingest.synthetic.originate import Originated, choose
from ingest.synthetic.run_forward import AtExport
from ingest.synthetic.tables import (
    COUNT_TEXT,
    EMP_LENGTHS,
    EMP_TITLES,
    EXPORT_MONTH,
    GRADES,
    LENDINGCLUB_COLUMNS,
    MONTH_BASE,
    MONTH_COUNT,
    MONTH_LONG,
    MONTH_TWO_DIGIT,
    MONTH_YEAR_FIRST,
    STATES,
    SUB_GRADES,
    TITLES,
)

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Styles:
    """The raw formats each row uses, mixed per row as in the real files."""

    dates: np.ndarray  # month_text style
    percent: np.ndarray  # rates and utilisation written with '%'


_FREE_TEXT_COLUMNS = ("emp_title", "desc", "title")
# Always empty here, besides the hardship, second-applicant and performance fields.
_EMPTY_COLUMNS = (
    "deferral_term",
    "payment_plan_start_date",
    "orig_projected_additional_accrued_interest",
)


def counts(values: np.ndarray) -> np.ndarray:
    """Whole numbers as the export writes them ('3.0'), clipped to 0 .. 2000."""
    return COUNT_TEXT[np.clip(values, 0, 2000).astype(np.int64)]


def floats(values: np.ndarray, decimals: int = 2) -> np.ndarray:
    """Rounded to `decimals`, in Python's shortest repr ('12.5', not '12.50')."""
    return np.array(list(map(repr, np.round(values, decimals).tolist())), dtype=object)


def money(values: np.ndarray) -> np.ndarray:
    """Whole dollar amounts as '65000.0'."""
    return np.array([f"{v}.0" for v in np.round(values).astype(np.int64).tolist()], dtype=object)


def blank_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`values` with the masked entries empty."""
    out = values.astype(object, copy=True)
    out[mask] = ""
    return out


def month_text(months: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Months (counted from year 0) in style 0 'Mar-2019', 1 'Mar-19' or 2 '19-Mar'."""
    index = np.clip(months - MONTH_BASE, 0, MONTH_COUNT - 1)
    return np.where(
        style == 0,
        MONTH_LONG[index],
        np.where(style == 1, MONTH_TWO_DIGIT[index], MONTH_YEAR_FIRST[index]),
    )


def csv_quoted(values: np.ndarray) -> np.ndarray:
    """Quote free-text fields the way csv.writer would; other columns never need it."""
    return np.array(
        [
            '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v or "\n" in v) else v
            for v in values.tolist()
        ],
        dtype=object,
    )


def csv_text(columns: Columns) -> str:
    """The chunk's rows in export column order, each ending in a newline."""
    values = [
        (csv_quoted(columns[name]) if name in _FREE_TEXT_COLUMNS else columns[name]).tolist()
        for name in LENDINGCLUB_COLUMNS
    ]
    return "\n".join(map(",".join, zip(*values, strict=True))) + "\n"


def _loan_columns(
    rng: np.random.Generator, loans: Originated, at: AtExport, styles: _Styles, first_id: int
) -> Columns:
    """The loan, the borrower and the listing: id .. addr_state."""
    n = len(loans.issue)
    col: Columns = {}
    col["id"] = np.array([str(i) for i in range(first_id, first_id + n)], dtype=object)
    col["loan_amnt"] = money(loans.amount)
    col["funded_amnt"] = col["loan_amnt"]
    col["funded_amnt_inv"] = col["loan_amnt"]
    col["term"] = np.where(loans.long_term, " 60 months", " 36 months").astype(object)
    rate_text = floats(loans.rate)
    col["int_rate"] = np.where(styles.percent, " " + rate_text + "%", rate_text)
    col["installment"] = floats(loans.installment)
    col["grade"] = GRADES[loans.sub_grade // 5].astype(object)
    col["sub_grade"] = SUB_GRADES[loans.sub_grade].astype(object)
    col["emp_title"] = blank_where(
        rng.choice(np.array(EMP_TITLES, dtype=object), n), rng.random(n) < 0.07
    )
    col["emp_length"] = choose(rng, EMP_LENGTHS, n)
    col["home_ownership"] = loans.homes
    col["annual_inc"] = money(loans.income)
    col["verification_status"] = rng.choice(
        np.array(["Not Verified", "Source Verified", "Verified"], dtype=object),
        n,
        p=[0.32, 0.39, 0.29],
    )
    col["issue_d"] = month_text(loans.issue, styles.dates)
    col["loan_status"] = at.status
    col["url"] = np.array(
        [
            f"https://lendingclub.com/browse/loanDetail.action?loan_id={i}"
            for i in range(first_id, first_id + n)
        ],
        dtype=object,
    )
    col["desc"] = np.where(
        rng.random(n) < 0.01,
        "  Borrower added on 01/02/13 > Consolidating cards,\nthen closing them.<br>",
        "",
    )
    col["purpose"] = loans.purposes
    col["title"] = blank_where(
        np.vectorize(TITLES.get, otypes=[object])(loans.purposes), rng.random(n) < 0.02
    )
    col["zip_code"] = np.array(
        [f"{z:03d}xx" for z in rng.integers(10, 999, n).tolist()], dtype=object
    )
    col["addr_state"] = choose(rng, STATES, n)
    return col


def _dti_text(rng: np.random.Generator, dti: np.ndarray) -> np.ndarray:
    """dti with the real files' oddities: 999, values above 100, and a few empty."""
    n = len(dti)
    text = floats(dti)
    odd = rng.random(n)
    text = np.where(odd < 0.0005, "999", text)
    text = np.where((odd >= 0.0005) & (odd < 0.001), floats(rng.uniform(100, 300, n)), text)
    return blank_where(text, (odd >= 0.001) & (odd < 0.002))


def _credit_file_columns(rng: np.random.Generator, loans: Originated, styles: _Styles) -> Columns:
    """The borrower's credit file at issue: dti .. initial_list_status."""
    n = len(loans.issue)
    col: Columns = {}
    col["dti"] = _dti_text(rng, loans.dti)
    col["delinq_2yrs"] = counts(loans.delinq)
    col["earliest_cr_line"] = month_text(loans.issue - loans.history_months, styles.dates)
    col["fico_range_low"] = counts(loans.fico)
    col["fico_range_high"] = counts(loans.fico + 4)
    col["inq_last_6mths"] = counts(loans.inquiries)
    col["mths_since_last_delinq"] = blank_where(
        counts(rng.integers(0, 120, n)), (loans.delinq == 0) & (rng.random(n) < 0.9)
    )
    col["mths_since_last_record"] = blank_where(counts(rng.integers(0, 120, n)), loans.pub_rec == 0)
    col["open_acc"] = counts(loans.open_acc)
    col["pub_rec"] = counts(loans.pub_rec)
    col["revol_bal"] = money(loans.revol_bal)
    util_text = floats(loans.util, 1)
    col["revol_util"] = blank_where(
        np.where(styles.percent, util_text + "%", util_text), rng.random(n) < 0.0008
    )
    col["total_acc"] = counts(loans.open_acc + rng.poisson(13, n))
    col["initial_list_status"] = rng.choice(np.array(["w", "f"], dtype=object), n, p=[0.6, 0.4])
    return col


def _payment_columns(
    rng: np.random.Generator, loans: Originated, at: AtExport, styles: _Styles
) -> Columns:
    """Payments to the export date and the latest credit pull: out_prncp .. major derogatories."""
    n = len(loans.issue)
    paid = at.payments
    col: Columns = {}
    col["out_prncp"] = floats(paid.out_principal)
    col["out_prncp_inv"] = col["out_prncp"]
    col["total_pymnt"] = floats(paid.total_paid, 6)
    col["total_pymnt_inv"] = floats(paid.total_paid)
    col["total_rec_prncp"] = floats(paid.principal_paid)
    col["total_rec_int"] = floats(paid.interest_paid)
    col["total_rec_late_fee"] = floats(np.where(at.standing.late, 15.0, 0.0))
    col["recoveries"] = floats(paid.recoveries)
    col["collection_recovery_fee"] = floats(paid.recoveries * 0.18)
    col["last_pymnt_d"] = blank_where(
        month_text(paid.last_payment, styles.dates), paid.paid_months == 0
    )
    col["last_pymnt_amnt"] = floats(paid.last_payment_amount)
    col["next_pymnt_d"] = np.where(
        at.standing.active, month_text(np.full(n, EXPORT_MONTH + 1), styles.dates), ""
    )
    col["last_credit_pull_d"] = month_text(EXPORT_MONTH - rng.integers(0, 4, n), styles.dates)
    last_fico = np.clip(
        loans.fico - np.where(at.fate.defaults, 120, 0) + rng.integers(-30, 30, n), 300, 850
    )
    col["last_fico_range_high"] = counts(last_fico // 5 * 5 + 4)
    col["last_fico_range_low"] = counts(last_fico // 5 * 5)
    col["collections_12_mths_ex_med"] = counts(rng.poisson(0.02, n))
    col["mths_since_last_major_derog"] = blank_where(
        counts(rng.integers(0, 150, n)), rng.random(n) < 0.74
    )
    return col


def _joint_columns(
    rng: np.random.Generator, loans: Originated, styles: _Styles, verification: np.ndarray
) -> Columns:
    """Joint applications (from September 2017) and the co-borrower's fields."""
    n = len(loans.issue)
    single = ~((loans.issue >= 2017 * 12 + 9) & (rng.random(n) < 0.08))
    sec_app_first_line = loans.issue - loans.history_months + 24
    return {
        "application_type": np.where(single, "Individual", "Joint App").astype(object),
        "annual_inc_joint": blank_where(money(loans.income * 1.7), single),
        "dti_joint": blank_where(floats(loans.dti * 0.8), single),
        "verification_status_joint": blank_where(verification, single),
        "revol_bal_joint": blank_where(money(loans.revol_bal * 1.8), single),
        "sec_app_fico_range_low": blank_where(counts(loans.fico), single),
        "sec_app_fico_range_high": blank_where(counts(loans.fico + 4), single),
        "sec_app_earliest_cr_line": blank_where(
            month_text(sec_app_first_line, styles.dates), single
        ),
    }


def _settlement_columns(rng: np.random.Generator, at: AtExport, styles: _Styles) -> Columns:
    """Disbursement and the debt settlements of some charged-off loans."""
    n = len(at.status)
    paid = at.payments
    disbursement = np.where(rng.random(n) < 0.05, "DirectPay", "Cash").astype(object)
    settled = at.standing.charged_off & (rng.random(n) < 0.15)
    return {
        "disbursement_method": disbursement,
        "debt_settlement_flag": np.where(settled, "Y", "N").astype(object),
        "debt_settlement_flag_date": blank_where(
            month_text(paid.last_payment + 6, styles.dates), ~settled
        ),
        "settlement_status": np.where(settled, "ACTIVE", "").astype(object),
        "settlement_date": blank_where(month_text(paid.last_payment + 7, styles.dates), ~settled),
        "settlement_amount": blank_where(floats(paid.balance * 0.45), ~settled),
        "settlement_percentage": np.where(settled, "45.0", "").astype(object),
        "settlement_term": np.where(settled, "18.0", "").astype(object),
    }


def _unmodelled_columns(rng: np.random.Generator, issue: np.ndarray, col: Columns) -> Columns:
    """The columns `col` does not hold yet, which the generator does not model.

    Empty where the export leaves them empty, else plausible bureau counts, missing before 2012
    (older loans predate many of these fields).
    """
    n = len(issue)
    empty = np.full(n, "", dtype=object)
    older = issue < 2012 * 12
    rest: Columns = {}
    for name in LENDINGCLUB_COLUMNS:
        if name in col:
            continue
        if (
            name.startswith(("hardship_", "sec_app_"))
            or name in PERFORMANCE_FIELDS
            or name in _EMPTY_COLUMNS
        ):
            rest[name] = empty
        else:
            rest[name] = blank_where(counts(rng.poisson(4.0, n)), older)
    return rest


def export_columns(
    rng: np.random.Generator, loans: Originated, at: AtExport, first_id: int
) -> Columns:
    """All 151 columns as arrays of raw strings, the loans numbered from `first_id`."""
    n = len(loans.issue)
    styles = _Styles(dates=rng.choice(3, size=n, p=[0.9, 0.07, 0.03]), percent=rng.random(n) < 0.1)
    col = _loan_columns(rng, loans, at, styles, first_id)
    col |= _credit_file_columns(rng, loans, styles)
    col |= _payment_columns(rng, loans, at, styles)
    col |= _joint_columns(rng, loans, styles, col["verification_status"])
    col["mort_acc"] = counts(loans.mort_acc)
    col["pub_rec_bankruptcies"] = counts(np.minimum(loans.pub_rec, rng.poisson(0.8, n)))
    col |= _settlement_columns(rng, at, styles)
    col["member_id"] = np.full(n, "", dtype=object)
    col["pymnt_plan"] = np.full(n, "n", dtype=object)
    col["policy_code"] = np.full(n, "1.0", dtype=object)
    col["hardship_flag"] = np.full(n, "N", dtype=object)
    col |= _unmodelled_columns(rng, loans.issue, col)
    return col
