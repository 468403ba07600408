"""Calibration arithmetic, the champion rule and the model card, on hand-made cases."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from ml.calibration import Calibration, calibration_by_segment, fit_platt, jeffreys_interval
from ml.model_card import render
from ml.selection import choose_champion
from ml.training import calibration_rows

SIMPLEST_FIRST = ["baseline_logistic", "rich_logistic", "gradient_boosting"]


def test_jeffreys_intervals_match_the_published_table():
    # Brown, Cai & DasGupta (2001), Jeffreys 95%: 0 of 10 -> (0, 0.217); 5 of 10 ->
    # (0.224, 0.776); all bad -> upper bound 1.
    assert jeffreys_interval(0, 10) == (0.0, pytest.approx(0.2172, abs=1e-4))
    lower, upper = jeffreys_interval(5, 10)
    assert (lower, upper) == (pytest.approx(0.2235, abs=1e-4), pytest.approx(0.7765, abs=1e-4))
    assert jeffreys_interval(10, 10)[1] == 1.0


def test_observed_against_expected_per_segment_by_hand():
    labels = np.array([1, 0, 0, 0, 1, 1, 0, 0, 0, 0])
    pds = np.array([0.2, 0.2, 0.2, 0.2, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1])
    grades = pd.Series(list("AAAABBCCCC"))
    table = calibration_by_segment(labels, pds, grades, "grade").set_index("segment")
    assert table["loans"].tolist() == [4, 2, 4]
    assert table["defaults"].tolist() == [1, 2, 0]
    assert table["observed_default_rate"].tolist() == [0.25, 1.0, 0.0]
    assert table["mean_pd"].tolist() == pytest.approx([0.2, 0.9, 0.1])
    # C: no default in 4 loans, Jeffreys upper 0.45: a mean PD of 0.1 is inside.
    assert table.loc["C", "jeffreys_lower"] == 0.0
    assert table["is_within_interval"].tolist() == [True, True, True]
    # A PD far from what happened is caught: 1 default in 4 at a mean PD of 0.99.
    far = calibration_by_segment(labels[:4], np.full(4, 0.99), grades[:4], "grade")
    assert not far["is_within_interval"].iloc[0]


def test_calibration_rows_cover_the_whole_set_each_decile_and_each_grade():
    rng = np.random.default_rng(0)
    pds = rng.random(200)
    labels = (rng.random(200) < pds).astype(int)
    edges = list(np.arange(1, 10) / 10)
    rows = calibration_rows(labels, pds, pd.Series(rng.choice(["A", "B", None], 200)), edges)
    counts = rows.groupby("segment_type")["loans"].sum()
    assert counts.to_dict() == {"all": 200, "decile": 200, "grade": 200}
    assert set(rows.loc[rows.segment_type == "grade", "segment"]) == {"A", "B", "missing"}
    # Deciles by the fixed edges: PD 0.05 is decile 1, 0.95 decile 10, as when scoring.
    deciles = rows.loc[rows.segment_type == "decile"].set_index("segment")
    below = int((pds < 0.1).sum())
    assert deciles.loc["1", "loans"] == below and deciles.loc["10", "loans"] == (pds >= 0.9).sum()
    overall = rows.loc[rows.segment_type == "all"].iloc[0]
    assert overall["mean_pd"] == pytest.approx(pds.mean())
    assert overall["defaults"] == labels.sum()


def test_platt_scaling_recovers_a_known_distortion_and_keeps_the_ranking():
    rng = np.random.default_rng(7)
    true_pd = rng.uniform(0.02, 0.6, 20_000)
    labels = (rng.random(true_pd.size) < true_pd).astype(int)
    # An overconfident score: the true log-odds doubled and shifted.
    score = expit(2 * logit(true_pd) + 0.5)
    calibration = fit_platt(score, labels)
    assert calibration.slope == pytest.approx(0.5, abs=0.05)
    assert calibration.intercept == pytest.approx(-0.25, abs=0.06)
    calibrated = calibration.apply(score)
    assert calibrated.mean() == pytest.approx(labels.mean(), abs=0.005)
    assert np.array_equal(np.argsort(calibrated, kind="stable"), np.argsort(score, kind="stable"))


def test_an_artefact_without_calibration_scores_as_before():
    scores = np.array([0.0, 0.3, 1.0])
    assert Calibration.from_record(None).apply(scores).tolist() == scores.tolist()
    record = Calibration(0.5, -1.0, "platt").as_record()
    assert Calibration.from_record(record) == Calibration(0.5, -1.0, "platt")


def test_the_champion_is_the_simplest_within_the_tolerance_of_the_best_validation_auc():
    # The README's old case: 0.7107 against 0.7104 is a tie; the simpler model wins.
    aucs = {"baseline_logistic": 0.69, "rich_logistic": 0.7104, "gradient_boosting": 0.7107}
    assert choose_champion(aucs, SIMPLEST_FIRST) == "rich_logistic"
    # Exactly at the tolerance still counts as close; beyond it does not.
    aucs = {"baseline_logistic": 0.705, "rich_logistic": 0.70, "gradient_boosting": 0.71}
    assert choose_champion(aucs, SIMPLEST_FIRST) == "baseline_logistic"
    aucs["baseline_logistic"] = 0.7049
    assert choose_champion(aucs, SIMPLEST_FIRST) == "gradient_boosting"
    with pytest.raises(ValueError, match="rich_logistic"):
        choose_champion({"baseline_logistic": 0.7}, SIMPLEST_FIRST)


def test_the_model_card_says_what_was_registered():
    metadata = {
        "run_id": "t-rich_logistic", "candidate": "rich_logistic",
        "model_type": "LogisticRegression", "data_fingerprint": "abc", "seed": 42,
        "library_versions": {"scikit-learn": "1.7.2"}, "target": "is_default",
        "split": {"train_rows": 600, "train_from": "2015-01-01", "train_to": "2016-12-01",
                  "validation_rows": 200, "validation_from": "2017-01-01",
                  "validation_to": "2017-06-01", "test_rows": 200,
                  "test_from": "2017-07-01", "test_to": "2017-12-01"},
        "features": ["dti", "grade"], "excluded_features": ["addr_state"],
        "validation_metrics": {"auc": 0.71, "gini": 0.42, "ks": 0.3, "brier": 0.15,
                               "top_decile_lift": 2.0},
        "metrics": {"auc": 0.7, "gini": 0.4, "ks": 0.3, "brier": 0.16,
                    "top_decile_lift": 2.1, "mean_pd": 0.21, "default_rate": 0.2},
        "calibration": {"method": "platt", "slope": 0.9, "intercept": -0.1},
        "calibration_test": [{"segment_type": "all", "segment": "all", "loans": 200,
                              "defaults": 40, "observed_default_rate": 0.2, "mean_pd": 0.21,
                              "jeffreys_lower": 0.15, "jeffreys_upper": 0.26,
                              "is_within_interval": True}],
    }  # fmt: skip
    card = render(metadata, is_champion=True)
    assert "the champion of its training" in card
    assert "| validation | 200 | 2017-01-01 .. 2017-06-01 |" in card
    assert "Left out: `addr_state`" in card
    assert "calibration in the large +0.0100" in card
    assert "| auc | 0.7100 | 0.7000 |" in card
    assert "| all | 200 | 40 | 0.2000 | 0.2100 | 0.1500 .. 0.2600 | yes |" in card
