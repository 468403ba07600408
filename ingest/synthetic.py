"""Synthetic LendingClub loans: the real export's 151 columns and raw string formats.

The loans are simulated, not sampled: a latent credit quality drives grade, rate, FICO, income,
dti and the other origination fields, and (with term, purpose and the rest) a lifetime default
probability. Each loan then runs from its issue month to the export date (March 2019, as in the
2018Q4 export): it pays off, prepays, charges off, or is still current, in grace or late. So a
model on origination fields can learn the risk (out-of-time AUC about 0.7, as on real data),
recent vintages hold the active loans, and every format quirk of the real files appears.
Everything is vectorised with numpy and deterministic for a seed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ingest.events import PERFORMANCE_FIELDS

LENDINGCLUB_COLUMNS = [
    "id",
    "member_id",
    "loan_amnt",
    "funded_amnt",
    "funded_amnt_inv",
    "term",
    "int_rate",
    "installment",
    "grade",
    "sub_grade",
    "emp_title",
    "emp_length",
    "home_ownership",
    "annual_inc",
    "verification_status",
    "issue_d",
    "loan_status",
    "pymnt_plan",
    "url",
    "desc",
    "purpose",
    "title",
    "zip_code",
    "addr_state",
    "dti",
    "delinq_2yrs",
    "earliest_cr_line",
    "fico_range_low",
    "fico_range_high",
    "inq_last_6mths",
    "mths_since_last_delinq",
    "mths_since_last_record",
    "open_acc",
    "pub_rec",
    "revol_bal",
    "revol_util",
    "total_acc",
    "initial_list_status",
    "out_prncp",
    "out_prncp_inv",
    "total_pymnt",
    "total_pymnt_inv",
    "total_rec_prncp",
    "total_rec_int",
    "total_rec_late_fee",
    "recoveries",
    "collection_recovery_fee",
    "last_pymnt_d",
    "last_pymnt_amnt",
    "next_pymnt_d",
    "last_credit_pull_d",
    "last_fico_range_high",
    "last_fico_range_low",
    "collections_12_mths_ex_med",
    "mths_since_last_major_derog",
    "policy_code",
    "application_type",
    "annual_inc_joint",
    "dti_joint",
    "verification_status_joint",
    "acc_now_delinq",
    "tot_coll_amt",
    "tot_cur_bal",
    "open_acc_6m",
    "open_act_il",
    "open_il_12m",
    "open_il_24m",
    "mths_since_rcnt_il",
    "total_bal_il",
    "il_util",
    "open_rv_12m",
    "open_rv_24m",
    "max_bal_bc",
    "all_util",
    "total_rev_hi_lim",
    "inq_fi",
    "total_cu_tl",
    "inq_last_12m",
    "acc_open_past_24mths",
    "avg_cur_bal",
    "bc_open_to_buy",
    "bc_util",
    "chargeoff_within_12_mths",
    "delinq_amnt",
    "mo_sin_old_il_acct",
    "mo_sin_old_rev_tl_op",
    "mo_sin_rcnt_rev_tl_op",
    "mo_sin_rcnt_tl",
    "mort_acc",
    "mths_since_recent_bc",
    "mths_since_recent_bc_dlq",
    "mths_since_recent_inq",
    "mths_since_recent_revol_delinq",
    "num_accts_ever_120_pd",
    "num_actv_bc_tl",
    "num_actv_rev_tl",
    "num_bc_sats",
    "num_bc_tl",
    "num_il_tl",
    "num_op_rev_tl",
    "num_rev_accts",
    "num_rev_tl_bal_gt_0",
    "num_sats",
    "num_tl_120dpd_2m",
    "num_tl_30dpd",
    "num_tl_90g_dpd_24m",
    "num_tl_op_past_12m",
    "pct_tl_nvr_dlq",
    "percent_bc_gt_75",
    "pub_rec_bankruptcies",
    "tax_liens",
    "tot_hi_cred_lim",
    "total_bal_ex_mort",
    "total_bc_limit",
    "total_il_high_credit_limit",
    "revol_bal_joint",
    "sec_app_fico_range_low",
    "sec_app_fico_range_high",
    "sec_app_earliest_cr_line",
    "sec_app_inq_last_6mths",
    "sec_app_mort_acc",
    "sec_app_open_acc",
    "sec_app_revol_util",
    "sec_app_open_act_il",
    "sec_app_num_rev_accts",
    "sec_app_chargeoff_within_12_mths",
    "sec_app_collections_12_mths_ex_med",
    "sec_app_mths_since_last_major_derog",
    "hardship_flag",
    "hardship_type",
    "hardship_reason",
    "hardship_status",
    "deferral_term",
    "hardship_amount",
    "hardship_start_date",
    "hardship_end_date",
    "payment_plan_start_date",
    "hardship_length",
    "hardship_dpd",
    "hardship_loan_status",
    "orig_projected_additional_accrued_interest",
    "hardship_payoff_balance_amount",
    "hardship_last_payment_amount",
    "disbursement_method",
    "debt_settlement_flag",
    "debt_settlement_flag_date",
    "settlement_status",
    "settlement_date",
    "settlement_amount",
    "settlement_percentage",
    "settlement_term",
]

EXPORT_MONTH = 2019 * 12 + 2  # March 2019, months counted from year 0
FIRST_ISSUE_MONTH = 2009 * 12  # January 2009
LAST_ISSUE_MONTH = 2018 * 12 + 11  # December 2018
CHUNK_ROWS = 100_000
FIRST_LOAN_ID = 1_000_001

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_GRADES = np.array(list("ABCDEFG"))
_SUB_GRADES = np.array([f"{g}{i}" for g in "ABCDEFG" for i in range(1, 6)])
_PURPOSES = {
    "debt_consolidation": (0.57, 0.00),
    "credit_card": (0.22, -0.15),
    "home_improvement": (0.065, -0.05),
    "other": (0.058, 0.10),
    "major_purchase": (0.022, 0.00),
    "medical": (0.012, 0.10),
    "small_business": (0.011, 0.45),
    "car": (0.011, -0.10),
    "vacation": (0.007, 0.05),
    "moving": (0.007, 0.15),
    "house": (0.006, 0.10),
    "wedding": (0.002, -0.05),
    "renewable_energy": (0.001, 0.10),
    "educational": (0.001, 0.05),
}
_TITLES = {
    "debt_consolidation": "Debt consolidation",
    "credit_card": "Credit card refinancing",
    "home_improvement": "Home improvement",
    "other": "Other",
    "major_purchase": "Major purchase",
    "medical": "Medical expenses",
    "small_business": "Business",
    "car": "Car financing",
    "vacation": "Vacation",
    "moving": "Moving and relocation",
    "house": "Home buying",
    "wedding": "Wedding",
    "renewable_energy": "Green loan",
    "educational": "Learning",
}
_HOME = {"MORTGAGE": (0.49, -0.10), "RENT": (0.40, 0.12), "OWN": (0.11, 0.0)}
_EMP_LENGTHS = (
    ("10+ years", 0.33),
    ("< 1 year", 0.08),
    ("1 year", 0.066),
    ("2 years", 0.09),
    ("3 years", 0.08),
    ("4 years", 0.06),
    ("5 years", 0.062),
    ("6 years", 0.046),
    ("7 years", 0.042),
    ("8 years", 0.045),
    ("9 years", 0.038),
    ("", 0.055),
    ("n/a", 0.006),
)
_EMP_TITLES = (
    "Teacher",
    "Manager",
    "Registered Nurse",
    "Owner",
    "Supervisor",
    "Driver",
    "Sales",
    "Project Manager",
    "Office Manager",
    "General Manager",
    "Director",
    "Engineer",
    "Truck Driver",
    "Accountant",
    "Operations Manager",
    "Police Officer",
    "Store Manager",
    "Administrative Assistant",
    "Vice President",
    "Analyst",
    "Manager, Sales",
    'Technician "Level 2"',
    "Software Engineer",
    "Mechanic",
    "Nurse",
)
_STATES = (
    ("CA", 0.14),
    ("TX", 0.08),
    ("NY", 0.08),
    ("FL", 0.07),
    ("IL", 0.04),
    ("NJ", 0.035),
    ("PA", 0.034),
    ("OH", 0.033),
    ("GA", 0.033),
    ("VA", 0.028),
    ("NC", 0.028),
    ("MI", 0.026),
    ("AZ", 0.024),
    ("MD", 0.024),
    ("MA", 0.023),
    ("CO", 0.022),
    ("WA", 0.021),
    ("MN", 0.018),
    ("IN", 0.017),
    ("MO", 0.016),
    ("TN", 0.016),
    ("NV", 0.015),
    ("CT", 0.015),
    ("WI", 0.013),
    ("AL", 0.012),
    ("OR", 0.012),
    ("SC", 0.012),
    ("LA", 0.011),
    ("KY", 0.01),
    ("OK", 0.009),
    ("KS", 0.008),
    ("AR", 0.008),
    ("UT", 0.008),
    ("NM", 0.006),
    ("HI", 0.005),
    ("MS", 0.005),
    ("NH", 0.005),
    ("RI", 0.004),
    ("WV", 0.004),
    ("NE", 0.004),
    ("MT", 0.003),
    ("DE", 0.003),
    ("DC", 0.002),
    ("AK", 0.002),
    ("WY", 0.002),
    ("SD", 0.002),
    ("VT", 0.002),
    ("ME", 0.002),
    ("ID", 0.002),
    ("ND", 0.002),
)

# Months 1900-01 .. 2030-12 rendered in the three date styles seen in real files.
_MONTH_BASE = 1900 * 12
_MONTH_COUNT = 131 * 12
_MONTH_LONG = np.array(
    [f"{_MONTH_NAMES[m % 12]}-{m // 12}" for m in range(_MONTH_BASE, _MONTH_BASE + _MONTH_COUNT)],
    dtype=object,
)
_MONTH_TWO_DIGIT = np.array(
    [
        f"{_MONTH_NAMES[m % 12]}-{m // 12 % 100:02d}"
        for m in range(_MONTH_BASE, _MONTH_BASE + _MONTH_COUNT)
    ],
    dtype=object,
)
_MONTH_YEAR_FIRST = np.array(
    [
        f"{m // 12 % 100:02d}-{_MONTH_NAMES[m % 12]}"
        for m in range(_MONTH_BASE, _MONTH_BASE + _MONTH_COUNT)
    ],
    dtype=object,
)
_COUNT_TEXT = np.array([f"{v}.0" for v in range(0, 2001)], dtype=object)


def _choice(rng: np.random.Generator, pairs, n: int) -> np.ndarray:
    """Draw labels from (label, weight) pairs."""
    labels = np.array([label for label, _ in pairs], dtype=object)
    weights = np.array([weight for _, weight in pairs], dtype=float)
    return rng.choice(labels, size=n, p=weights / weights.sum())


def _counts(values: np.ndarray) -> np.ndarray:
    """Whole numbers as the export writes them ('3.0')."""
    return _COUNT_TEXT[np.clip(values, 0, 2000).astype(np.int64)]


def _floats(values: np.ndarray, decimals: int = 2) -> np.ndarray:
    return np.array(list(map(repr, np.round(values, decimals).tolist())), dtype=object)


def _money(values: np.ndarray) -> np.ndarray:
    """Whole dollar amounts as '65000.0'."""
    return np.array([f"{v}.0" for v in np.round(values).astype(np.int64).tolist()], dtype=object)


def _blank_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = values.astype(object, copy=True)
    out[mask] = ""
    return out


def _month_text(months: np.ndarray, style: np.ndarray) -> np.ndarray:
    index = np.clip(months - _MONTH_BASE, 0, _MONTH_COUNT - 1)
    return np.where(
        style == 0,
        _MONTH_LONG[index],
        np.where(style == 1, _MONTH_TWO_DIGIT[index], _MONTH_YEAR_FIRST[index]),
    )


def _balance_after(principal, monthly_rate, payment, k):
    growth = (1 + monthly_rate) ** k
    return np.maximum(principal * growth - payment * (growth - 1) / monthly_rate, 0.0)


def simulate_chunk(rng: np.random.Generator, n: int, first_id: int) -> dict[str, np.ndarray]:
    """One chunk of loans as export columns (object arrays of raw strings)."""
    col: dict[str, np.ndarray] = {}
    empty = np.full(n, "", dtype=object)

    # Issue months grow over time, as LendingClub's volume did.
    span = LAST_ISSUE_MONTH - FIRST_ISSUE_MONTH + 1
    month_weights = np.exp(0.035 * np.arange(span))
    issue = FIRST_ISSUE_MONTH + rng.choice(span, size=n, p=month_weights / month_weights.sum())
    quality = rng.standard_normal(n)  # latent risk: higher is riskier

    sub = np.clip(np.round(9.0 + 7.0 * (0.8 * quality + 0.6 * rng.standard_normal(n))), 0, 34)
    sub = sub.astype(np.int64)
    rate = np.round(
        5.3 + 0.74 * sub + 0.6 * np.sin((issue - 2012 * 12) / 18) + 0.25 * rng.standard_normal(n), 2
    )
    rate = np.clip(rate, 5.31, 30.99)
    fico = (
        700
        - 18 * (0.7 * quality + 0.7 * rng.standard_normal(n))
        + 14 * np.abs(rng.standard_normal(n))
    )
    fico = np.clip(np.round(fico / 5) * 5, 660, 845).astype(np.int64)
    income = np.round(np.exp(np.log(66_000) - 0.12 * quality + 0.55 * rng.standard_normal(n)), -2)
    income = np.clip(income, 4_000, 5_000_000)
    amount = np.clip(
        np.exp(np.log(12_500) + 0.55 * rng.standard_normal(n) + 0.1 * np.log(income / 66_000)),
        1_000,
        40_000,
    )
    amount = np.round(amount / 25) * 25
    long_term = rng.random(n) < (0.12 + 0.35 * (amount > 20_000) + 0.05 * (sub > 15))
    term = np.where(long_term, 60, 36)
    dti = np.maximum(rng.gamma(4.0, 4.4, n) + 2.5 * quality, 0)
    dti = np.where(dti > 49.9, rng.uniform(30, 49.9, n), dti)  # no spike at the cap
    util = np.clip(52 + 9 * quality + 23 * rng.standard_normal(n), 0, 128)
    delinq = rng.poisson(0.28 * np.exp(0.35 * quality))
    inquiries = rng.poisson(0.62 * np.exp(0.3 * quality))
    history_months = np.round((3 + rng.gamma(3.5, 4.2, n)) * 12).astype(np.int64)
    purposes = _choice(rng, [(p, w) for p, (w, _) in _PURPOSES.items()], n)
    purpose_effect = np.vectorize(lambda p: _PURPOSES[p][1], otypes=[float])(purposes)
    homes = _choice(rng, [(h, w) for h, (w, _) in _HOME.items()], n)
    home_effect = np.vectorize(lambda h: _HOME[h][1], otypes=[float])(homes)
    open_acc = 1 + rng.poisson(10.5, n)
    pub_rec = rng.poisson(0.2 * np.exp(0.2 * quality))
    revol_bal = np.round(np.exp(np.log(11_000) + 0.9 * rng.standard_normal(n)))
    mort_acc = np.where(homes == "MORTGAGE", 1 + rng.poisson(1.5, n), rng.poisson(0.3, n))

    # Lifetime default probability from what is known at origination.
    score = (
        0.62 * quality
        + 0.42 * long_term
        + 0.012 * (dti - 18)
        + 0.004 * (util - 52)
        + 0.10 * np.minimum(delinq, 3)
        + 0.09 * np.minimum(inquiries, 5)
        - 0.22 * np.log(income / 66_000)
        + 0.06 * np.log(amount / 12_500)
        + 0.05 * np.minimum(pub_rec, 3)
        - 0.004 * (fico - 700)
        + purpose_effect
        + home_effect
    )
    lifetime_pd = 1 / (1 + np.exp(-(-1.85 + 1.05 * score)))
    defaults = rng.random(n) < lifetime_pd

    # Run each loan forward to the export month.
    on_book = EXPORT_MONTH - issue
    default_at = np.round(4 + rng.beta(1.6, 2.6, n) * (np.minimum(term, 48) - 4)).astype(np.int64)
    prepays = rng.random(n) < 0.55
    payoff_at = np.where(prepays, np.round(6 + rng.random(n) * (term - 6)), term).astype(np.int64)
    charged_off = defaults & (default_at + 5 <= on_book)
    late_now = defaults & (default_at <= on_book) & ~charged_off
    paid_off = ~defaults & (payoff_at <= on_book)
    status = np.full(n, "Current", dtype=object)
    status[paid_off] = "Fully Paid"
    status[charged_off] = "Charged Off"
    months_late = on_book - default_at
    status[late_now & (months_late == 0)] = "In Grace Period"
    status[late_now & (months_late == 1)] = "Late (16-30 days)"
    status[late_now & (months_late >= 2)] = "Late (31-120 days)"
    curing = (status == "Current") & (rng.random(n) < 0.012)
    status[curing] = "In Grace Period"
    status[charged_off & (rng.random(n) < 0.004)] = "Default"
    policy = (issue < 2010 * 12 + 11) & (rng.random(n) < 0.08)
    for outcome in ("Fully Paid", "Charged Off"):
        status[policy & (status == outcome)] = f"Does not meet the credit policy. Status:{outcome}"

    monthly_rate = rate / 1200
    installment = amount * monthly_rate / (1 - (1 + monthly_rate) ** -term)
    paid_months = np.where(
        charged_off | late_now,
        np.minimum(default_at, on_book),
        np.where(paid_off, payoff_at, on_book),
    )
    paid_months = np.clip(paid_months, 0, term)
    balance = _balance_after(amount, monthly_rate, installment, paid_months)
    balance = np.where(paid_off, 0.0, balance)
    principal_paid = amount - balance
    interest_paid = np.maximum(
        installment * paid_months
        - (amount - _balance_after(amount, monthly_rate, installment, paid_months)),
        0,
    )
    recoveries = np.where(charged_off, balance * rng.uniform(0, 0.15, n), 0.0)
    out_principal = np.where(charged_off | paid_off, 0.0, balance)
    total_paid = principal_paid + interest_paid + recoveries
    last_payment = issue + np.maximum(paid_months, 1)
    last_payment_amount = np.where(paid_off & prepays, balance + installment, installment)

    # Raw formats, chosen per row as the real files mix them.
    date_style = rng.choice(3, size=n, p=[0.9, 0.07, 0.03])
    percent_style = rng.random(n) < 0.1

    col["id"] = np.array([str(i) for i in range(first_id, first_id + n)], dtype=object)
    col["member_id"] = empty
    col["loan_amnt"] = _money(amount)
    col["funded_amnt"] = col["loan_amnt"]
    col["funded_amnt_inv"] = col["loan_amnt"]
    col["term"] = np.where(long_term, " 60 months", " 36 months").astype(object)
    rate_text = _floats(rate)
    col["int_rate"] = np.where(percent_style, " " + rate_text + "%", rate_text)
    col["installment"] = _floats(installment)
    col["grade"] = _GRADES[sub // 5].astype(object)
    col["sub_grade"] = _SUB_GRADES[sub].astype(object)
    col["emp_title"] = _blank_where(
        rng.choice(np.array(_EMP_TITLES, dtype=object), n), rng.random(n) < 0.07
    )
    col["emp_length"] = _choice(rng, _EMP_LENGTHS, n)
    col["home_ownership"] = homes
    col["annual_inc"] = _money(income)
    col["verification_status"] = rng.choice(
        np.array(["Not Verified", "Source Verified", "Verified"], dtype=object),
        n,
        p=[0.32, 0.39, 0.29],
    )
    col["issue_d"] = _month_text(issue, date_style)
    col["loan_status"] = status
    col["pymnt_plan"] = np.full(n, "n", dtype=object)
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
    col["purpose"] = purposes
    col["title"] = _blank_where(
        np.vectorize(_TITLES.get, otypes=[object])(purposes), rng.random(n) < 0.02
    )
    col["zip_code"] = np.array(
        [f"{z:03d}xx" for z in rng.integers(10, 999, n).tolist()], dtype=object
    )
    col["addr_state"] = _choice(rng, _STATES, n)
    dti_text = _floats(dti)
    odd = rng.random(n)
    dti_text = np.where(odd < 0.0005, "999", dti_text)
    dti_text = np.where(
        (odd >= 0.0005) & (odd < 0.001), _floats(rng.uniform(100, 300, n)), dti_text
    )
    col["dti"] = _blank_where(dti_text, (odd >= 0.001) & (odd < 0.002))
    col["delinq_2yrs"] = _counts(delinq)
    col["earliest_cr_line"] = _month_text(issue - history_months, date_style)
    col["fico_range_low"] = _counts(fico)
    col["fico_range_high"] = _counts(fico + 4)
    col["inq_last_6mths"] = _counts(inquiries)
    col["mths_since_last_delinq"] = _blank_where(
        _counts(rng.integers(0, 120, n)), (delinq == 0) & (rng.random(n) < 0.9)
    )
    col["mths_since_last_record"] = _blank_where(_counts(rng.integers(0, 120, n)), pub_rec == 0)
    col["open_acc"] = _counts(open_acc)
    col["pub_rec"] = _counts(pub_rec)
    col["revol_bal"] = _money(revol_bal)
    util_text = _floats(util, 1)
    col["revol_util"] = _blank_where(
        np.where(percent_style, util_text + "%", util_text), rng.random(n) < 0.0008
    )
    col["total_acc"] = _counts(open_acc + rng.poisson(13, n))
    col["initial_list_status"] = rng.choice(np.array(["w", "f"], dtype=object), n, p=[0.6, 0.4])
    col["out_prncp"] = _floats(out_principal)
    col["out_prncp_inv"] = col["out_prncp"]
    col["total_pymnt"] = _floats(total_paid, 6)
    col["total_pymnt_inv"] = _floats(total_paid)
    col["total_rec_prncp"] = _floats(principal_paid)
    col["total_rec_int"] = _floats(interest_paid)
    col["total_rec_late_fee"] = _floats(np.where(late_now, 15.0, 0.0))
    col["recoveries"] = _floats(recoveries)
    col["collection_recovery_fee"] = _floats(recoveries * 0.18)
    col["last_pymnt_d"] = _blank_where(_month_text(last_payment, date_style), paid_months == 0)
    col["last_pymnt_amnt"] = _floats(last_payment_amount)
    active = ~(charged_off | paid_off)
    col["next_pymnt_d"] = np.where(
        active, _month_text(np.full(n, EXPORT_MONTH + 1), date_style), ""
    )
    col["last_credit_pull_d"] = _month_text(EXPORT_MONTH - rng.integers(0, 4, n), date_style)
    last_fico = np.clip(fico - np.where(defaults, 120, 0) + rng.integers(-30, 30, n), 300, 850)
    col["last_fico_range_high"] = _counts(last_fico // 5 * 5 + 4)
    col["last_fico_range_low"] = _counts(last_fico // 5 * 5)
    col["collections_12_mths_ex_med"] = _counts(rng.poisson(0.02, n))
    col["mths_since_last_major_derog"] = _blank_where(
        _counts(rng.integers(0, 150, n)), rng.random(n) < 0.74
    )
    col["policy_code"] = np.full(n, "1.0", dtype=object)
    joint = (issue >= 2017 * 12 + 9) & (rng.random(n) < 0.08)
    col["application_type"] = np.where(joint, "Joint App", "Individual").astype(object)
    col["annual_inc_joint"] = _blank_where(_money(income * 1.7), ~joint)
    col["dti_joint"] = _blank_where(_floats(dti * 0.8), ~joint)
    col["verification_status_joint"] = _blank_where(col["verification_status"], ~joint)
    col["mort_acc"] = _counts(mort_acc)
    col["pub_rec_bankruptcies"] = _counts(np.minimum(pub_rec, rng.poisson(0.8, n)))
    col["revol_bal_joint"] = _blank_where(_money(revol_bal * 1.8), ~joint)
    col["sec_app_fico_range_low"] = _blank_where(_counts(fico), ~joint)
    col["sec_app_fico_range_high"] = _blank_where(_counts(fico + 4), ~joint)
    col["sec_app_earliest_cr_line"] = _blank_where(
        _month_text(issue - history_months + 24, date_style), ~joint
    )
    col["hardship_flag"] = np.full(n, "N", dtype=object)
    col["disbursement_method"] = np.where(rng.random(n) < 0.05, "DirectPay", "Cash").astype(object)
    settled = charged_off & (rng.random(n) < 0.15)
    col["debt_settlement_flag"] = np.where(settled, "Y", "N").astype(object)
    col["debt_settlement_flag_date"] = _blank_where(
        _month_text(last_payment + 6, date_style), ~settled
    )
    col["settlement_status"] = np.where(settled, "ACTIVE", "").astype(object)
    col["settlement_date"] = _blank_where(_month_text(last_payment + 7, date_style), ~settled)
    col["settlement_amount"] = _blank_where(_floats(balance * 0.45), ~settled)
    col["settlement_percentage"] = np.where(settled, "45.0", "").astype(object)
    col["settlement_term"] = np.where(settled, "18.0", "").astype(object)

    # Bureau attributes the product does not model: plausible counts, missing where the
    # export leaves them empty (older loans predate many of these fields).
    older = issue < 2012 * 12
    for name in LENDINGCLUB_COLUMNS:
        if name in col:
            continue
        if (
            name.startswith(("hardship_", "sec_app_"))
            or name in PERFORMANCE_FIELDS
            or name
            in (
                "deferral_term",
                "payment_plan_start_date",
                "orig_projected_additional_accrued_interest",
            )
        ):
            col[name] = empty
        else:
            col[name] = _blank_where(_counts(rng.poisson(4.0, n)), older)
    return col


_FREE_TEXT_COLUMNS = ("emp_title", "desc", "title")


def _csv_quoted(values: np.ndarray) -> np.ndarray:
    """Quote free-text fields the way csv.writer would; other columns never need it."""
    return np.array(
        [
            '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v or "\n" in v) else v
            for v in values.tolist()
        ],
        dtype=object,
    )


def _chunk_text(job: tuple[np.random.SeedSequence, int, int]) -> str:
    chunk_seed, first_row, n = job
    chunk = simulate_chunk(np.random.default_rng(chunk_seed), n, FIRST_LOAN_ID + first_row)
    for name in _FREE_TEXT_COLUMNS:
        chunk[name] = _csv_quoted(chunk[name])
    columns = [chunk[name].tolist() for name in LENDINGCLUB_COLUMNS]
    return "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"


def generate_lines(count: int, seed: int, workers: int | None = None) -> Iterator[str]:
    """CSV text in export column order, a chunk at a time; the same seed gives the same text.

    Each chunk has its own seed, so chunks are built in parallel processes (one per core)
    without changing the output.
    """
    chunks = (count + CHUNK_ROWS - 1) // CHUNK_ROWS
    seeds = np.random.SeedSequence(seed).spawn(chunks)
    jobs = [
        (s, i * CHUNK_ROWS, min(CHUNK_ROWS, count - i * CHUNK_ROWS)) for i, s in enumerate(seeds)
    ]
    workers = min(workers or os.cpu_count() or 1, chunks)
    if workers <= 1:
        yield from map(_chunk_text, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(_chunk_text, jobs)


def write_synthetic_csv(path: str | Path, count: int, seed: int) -> int:
    """Write `count` loans as a LendingClub export; returns the number of rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(",".join(LENDINGCLUB_COLUMNS) + "\n")
        for text in generate_lines(count, seed):
            handle.write(text)
    return count
