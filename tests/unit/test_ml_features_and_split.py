"""No outcome or payment column reaches a model, and the split is strictly by time."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ingest.events import PERFORMANCE_FIELDS
from ingest.settings import Settings
from ml.candidates import candidates
from ml.errors import SplitError
from ml.features import (
    LEAKAGE_COLUMNS,
    RICH_FEATURES,
    LeakageError,
    UnknownFeatureError,
    check_no_leakage,
    model_frame,
)
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
    train, validation, test, split = out_of_time_split(
        loans, date(2017, 6, 1), validation_cut=date(2016, 10, 1)
    )
    issued = {name: pd.to_datetime(part["issue_date"]) for name, part in
              (("train", train), ("validation", validation), ("test", test))}  # fmt: skip
    assert issued["train"].max() < pd.Timestamp("2016-10-01") <= issued["validation"].min()
    assert issued["validation"].max() < pd.Timestamp("2017-06-01") <= issued["test"].min()
    assert split.train_rows + split.validation_rows + split.test_rows == len(loans)
    assert not set(train.loan_id) & set(validation.loan_id)
    assert split.train_to < split.validation_cut <= split.validation_from
    assert split.validation_to < split.cut <= split.test_from


def test_the_default_cuts_leave_about_a_fifth_each_for_validation_and_testing():
    loans = _loans(2000)
    cut = default_cut(loans["issue_date"])
    share = (pd.to_datetime(loans["issue_date"]) >= pd.Timestamp(cut)).mean()
    assert 0.18 <= share <= 0.24
    assert cut.day == 1
    _, validation, _, split = out_of_time_split(loans)
    assert split.cut == cut
    assert 0.17 <= len(validation) / len(loans) <= 0.25
    assert split.validation_cut.day == 1


def test_a_cut_outside_the_data_is_a_clear_error():
    with pytest.raises(SplitError, match="leave no test"):
        out_of_time_split(_loans(), date(2030, 1, 1), date(2017, 1, 1))
    with pytest.raises(SplitError, match="must come before"):
        out_of_time_split(_loans(), date(2017, 1, 1), date(2017, 1, 1))


def test_the_likely_proxies_stay_out_of_every_candidate_unless_configured_in():
    for candidate in candidates(seed=1):
        assert "addr_state" not in candidate.features
    rich = {c.name: c.features for c in candidates(seed=1, excluded=())}["rich_logistic"]
    assert "addr_state" in rich
    with pytest.raises(UnknownFeatureError, match="addr_sate"):
        candidates(seed=1, excluded=("addr_sate",))


def test_the_excluded_features_come_from_the_environment():
    assert Settings.from_env({}).ml_excluded_features == ("addr_state",)
    assert Settings.from_env({"ML_EXCLUDED_FEATURES": ""}).ml_excluded_features == ()
    chosen = Settings.from_env({"ML_EXCLUDED_FEATURES": " addr_state , purpose"})
    assert chosen.ml_excluded_features == ("addr_state", "purpose")
