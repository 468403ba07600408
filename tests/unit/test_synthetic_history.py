"""The generated payment history agrees with the generated export, loan by loan, and moves as
a servicer's books do: consecutive months, amortising balances, nothing received while late,
charge-off after 120+ days, cures and prepayments; the same seed gives the same bytes, and
asking for the history leaves the export as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest.events import parse_lc_month
from ingest.synthetic import write_synthetic_csv
from ingest.synthetic.history import HISTORY_COLUMNS

LOANS = 30_000
POLICY = "Does not meet the credit policy. Status:"
LATE = ("In Grace Period", "Late (16-30 days)", "Late (31-120 days)", "Default")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, Path, int]:
    folder = tmp_path_factory.mktemp("history")
    months = write_synthetic_csv(folder / "loans.csv", LOANS, seed=8, history_path=folder / "h.csv")
    return folder / "loans.csv", folder / "h.csv", months


@pytest.fixture(scope="module")
def history(generated) -> pd.DataFrame:
    frame = pd.read_csv(generated[1], keep_default_na=False)
    month = frame.MONTH.map(lambda t: parse_lc_month(t, 2100))
    frame["month_index"] = month.map(lambda d: d.year * 12 + d.month - 1)
    issued = frame.IssuedDate.map(lambda t: parse_lc_month(t, 2100))
    frame["issue_index"] = issued.map(lambda d: d.year * 12 + d.month - 1)
    return frame


@pytest.fixture(scope="module")
def export(generated) -> pd.DataFrame:
    columns = ["id", "loan_status", "out_prncp"]
    return pd.read_csv(generated[0], usecols=columns, keep_default_na=False).set_index("id")


def test_header_row_count_and_columns(generated, history):
    assert tuple(history.columns[: len(HISTORY_COLUMNS)]) == HISTORY_COLUMNS
    assert generated[2] == len(history) > LOANS * 10


def test_each_loan_ends_in_its_export_status_and_balance(history, export):
    last = history.groupby("LOAN_ID").tail(1).set_index("LOAN_ID")
    assert set(last.index) == set(export.index)  # every loan has a history
    joined = export.join(last)
    status = joined.loan_status.str.removeprefix(POLICY)
    assert (status == joined.PERIOD_END_LSTAT).all()
    # (the export shows its few 'Default' loans, charged off in its model, with nothing owed)
    active = status.isin(["Current", *LATE]) & (status != "Default")
    gap = (joined.out_prncp.astype(float) - joined.PBAL_END_PERIOD).abs()
    assert (gap[active] <= 0.011).all()


def test_months_are_consecutive_from_the_month_after_issue(history):
    first = history.groupby("LOAN_ID").MOB.transform("min")
    assert (first == 1).all()
    assert (history.month_index - history.issue_index == history.MOB).all()
    step = history.groupby("LOAN_ID").month_index.diff().dropna()
    assert (step == 1).all()


def test_balances_amortise_and_never_go_negative(history):
    assert (history.PBAL_END_PERIOD >= 0).all()
    assert (history.PBAL_END_PERIOD <= history.PBAL_BEG_PERIOD + 0.01).all()
    carried = history.groupby("LOAN_ID").PBAL_END_PERIOD.shift()
    opened = history.PBAL_BEG_PERIOD[carried.notna()]
    assert np.allclose(opened, carried.dropna(), atol=0.011)
    paid = history.PRNCP_PAID[history.CO == 0]
    assert np.allclose(
        paid, (history.PBAL_BEG_PERIOD - history.PBAL_END_PERIOD)[history.CO == 0], atol=0.011
    )


def test_late_months_before_the_last_receive_nothing(history):
    not_last = history.LOAN_ID.eq(history.LOAN_ID.shift(-1))
    late = history.PERIOD_END_LSTAT.isin(LATE) & not_last
    assert late.sum() > 1_000
    assert (history.RECEIVED_AMT[late] == 0).all()
    assert (history.RECEIVED_D[late] == "").all()


def test_charge_off_follows_four_months_31_to_120_days_late(history):
    charged = history.index[history.CO == 1]
    assert len(charged) > 500
    assert (history.PERIOD_END_LSTAT[charged] == "Charged Off").all()
    assert (history.PBAL_END_PERIOD[charged] == 0).all()
    assert np.allclose(history.COAMT[charged], history.PBAL_BEG_PERIOD[charged])
    for offset in range(1, 5):
        assert (history.PERIOD_END_LSTAT[charged - offset] == "Late (31-120 days)").all()
    assert history.PERIOD_END_LSTAT[charged - 5].isin(["In Grace Period"]).all()


def test_some_loans_cure_and_some_prepay(history):
    before = history.groupby("LOAN_ID").PERIOD_END_LSTAT.shift()
    cured = (history.PERIOD_END_LSTAT == "Current") & before.isin(LATE)
    assert cured.sum() > 200
    assert (history.RECEIVED_AMT[cured] > history.DUE_AMT[cured] * 1.5).all()  # caught up
    paid_off = history[history.PERIOD_END_LSTAT == "Fully Paid"]
    assert (paid_off.term > paid_off.MOB).sum() > 1_000


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_and_the_export_unchanged_by_the_history(generated, tmp_path):
    loans, history, _ = generated
    again = tmp_path / "again.csv"
    write_synthetic_csv(tmp_path / "loans.csv", LOANS, seed=8, history_path=again)
    assert _digest(again) == _digest(history)
    write_synthetic_csv(tmp_path / "alone.csv", LOANS, seed=8)
    assert _digest(tmp_path / "alone.csv") == _digest(loans)
