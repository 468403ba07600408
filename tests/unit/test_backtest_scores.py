"""Out-of-time PDs for the backtest (ml/backtest_scores.py): a cutoff's model never learns an
outcome from after the cutoff, and scores exactly the loans open then or issued before the
next cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.backtest_scores import cutoff_months, point_in_time_scores, resolution_months
from ml.errors import NotEnoughData
from ml.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES


def _book(count: int = 1_200, seed: int = 3) -> pd.DataFrame:
    """Loans issued 2012-2016 with random features; about 60% resolved, a fifth of those
    defaulted, each at a month after issue."""
    rng = np.random.default_rng(seed)
    issued = pd.to_datetime("2012-01-01") + pd.to_timedelta(rng.integers(0, 60 * 30, count), "D")
    issued = issued.to_period("M").to_timestamp()
    frame = pd.DataFrame({"loan_id": np.arange(1, count + 1), "issue_date": issued.date})
    for name in NUMERIC_FEATURES:
        frame[name] = rng.normal(10, 3, count)
    for name in CATEGORICAL_FEATURES:
        frame[name] = rng.choice(["a", "b", "c"], count)
    resolved = rng.random(count) < 0.6
    defaulted = resolved & (rng.random(count) < 0.2 + 0.03 * (frame["dti"] - 10))
    later = pd.to_timedelta(rng.integers(60, 900, count), "D")
    frame["is_default"] = np.where(resolved, defaulted, None)
    frame["first_default_date"] = np.where(defaulted, (issued + later).date, None)
    frame["last_pymnt_date"] = np.where(resolved & ~defaulted, (issued + later).date, None)
    frame["as_of_date"] = pd.Timestamp("2019-03-01").date()
    return frame


def test_resolution_months_are_the_default_or_last_payment_month():
    loans = pd.DataFrame(
        {
            "is_default": [True, False, None, False],
            "first_default_date": ["2016-05-17", None, None, None],
            "last_pymnt_date": [None, "2017-02-03", "2018-01-01", None],
            "as_of_date": ["2019-03-01"] * 4,
        }
    )
    months = resolution_months(loans)
    assert months.tolist()[:2] == [pd.Timestamp("2016-05-01"), pd.Timestamp("2017-02-01")]
    assert pd.isna(months[2])  # unresolved: its payments say nothing of an outcome
    assert months[3] == pd.Timestamp("2019-03-01")  # paid off, no payment date: the snapshot


def test_each_cutoff_learns_only_outcomes_known_by_then():
    book = _book()
    scores = point_in_time_scores(book, progress=lambda _: None)
    resolved = resolution_months(book)
    issued = pd.to_datetime(book["issue_date"])
    cutoffs = sorted(scores["cutoff_month"].unique())
    assert cutoffs and all(pd.Timestamp(c).month == 12 for c in cutoffs)
    for position, cutoff in enumerate(map(pd.Timestamp, cutoffs)):
        at = scores[scores["cutoff_month"] == cutoff.date()]
        # Fitted on the loans resolved by then, less the latest fifth kept to calibrate it.
        known = int((resolved <= cutoff).sum())
        assert 0.6 * known <= at["train_rows"].iloc[0] <= known
        following = pd.Timestamp(cutoffs[position + 1]) if position + 1 < len(cutoffs) else None
        expected = ((issued <= cutoff) & ~(resolved <= cutoff)) | (
            (issued > cutoff) & (True if following is None else issued <= following)
        )
        assert set(at["loan_id"]) == set(book.loc[expected, "loan_id"])

    # The attack: rewrite every outcome that became known after the first cutoff. A model
    # that learnt from the future would move; this one's PDs at that cutoff do not.
    first = pd.Timestamp(cutoffs[0])
    future = resolved > first
    rewritten = book.copy()
    rewritten.loc[future, "is_default"] = ~rewritten.loc[future, "is_default"].astype(bool)
    rewritten.loc[future, "first_default_date"] = rewritten.loc[future, "last_pymnt_date"].where(
        rewritten.loc[future, "is_default"].astype(bool), None
    )
    again = point_in_time_scores(rewritten, progress=lambda _: None)
    at_first = scores[scores["cutoff_month"] == first.date()].set_index("loan_id")["pd"]
    again_first = again[again["cutoff_month"] == first.date()].set_index("loan_id")["pd"]
    pd.testing.assert_series_equal(at_first.sort_index(), again_first.sort_index())
    later = scores[scores["cutoff_month"] != first.date()].set_index(["cutoff_month", "loan_id"])
    again_later = again[again["cutoff_month"] != first.date()].set_index(
        ["cutoff_month", "loan_id"]
    )
    assert not np.allclose(later["pd"].sort_index(), again_later["pd"].sort_index().reindex(
        later["pd"].sort_index().index
    ))  # later cutoffs did learn those outcomes: the test can tell  # fmt: skip


def test_cutoffs_start_once_both_outcomes_are_known():
    issued = pd.Series(pd.to_datetime(["2014-01-01"] * 300))
    resolved = pd.Series(pd.to_datetime(["2015-06-01"] * 150 + ["2016-06-01"] * 150))
    labels = pd.Series([False] * 150 + [True] * 150)
    # 2014-12: nothing resolved; 2015-12: only good loans; 2016-12: both, and the last month
    # (2016-06) is before it: no cutoff at all.
    assert cutoff_months(issued, resolved, labels) == []
    resolved.iloc[-1] = pd.Timestamp("2018-01-01")
    assert cutoff_months(issued, resolved, labels) == [
        pd.Timestamp("2016-12-01"), pd.Timestamp("2017-12-01")
    ]  # fmt: skip


def test_a_book_too_young_for_any_cutoff_is_refused_clearly():
    book = _book(count=50)
    with pytest.raises(NotEnoughData, match="both outcomes"):
        point_in_time_scores(book, progress=lambda _: None)
