"""Hand-made files in the layouts LendingClub published, for the reader and loader tests:
a few rows each, written the way the real files write them. No test reads a real export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ingest.synthetic import write_synthetic_csv

PROSPECTUS = "Notes offered by Prospectus (https://www.lendingclub.com/info/prospectus.action)"

# The 2012-2014 browse-notes ("securev1") download: every field quoted, % in rates, ISO dates
# and date-times, is_inc_v, accept_d / exp_d / list_d / addr_city, no zip_code.
BROWSE_NOTES_HEADER = [
    "id", "member_id", "loan_amnt", "funded_amnt", "funded_amnt_inv", "term", "int_rate",
    "installment", "grade", "sub_grade", "emp_title", "emp_length", "home_ownership",
    "annual_inc", "is_inc_v", "accept_d", "exp_d", "list_d", "issue_d", "loan_status",
    "pymnt_plan", "url", "desc", "purpose", "title", "addr_city", "addr_state", "dti",
    "delinq_2yrs", "earliest_cr_line", "fico_range_low", "fico_range_high", "inq_last_6mths",
    "mths_since_last_delinq", "open_acc", "pub_rec", "revol_bal", "revol_util", "total_acc",
    "initial_list_status", "out_prncp", "total_pymnt", "total_rec_prncp", "recoveries",
    "last_pymnt_d", "last_pymnt_amnt", "next_pymnt_d", "last_credit_pull_d", "policy_code",
]  # fmt: skip
BROWSE_NOTES_ROWS = [
    [
        "1077501", "1296599", "5000", "5000", "4975", " 36 months", " 10.65%", "162.87", "B",
        "B2", "", "10+ years", "RENT", "24000", "Verified", "2011-12-01 13:47",
        "2012-01-14 13:47", "2011-12-01 13:47", "2011-12-29", "Fully Paid", "n",
        "https://www.lendingclub.com/browse/loanDetail.action?loan_id=1077501",
        "  Borrower added on 12/22/11 > I need to upgrade my business technologies.<br>",
        "credit_card", "Computer", "Phoenix", "AZ", "27.65", "0", "1985-01-01 05:00", "735",
        "739", "1", "", "3", "0", "13648", "83.7%", "9", "f", "0.00", "5863.16", "5000.00",
        "0.00", "2015-01-15", "171.62", "", "2016-09-07 04:00", "1",
    ],
    [
        "1077430", "1314167", "2500", "2500", "2500", " 60 months", " 15.27%", "59.83", "C",
        "C4", "Ryder", "< 1 year", "RENT", "30000", "Source Verified", "2011-12-22",
        "2012-01-05", "2011-12-22", "2011-12-29", "Issued", "n",
        "https://www.lendingclub.com/browse/loanDetail.action?loan_id=1077430",
        "Plan to use this money\nfor a new bike", "car", "bike", "Atlanta", "GA", "1",
        "0", "2006-05-23 05:00", "740", "744", "5", "", "3", "0", "1687", "9.4%", "4", "f",
        "2500.00", "", "", "", "", "", "", "", "1",
    ],
]  # fmt: skip

# The 74-column loan.csv (2007-2015) that circulates widely: LendingClub names, no %.
LOAN_CSV_HEADER = [
    "id", "member_id", "loan_amnt", "funded_amnt", "funded_amnt_inv", "term", "int_rate",
    "installment", "grade", "sub_grade", "emp_title", "emp_length", "home_ownership",
    "annual_inc", "verification_status", "issue_d", "loan_status", "pymnt_plan", "url", "desc",
    "purpose", "title", "zip_code", "addr_state", "dti", "delinq_2yrs", "earliest_cr_line",
    "inq_last_6mths", "mths_since_last_delinq", "mths_since_last_record", "open_acc", "pub_rec",
    "revol_bal", "revol_util", "total_acc", "initial_list_status", "out_prncp", "out_prncp_inv",
    "total_pymnt", "total_pymnt_inv", "total_rec_prncp", "total_rec_int", "total_rec_late_fee",
    "recoveries", "collection_recovery_fee", "last_pymnt_d", "last_pymnt_amnt", "next_pymnt_d",
    "last_credit_pull_d", "collections_12_mths_ex_med", "mths_since_last_major_derog",
    "policy_code", "application_type", "annual_inc_joint", "dti_joint",
    "verification_status_joint", "acc_now_delinq", "tot_coll_amt", "tot_cur_bal", "open_acc_6m",
    "open_il_6m", "open_il_12m", "open_il_24m", "mths_since_rcnt_il", "total_bal_il", "il_util",
    "open_rv_12m", "open_rv_24m", "max_bal_bc", "all_util", "total_rev_hi_lim", "inq_fi",
    "total_cu_tl", "inq_last_12m",
]  # fmt: skip
LOAN_CSV_ROW = {
    "id": "1077501", "member_id": "1296599", "loan_amnt": "5000.0", "funded_amnt": "5000.0",
    "funded_amnt_inv": "4975.0", "term": " 36 months", "int_rate": "10.65",
    "installment": "162.87", "grade": "B", "sub_grade": "B2", "emp_length": "10+ years",
    "home_ownership": "RENT", "annual_inc": "24000.0", "verification_status": "Verified",
    "issue_d": "Dec-2011", "loan_status": "Fully Paid", "pymnt_plan": "n",
    "url": "https://www.lendingclub.com/browse/loanDetail.action?loan_id=1077501",
    "purpose": "credit_card", "title": "Computer", "zip_code": "860xx", "addr_state": "AZ",
    "dti": "27.65", "delinq_2yrs": "0.0", "earliest_cr_line": "Jan-1985",
    "last_pymnt_d": "Jan-2015", "last_credit_pull_d": "Jan-2016", "policy_code": "1.0",
    "application_type": "INDIVIDUAL", "revol_util": "83.7",
}  # fmt: skip


def quoted_csv(rows: list[list[str]], line_ending: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=line_ending).writerows(rows)
    return out.getvalue()


def write_browse_notes(path: Path) -> Path:
    rows = quoted_csv([BROWSE_NOTES_HEADER, *BROWSE_NOTES_ROWS])
    path.write_text(f"{PROSPECTUS}\n{rows}\nTotal amount funded in policy code 1: 7500\n")
    return path


def write_loan_csv(path: Path, rows: int = 3) -> Path:
    lines = [",".join(LOAN_CSV_HEADER)]
    for n in range(rows):
        row = LOAN_CSV_ROW | {"id": str(1077501 + n), "url": ""}
        lines.append(",".join(row.get(name, "") for name in LOAN_CSV_HEADER))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_without_ids(path: Path, loans: int, seed: int = 5, repeats: int = 2) -> Path:
    """Synthetic loans as the 2018Q4-and-later files write them (id, member_id and url blank
    on every row), with the first row's origination repeated `repeats` more times: once
    unchanged and then with another status, as if listed twice."""
    source = path.with_suffix(".with-ids.csv")
    write_synthetic_csv(source, loans, seed)
    with source.open(newline="") as handle:
        header, *rows = csv.reader(handle)
    blank = [header.index(name) for name in ("id", "member_id", "url")]
    for row in rows:
        for index in blank:
            row[index] = ""
    status = header.index("loan_status")
    extra = [list(rows[0]) for _ in range(repeats)]
    for k, row in enumerate(extra):
        row[status] = "Charged Off" if k % 2 else rows[0][status]
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows, *extra])
    source.unlink()
    return path
