"""Phase four (on request): each loan's monthly payment history, in LendingClub's PMTHIST layout.

Built from the same loans and fates as the export rows, so the two agree (tests/unit/
test_synthetic_history.py): a loan's history runs from its first month after issue (MOB 1) to
the month it left the book (paid off, charged off) or to the export month; each month's
status is `run_forward.standing_after` that month, and the last month's is the export's
status (credit-policy prefix dropped: the history files do not write it). Balances amortise
by the instalments paid; a delinquent month receives nothing; the charge-off comes
CHARGE_OFF_AFTER months after the first missed payment, the balance then written off (`CO`,
`COAMT`); a share of the loans that never default miss one to three payments and catch up
(a cure); prepayments pay the balance off early. Months are written like 'Jan2016'.

Guarantee: the same loans and generator give the same rows; the history draws from its own
generator (spawned from the chunk's seed), so asking for it leaves the export's bytes as they
were. Vectorised over all loan-months of a chunk and written by Arrow's CSV writer: Python's
csv module would cost about 4 us a row, over the 5 us a row the whole phase may take for
200,000 loan-months a second.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from ingest.synthetic.originate import Originated
from ingest.synthetic.run_forward import CHARGE_OFF_AFTER, AtExport, amortised_balance
from ingest.synthetic.tables import EXPORT_MONTH, GRADES, MONTH_BASE, MONTH_COUNT, MONTH_NAMES

HISTORY_COLUMNS = (
    "LOAN_ID", "MONTH", "MOB", "IssuedDate", "VINTAGE", "term", "grade", "InterestRate",
    "MONTHLYCONTRACTAMT", "PBAL_BEG_PERIOD", "DUE_AMT", "RECEIVED_AMT", "RECEIVED_D",
    "PRNCP_PAID", "INT_PAID", "FEE_PAID", "PERIOD_END_LSTAT", "PBAL_END_PERIOD", "CO", "COAMT",
)  # fmt: skip
STATUSES = (
    "Current", "In Grace Period", "Late (16-30 days)", "Late (31-120 days)", "Charged Off",
    "Fully Paid", "Default",
)  # fmt: skip
CURRENT, GRACE, _LATE_16_30, LATE_31_120, CHARGED_OFF, FULLY_PAID = range(6)
_POLICY_PREFIX = "Does not meet the credit policy. Status:"
# A loan that never defaults may miss one to three payments and then catch up (a cure): the
# spell starts in any month from the second with this chance (its first only), so cures are
# spread over the book's months as its loans are, not bunched at its edges.
CURE_HAZARD = 0.004
CURE_MONTHS = (1, 2, 3)  # how many payments such a spell misses
CURE_MONTH_SHARES = (0.6, 0.3, 0.1)

_MONTHS = pa.array(
    [f"{MONTH_NAMES[m % 12]}{m // 12}" for m in range(MONTH_BASE, MONTH_BASE + MONTH_COUNT)]
)
_VINTAGES = pa.array(
    [f"{m // 12 % 100:02d}Q{m % 12 // 3 + 1}" for m in range(MONTH_BASE, MONTH_BASE + MONTH_COUNT)]
)
_WRITE = pa_csv.WriteOptions(include_header=False, quoting_style="none")


def _text(table: pa.Array, index: np.ndarray) -> pa.Array:
    """Strings looked up by index, in Arrow (no Python object per row)."""
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), table).cast(pa.string())


def _month_text(months: np.ndarray) -> pa.Array:
    return _text(_MONTHS, np.clip(months - MONTH_BASE, 0, MONTH_COUNT - 1))


def _export_codes(status: np.ndarray) -> np.ndarray:
    """The export's status of each loan as an index into STATUSES."""
    codes = {text: i for i, text in enumerate(STATUSES)}
    return np.array([codes[s.removeprefix(_POLICY_PREFIX)] for s in status.tolist()])


