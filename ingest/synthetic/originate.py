"""Phase one: draw the borrower and the loan at issue.

A latent credit quality (standard normal, higher is riskier) drives grade, rate, FICO, income,
dti and the rest of the credit file; with term, purpose and home ownership it sets a lifetime
default probability. Guarantee: `originate` draws from the generator it is given in one fixed
order and nothing else, so a seed gives the same loans; the later phases draw after it from
the same generator. The default score's weights make a logistic regression on origination
fields reach an out-of-time AUC of about 0.72, as on the real exports
(tests/unit/test_synthetic.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ingest.synthetic.tables import FIRST_ISSUE_MONTH, HOME, LAST_ISSUE_MONTH, PURPOSES


@dataclass(frozen=True)
class Originated:
    """One chunk of loans at issue, one array entry per loan (months counted from year 0)."""

    issue: np.ndarray  # issue month
    quality: np.ndarray  # latent credit quality: higher is riskier
    sub_grade: np.ndarray  # 0 (A1) .. 34 (G5)
    rate: np.ndarray  # interest, percent a year
    fico: np.ndarray  # low end of the FICO range, a multiple of 5
    income: np.ndarray  # annual, dollars
    amount: np.ndarray  # principal, dollars, a multiple of 25
    term: np.ndarray  # months: 36 or 60
    installment: np.ndarray  # the level monthly payment that repays `amount` over `term`
    dti: np.ndarray
    util: np.ndarray  # revolving utilisation, percent
    delinq: np.ndarray  # delinquencies in the last two years
    inquiries: np.ndarray  # in the last six months
    history_months: np.ndarray  # from the earliest credit line to issue
    purposes: np.ndarray
    homes: np.ndarray
    open_acc: np.ndarray
    pub_rec: np.ndarray
    revol_bal: np.ndarray
    mort_acc: np.ndarray

    @property
    def long_term(self) -> np.ndarray:
        return self.term == 60


def choose(rng: np.random.Generator, pairs: Sequence[tuple[str, float]], n: int) -> np.ndarray:
    """Draw `n` labels from (label, weight) pairs."""
    labels = np.array([label for label, _ in pairs], dtype=object)
    weights = np.array([weight for _, weight in pairs], dtype=float)
    return rng.choice(labels, size=n, p=weights / weights.sum())


def monthly_installment(amount: np.ndarray, rate: np.ndarray, term: np.ndarray) -> np.ndarray:
    """The level payment that repays `amount` at `rate` percent a year over `term` months."""
    monthly_rate = rate / 1200
    return amount * monthly_rate / (1 - (1 + monthly_rate) ** -term)


def _issue_months(rng: np.random.Generator, n: int) -> np.ndarray:
    """Issue months grow over time, as LendingClub's volume did."""
    span = LAST_ISSUE_MONTH - FIRST_ISSUE_MONTH + 1
    month_weights = np.exp(0.035 * np.arange(span))
    return FIRST_ISSUE_MONTH + rng.choice(span, size=n, p=month_weights / month_weights.sum())


def _pricing(
    rng: np.random.Generator, quality: np.ndarray, issue: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sub-grade, rate (following the grade and the rate cycle) and FICO."""
    n = len(quality)
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
    return sub, rate, fico


def _size(
    rng: np.random.Generator, quality: np.ndarray, sub: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Income, loan amount (larger for larger incomes) and term (longer for larger loans)."""
    n = len(quality)
    income = np.round(np.exp(np.log(66_000) - 0.12 * quality + 0.55 * rng.standard_normal(n)), -2)
    income = np.clip(income, 4_000, 5_000_000)
    amount = np.clip(
        np.exp(np.log(12_500) + 0.55 * rng.standard_normal(n) + 0.1 * np.log(income / 66_000)),
        1_000,
        40_000,
    )
    amount = np.round(amount / 25) * 25
    long_term = rng.random(n) < (0.12 + 0.35 * (amount > 20_000) + 0.05 * (sub > 15))
    return income, amount, np.where(long_term, 60, 36)


def originate(rng: np.random.Generator, n: int) -> Originated:
    """Draw `n` loans at issue."""
    issue = _issue_months(rng, n)
    quality = rng.standard_normal(n)
    sub, rate, fico = _pricing(rng, quality, issue)
    income, amount, term = _size(rng, quality, sub)
    dti = np.maximum(rng.gamma(4.0, 4.4, n) + 2.5 * quality, 0)
    dti = np.where(dti > 49.9, rng.uniform(30, 49.9, n), dti)  # no spike at the cap
    util = np.clip(52 + 9 * quality + 23 * rng.standard_normal(n), 0, 128)
    delinq = rng.poisson(0.28 * np.exp(0.35 * quality))
    inquiries = rng.poisson(0.62 * np.exp(0.3 * quality))
    history_months = np.round((3 + rng.gamma(3.5, 4.2, n)) * 12).astype(np.int64)
    purposes = choose(rng, [(p, w) for p, (w, _) in PURPOSES.items()], n)
    homes = choose(rng, [(h, w) for h, (w, _) in HOME.items()], n)
    open_acc = 1 + rng.poisson(10.5, n)
    pub_rec = rng.poisson(0.2 * np.exp(0.2 * quality))
    revol_bal = np.round(np.exp(np.log(11_000) + 0.9 * rng.standard_normal(n)))
    mort_acc = np.where(homes == "MORTGAGE", 1 + rng.poisson(1.5, n), rng.poisson(0.3, n))
    return Originated(
        issue=issue,
        quality=quality,
        sub_grade=sub,
        rate=rate,
        fico=fico,
        income=income,
        amount=amount,
        term=term,
        installment=monthly_installment(amount, rate, term),
        dti=dti,
        util=util,
        delinq=delinq,
        inquiries=inquiries,
        history_months=history_months,
        purposes=purposes,
        homes=homes,
        open_acc=open_acc,
        pub_rec=pub_rec,
        revol_bal=revol_bal,
        mort_acc=mort_acc,
    )


def lifetime_default_probability(loans: Originated) -> np.ndarray:
    """Each loan's chance of defaulting before its term ends, from what is known at issue."""
    purpose_effect = np.vectorize(lambda p: PURPOSES[p][1], otypes=[float])(loans.purposes)
    home_effect = np.vectorize(lambda h: HOME[h][1], otypes=[float])(loans.homes)
    score = (
        0.62 * loans.quality
        + 0.42 * loans.long_term
        + 0.012 * (loans.dti - 18)
        + 0.004 * (loans.util - 52)
        + 0.10 * np.minimum(loans.delinq, 3)
        + 0.09 * np.minimum(loans.inquiries, 5)
        - 0.22 * np.log(loans.income / 66_000)
        + 0.06 * np.log(loans.amount / 12_500)
        + 0.05 * np.minimum(loans.pub_rec, 3)
        - 0.004 * (loans.fico - 700)
        + purpose_effect
        + home_effect
    )
    return 1 / (1 + np.exp(-(-1.85 + 1.05 * score)))
