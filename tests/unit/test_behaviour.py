"""The behavioural score's pure core (ml/behaviour.py): quarter-end cutoffs, and fits that
know only what was known at each cutoff."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ml.behaviour import MIN_BAD, MIN_ROWS, point_in_time_behaviour_scores, quarter_cutoffs
from ml.features import BEHAVIOUR_FEATURES, BEHAVIOUR_TARGETS, LeakageError, check_features

REPO = Path(__file__).resolve().parents[2]


def _rows(months: int = 24, loans: int = 400, seed: int = 3) -> pd.DataFrame:
    """Loan-months from 2020-01: a late month makes a charge-off within 6 months likely."""
    rng = np.random.default_rng(seed)
    frames = []
    for month in pd.date_range("2020-01-01", periods=months, freq="MS"):
        level = rng.choice([0, 0, 0, 0, 0, 0, 1, 2, 3], loans)
        frame = pd.DataFrame(
            {
                "loan_id": np.arange(loans),
                "month_date": month,
                "months_on_book": rng.integers(1, 36, loans),
                "dpd_level": level,
                "worst_dpd_level_6m": level,
                "worst_dpd_level_12m": level,
                "months_30_plus_6m": (level >= 2).astype(int),
                "months_30_plus_12m": (level >= 2).astype(int),
                "shortfall_share_3m": level / 3,
                "share_repaid": rng.uniform(0, 1, loans),
                "int_rate": rng.uniform(5, 25, loans),
                "origination_pd": rng.uniform(0, 0.5, loans),
                "dpd_bucket": np.where(level > 0, "late", "current"),
            }
        )
        bad = rng.uniform(0, 1, loans) < 0.02 + 0.3 * level
        frame["is_charged_off_6m"] = bad
        frame["is_charged_off_12m"] = bad
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    last = rows["month_date"].max()
    for target, horizon in BEHAVIOUR_TARGETS.items():  # unknown while the window is open
        rows[target] = rows[target].astype(object)
        rows.loc[rows["month_date"] + pd.DateOffset(months=horizon) > last, target] = None
    return rows


def test_cutoffs_are_quarter_ends_with_enough_closed_windows():
    rows = _rows()
    cutoffs = quarter_cutoffs(rows, "is_charged_off_6m")
    assert cutoffs and all(c.month in (3, 6, 9, 12) for c in cutoffs)
    assert max(cutoffs) < rows["month_date"].max()
    first = cutoffs[0]
    known = rows[rows["month_date"] <= first - pd.DateOffset(months=6)]
    assert len(known) >= MIN_ROWS and known["is_charged_off_6m"].astype(bool).sum() >= MIN_BAD
    # The quarter before had too few closed windows (400 rows a month: 2020-06 knows 400).
    assert first == pd.Timestamp("2020-09-01")
    # A 12-month label closes later, so its first cutoff is later.
    assert quarter_cutoffs(rows, "is_charged_off_12m")[0] > first


def test_scores_ignore_every_outcome_and_row_after_their_cutoff():
    """The attack: rewrite everything a cutoff's model must not know - each label whose window
    closed after the cutoff, and every feature of the months it does not score - and its
    scores do not move."""
    rows = _rows()
    scores = point_in_time_behaviour_scores(rows, "behaviour_logistic", "is_charged_off_6m",
                                            progress=lambda _: None)  # fmt: skip
    cutoff = quarter_cutoffs(rows, "is_charged_off_6m")[0]
    scored_until = quarter_cutoffs(rows, "is_charged_off_6m")[1]
    tampered = rows.copy()
    unknown_then = tampered["month_date"] > cutoff - pd.DateOffset(months=6)
    tampered.loc[unknown_then, "is_charged_off_6m"] = True  # even the unknown ones
    beyond = tampered["month_date"] > scored_until
    tampered.loc[beyond, "dpd_level"] = 4
    again = point_in_time_behaviour_scores(tampered, "behaviour_logistic", "is_charged_off_6m",
                                           progress=lambda _: None)  # fmt: skip
    first = scores[scores["cutoff_month"] == cutoff.date()].reset_index(drop=True)
    assert len(first) == 1_200  # 2020-10 to 2020-12: after the cutoff, up to the next one
    pd.testing.assert_frame_equal(
        first, again[again["cutoff_month"] == cutoff.date()].reset_index(drop=True)
    )
    # ...while a label the model did see moves them.
    seen = rows.copy()
    seen.loc[seen["month_date"] == seen["month_date"].min(), "is_charged_off_6m"] = True
    moved = point_in_time_behaviour_scores(seen, "behaviour_logistic", "is_charged_off_6m",
                                           progress=lambda _: None)  # fmt: skip
    assert not np.allclose(first["pd"], moved[moved["cutoff_month"] == cutoff.date()]["pd"])


def test_each_month_is_scored_once_by_the_latest_cutoff_before_it():
    rows = _rows()
    scores = point_in_time_behaviour_scores(rows, "behaviour_logistic", "is_charged_off_6m",
                                            progress=lambda _: None)  # fmt: skip
    assert not scores.duplicated(["loan_id", "month_date"]).any()
    months = pd.to_datetime(scores["month_date"])
    cutoffs = pd.to_datetime(scores["cutoff_month"])
    assert (cutoffs < months).all() and (months - cutoffs <= pd.Timedelta(days=92)).any()
    latest = quarter_cutoffs(rows, "is_charged_off_6m")[-1]
    assert (cutoffs[months > latest] == latest).all()  # the last cutoff serves every later month
    assert scores["pd"].between(0, 1).all()


def test_the_behaviour_model_sees_no_label_and_the_origination_model_no_history():
    with pytest.raises(LeakageError):
        check_features([*BEHAVIOUR_FEATURES, "is_charged_off_6m"], "behaviour")
    with pytest.raises(LeakageError):
        check_features(["loan_amnt", "months_on_book"], "origination")
    check_features(BEHAVIOUR_FEATURES, "behaviour")


def test_the_features_are_the_mart_s_columns():
    """ml/features.py and the dbt mart name the same columns (origination_pd is joined in
    by the ML step, from the backtest's scores)."""
    models = yaml.safe_load(
        (REPO / "dbt_project/models/marts/ml/_ml_marts__models.yml").read_text()
    )["models"]
    mart = next(model for model in models if model["name"] == "ml_behaviour_features")
    columns = {column["name"] for column in mart["columns"]}
    assert set(BEHAVIOUR_FEATURES) - columns == {"origination_pd"}
    assert set(BEHAVIOUR_TARGETS) <= columns