def history_table(
    rng: np.random.Generator, loans: Originated, at: AtExport, first_id: int
) -> pa.Table:
    """Every loan-month of the chunk, the loans numbered from `first_id` as in the export."""
    n = len(loans.issue)
    fate, standing = at.fate, at.standing
    last = np.where(
        standing.charged_off,
        fate.default_at + CHARGE_OFF_AFTER,
        np.where(standing.paid_off, fate.payoff_at, EXPORT_MONTH - loans.issue),
    ).clip(0)
    spell = rng.choice(np.array(CURE_MONTHS), n, p=CURE_MONTH_SHARES)
    spell_start = 1 + rng.geometric(CURE_HAZARD, n)
    cures = ~fate.defaults & (spell_start + spell <= last)

    # One entry per loan-month: the loan's index and its months on book k = 1 .. last.
    ends = np.cumsum(last)
    loan = np.repeat(np.arange(n), last)
    k = np.arange(len(loan)) - np.repeat(ends - last, last) + 1
    first_row = k == 1

    defaults = fate.defaults[loan]
    in_spell = cures[loan] & (k >= spell_start[loan]) & (k < spell_start[loan] + spell[loan])
    months_late = np.where(
        defaults, k - fate.default_at[loan], np.where(in_spell, k - spell_start[loan], -1)
    )
    code = np.full(len(loan), CURRENT)
    code[months_late == 0] = GRACE
    code[months_late >= 1] = LATE_31_120
    code[defaults & (months_late >= CHARGE_OFF_AFTER)] = CHARGED_OFF
    code[~defaults & (k >= fate.payoff_at[loan])] = FULLY_PAID
    code[ends[last > 0] - 1] = _export_codes(at.status)[last > 0]
    charged_off = code == CHARGED_OFF

    # Instalments paid by each month's end: one a month, none from the first missed one of a
    # default, none during a cure's spell (caught up the month it ends).
    term = loans.term[loan]
    paid = np.minimum(k, term)
    paid = np.where(defaults, np.minimum(paid, fate.default_at[loan] - 1), paid)
    paid = np.where(in_spell, spell_start[loan] - 1, paid)
    paid_before = np.concatenate(([0], paid[:-1]))
    paid_before[first_row] = 0

    amount, installment = loans.amount[loan], loans.installment[loan]
    monthly_rate = loans.rate[loan] / 1200
    begin = amortised_balance(amount, monthly_rate, installment, paid_before)
    paid_off = code == FULLY_PAID
    end = np.where(
        paid_off | charged_off, 0.0, amortised_balance(amount, monthly_rate, installment, paid)
    )
    received = np.where(paid_off, begin * (1 + monthly_rate), (paid - paid_before) * installment)
    received[charged_off] = 0.0
    principal = np.where(charged_off, 0.0, begin - end)
    interest = np.maximum(received - principal, 0.0)
    month = loans.issue[loan] + k

    columns = {
        "LOAN_ID": pa.array(first_id + loan),
        "MONTH": _month_text(month),
        "MOB": pa.array(k),
        "IssuedDate": _month_text(loans.issue[loan]),
        "VINTAGE": _text(_VINTAGES, loans.issue[loan] - MONTH_BASE),
        "term": pa.array(term),
        "grade": _text(pa.array(GRADES.tolist()), loans.sub_grade[loan] // 5),
        "InterestRate": pa.array(np.round(loans.rate[loan] / 100, 4)),
        "MONTHLYCONTRACTAMT": pa.array(np.round(installment, 2)),
        "PBAL_BEG_PERIOD": pa.array(np.round(begin, 2)),
        "DUE_AMT": pa.array(np.where(charged_off, 0.0, np.round(installment, 2))),
        "RECEIVED_AMT": pa.array(np.round(received, 2)),
        "RECEIVED_D": _received_month(month, received > 0),
        "PRNCP_PAID": pa.array(np.round(principal, 2)),
        "INT_PAID": pa.array(np.round(interest, 2)),
        "FEE_PAID": pa.array(np.zeros(len(loan))),
        "PERIOD_END_LSTAT": _text(pa.array(STATUSES), code),
        "PBAL_END_PERIOD": pa.array(np.round(end, 2)),
        "CO": pa.array(charged_off.astype(np.int8)),
        "COAMT": pa.array(np.where(charged_off, np.round(begin, 2), 0.0)),
    }
    return pa.table(columns)


def _received_month(month: np.ndarray, received: np.ndarray) -> pa.Array:
    """The month a payment came in, empty where none did."""
    table = pa.concat_arrays([_MONTHS, pa.array([""])])
    return _text(
        table, np.where(received, np.clip(month - MONTH_BASE, 0, MONTH_COUNT - 1), MONTH_COUNT)
    )


def history_csv(table: pa.Table) -> bytes:
    """The rows as CSV text without a header, in HISTORY_COLUMNS order."""
    sink = io.BytesIO()
    pa_csv.write_csv(table.select(list(HISTORY_COLUMNS)), sink, _WRITE)
    return sink.getvalue()


def history_header() -> bytes:
    return (",".join(HISTORY_COLUMNS) + "\n").encode()
