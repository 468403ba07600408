"""Phase two: run each loan from its issue month to the export date.

A loan's fate is drawn once: whether it defaults and, if so, the month of its first missed
payment; whether it prepays and when. Where a loan stands after any number of months on book
follows from that fate alone (`standing_after`), and so does its amortised balance
(`amortised_balance`); the export then shows the standing at March 2019 as LendingClub's
status text, with the rare cures, defaults and credit-policy labels of the real files.
Guarantees: nothing happens after the export date (a loan is charged off five months after
its first missed payment only if those months have passed, and pays off only once its payoff
month has come); balances are never negative; `run_forward` draws from the generator in one
fixed order, after `originate`, so a seed gives the same outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.synthetic.originate import Originated, lifetime_default_probability
from ingest.synthetic.tables import EXPORT_MONTH

CHARGE_OFF_AFTER = 5  # months from the first missed payment to the charge-off


@dataclass(frozen=True)
class Fate:
    """What will happen to each loan, in months after issue."""

    defaults: np.ndarray
    default_at: np.ndarray  # the first missed payment, where the loan defaults
    prepays: np.ndarray
    payoff_at: np.ndarray  # the last payment: before the term where the loan prepays


@dataclass(frozen=True)
class Standing:
    """Where each loan stands after `on_book` months."""

    on_book: np.ndarray
    charged_off: np.ndarray
    late: np.ndarray  # defaulted, not yet charged off
    paid_off: np.ndarray
    months_late: np.ndarray  # months since the first missed payment (negative: none missed)

    @property
    def active(self) -> np.ndarray:
        return ~(self.charged_off | self.paid_off)


@dataclass(frozen=True)
class Payments:
    """What each loan has paid by the export date, in dollars (months counted from year 0)."""

    paid_months: np.ndarray  # instalments paid
    balance: np.ndarray  # principal still owed (zero once paid off)
    principal_paid: np.ndarray
    interest_paid: np.ndarray
    recoveries: np.ndarray  # recovered after a charge-off
    out_principal: np.ndarray  # outstanding: the balance of loans still on book
    total_paid: np.ndarray
    last_payment: np.ndarray  # month of the last payment
    last_payment_amount: np.ndarray


@dataclass(frozen=True)
class AtExport:
    """Each loan at the export date: its fate, its standing, its status text, its payments."""

    fate: Fate
    standing: Standing
    status: np.ndarray
    payments: Payments


def draw_fate(rng: np.random.Generator, loans: Originated) -> Fate:
    n = len(loans.issue)
    defaults = rng.random(n) < lifetime_default_probability(loans)
    default_at = np.round(4 + rng.beta(1.6, 2.6, n) * (np.minimum(loans.term, 48) - 4))
    prepays = rng.random(n) < 0.55
    payoff_at = np.where(prepays, np.round(6 + rng.random(n) * (loans.term - 6)), loans.term)
    return Fate(defaults, default_at.astype(np.int64), prepays, payoff_at.astype(np.int64))


def standing_after(fate: Fate, on_book: np.ndarray) -> Standing:
    """The events that have happened by `on_book` months after issue."""
    charged_off = fate.defaults & (fate.default_at + CHARGE_OFF_AFTER <= on_book)
    late = fate.defaults & (fate.default_at <= on_book) & ~charged_off
    paid_off = ~fate.defaults & (fate.payoff_at <= on_book)
    return Standing(on_book, charged_off, late, paid_off, on_book - fate.default_at)


def _status_text(rng: np.random.Generator, issue: np.ndarray, standing: Standing) -> np.ndarray:
    """The export's loan_status, with the few odd statuses of the real files."""
    n = len(issue)
    status = np.full(n, "Current", dtype=object)
    status[standing.paid_off] = "Fully Paid"
    status[standing.charged_off] = "Charged Off"
    late = standing.late
    draw = rng.random(n)
    # The month of the first missed payment ends 1 to 30 days past due: in grace (up to 15
    # days) or late 16-30; each month after it is 31-120 days (until the charge-off).
    status[late & (standing.months_late == 0)] = "In Grace Period"
    status[late & (standing.months_late == 0) & (draw > 0.6)] = "Late (16-30 days)"
    status[late & (standing.months_late >= 1)] = "Late (31-120 days)"
    curing = (status == "Current") & (draw < 0.012)
    status[curing] = "In Grace Period"
    status[standing.charged_off & (rng.random(n) < 0.004)] = "Default"
    policy = (issue < 2010 * 12 + 11) & (rng.random(n) < 0.08)
    for outcome in ("Fully Paid", "Charged Off"):
        status[policy & (status == outcome)] = f"Does not meet the credit policy. Status:{outcome}"
    return status


def amortised_balance(
    principal: np.ndarray, monthly_rate: np.ndarray, payment: np.ndarray, paid: np.ndarray
) -> np.ndarray:
    """Principal left after `paid` level payments (never below zero)."""
    growth = (1 + monthly_rate) ** paid
    return np.maximum(principal * growth - payment * (growth - 1) / monthly_rate, 0.0)


def months_paid(fate: Fate, standing: Standing, term: np.ndarray) -> np.ndarray:
    """Instalments paid: those before the first missed one, up to the payoff, or one a month."""
    paid = np.where(
        standing.charged_off | standing.late,
        np.minimum(fate.default_at - 1, standing.on_book),
        np.where(standing.paid_off, fate.payoff_at, standing.on_book),
    )
    return np.clip(paid, 0, term)


def _payments(
    rng: np.random.Generator, loans: Originated, fate: Fate, standing: Standing
) -> Payments:
    paid_months = months_paid(fate, standing, loans.term)
    amortised = amortised_balance(loans.amount, loans.rate / 1200, loans.installment, paid_months)
    balance = np.where(standing.paid_off, 0.0, amortised)
    principal_paid = loans.amount - balance
    interest_paid = np.maximum(loans.installment * paid_months - (loans.amount - amortised), 0)
    recoveries = np.where(standing.charged_off, balance * rng.uniform(0, 0.15, len(balance)), 0.0)
    return Payments(
        paid_months=paid_months,
        balance=balance,
        principal_paid=principal_paid,
        interest_paid=interest_paid,
        recoveries=recoveries,
        out_principal=np.where(standing.active, balance, 0.0),
        total_paid=principal_paid + interest_paid + recoveries,
        last_payment=loans.issue + np.maximum(paid_months, 1),
        last_payment_amount=np.where(
            standing.paid_off & fate.prepays, balance + loans.installment, loans.installment
        ),
    )


def run_forward(rng: np.random.Generator, loans: Originated) -> AtExport:
    """Each loan's fate, and where it stands at the export date."""
    fate = draw_fate(rng, loans)
    standing = standing_after(fate, EXPORT_MONTH - loans.issue)
    status = _status_text(rng, loans.issue, standing)
    return AtExport(fate, standing, status, _payments(rng, loans, fate, standing))
