"""Out-of-time split: train on earlier issue cohorts, test on the latest ones.

A random split lets the model see the same vintages it is tested on; the original analysis'
AUC was measured partly on its own training rows. Here no test loan was issued before the cut
and no training loan on or after it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import pandas as pd

from ml.errors import SplitError
from ml.features import ISSUE_DATE

DEFAULT_TEST_SHARE = 0.2


@dataclass(frozen=True)
class TimeSplit:
    cut: date
    train_rows: int
    test_rows: int
    train_from: date
    train_to: date
    test_from: date
    test_to: date

    def as_record(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


def default_cut(issue_dates: pd.Series, test_share: float = DEFAULT_TEST_SHARE) -> date:
    """The first issue month whose cohorts and later hold about `test_share` of the loans."""
    months = pd.to_datetime(issue_dates).dt.to_period("M")
    counts = months.value_counts().sort_index(ascending=False).cumsum()
    reached = counts[counts >= test_share * len(months)]
    first_test_month = reached.index[0] if len(reached) else counts.index[-1]
    return first_test_month.to_timestamp().date()


def out_of_time_split(
    loans: pd.DataFrame, cut: date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, TimeSplit]:
    """(train, test, split): train issued before `cut`, test on or after it."""
    issued = pd.to_datetime(loans[ISSUE_DATE])
    if issued.isna().any():
        loans, issued = loans[issued.notna()], issued[issued.notna()]
    cut = cut or default_cut(issued)
    in_test = issued >= pd.Timestamp(cut)
    train, test = loans[~in_test], loans[in_test]
    if train.empty or test.empty:
        raise SplitError(
            f"cut {cut} leaves {len(train)} training and {len(test)} test loans: "
            f"issue dates run from {issued.min().date()} to {issued.max().date()}"
        )
    split = TimeSplit(
        cut=cut,
        train_rows=len(train),
        test_rows=len(test),
        train_from=issued[~in_test].min().date(),
        train_to=issued[~in_test].max().date(),
        test_from=issued[in_test].min().date(),
        test_to=issued[in_test].max().date(),
    )
    return train, test, split
