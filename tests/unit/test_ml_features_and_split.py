"""No outcome or payment column reaches a model, and the split is strictly by time."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ingest.events import PERFORMANCE_FIELDS
from ml.candidates import candidates
from ml.errors import SplitError
from ml.features import LEAKAGE_COLUMNS, RICH_FEATURES, LeakageError, check_no_leakage, model_frame
from ml.time_split import default_cut, out_of_time_split


def _loans(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({column: rng.normal(size=n) for column in RICH_FEATURES})
    for column in ("grade", "sub_grade", "home_ownership", "verification_status", "purpose",
                   "addr_state", "application_type"):  # fmt: skip
        frame[column] = rng.choice(["A", "B", None], n)
    frame["loan_id"] = np.arange(n)
    frame["issue_date"] = pd.to_datetime("2015-01-01") + pd.to_timedelta(
        rng.integers(0, 1400, n), "D"
    )
    frame["is_default"] = rng.random(n) < 0.2
    # Leaky columns a careless feature list could pick up: perfectly predictive.
    frame["total_pymnt"] = np.where(frame["is_default"], 0.0, 1.0)
    frame["loan_status"] = np.where(frame["is_default"], "Charged Off", "Fully Paid")
    return frame


@pytest.mark.parametrize(
    "leaky", ["total_pymnt", "loan_status", "outcome", "recoveries", "months_on_book"]
)
def test_an_outcome_or_payment_column_is_refused(leaky):
    with pytest.raises(LeakageError, match=leaky):
        check_no_leakage(["int_rate", leaky])


def test_every_performance_field_of_the_export_counts_as_leakage():
    assert set(PERFORMANCE_FIELDS) <= LEAKAGE_COLUMNS


def test_fitted_candidates_see_only_their_declared_origination_features():
    loans = _loans()
    features = model_frame(loans)
    for candidate in candidates(seed=1):
        check_no_leakage(candidate.features)
        candidate.pipeline.fit(features[list(candidate.features)], loans["is_default"])
        seen = set(candidate.pipeline.feature_names_in_)
        assert seen == set(candidate.features)
        assert not seen & LEAKAGE_COLUMNS


def test_model_frame_keeps_only_features_and_marks_missing_categories():
    frame = model_frame(_loans(10))
    assert list(frame.columns) == list(RICH_FEATURES)
    assert "None" not in set(frame["grade"]) and frame["grade"].isin(["A", "B", "missing"]).all()


def test_the_split_is_strictly_by_issue_date():
    loans = _loans()
    train, test, split = out_of_time_split(loans, date(2017, 6, 1))
    assert pd.to_datetime(train["issue_date"]).max() < pd.Timestamp("2017-06-01")
    assert pd.to_datetime(test["issue_date"]).min() >= pd.Timestamp("2017-06-01")
    assert split.train_rows + split.test_rows == len(loans)
    assert split.train_to < split.cut <= split.test_from


def test_the_default_cut_leaves_about_a_fifth_for_testing():
    loans = _loans(2000)
    cut = default_cut(loans["issue_date"])
    share = (pd.to_datetime(loans["issue_date"]) >= pd.Timestamp(cut)).mean()
    assert 0.18 <= share <= 0.24
    assert cut.day == 1


def test_a_cut_outside_the_data_is_a_clear_error():
    with pytest.raises(SplitError, match="leaves"):
        out_of_time_split(_loans(), date(2030, 1, 1))
