"""Population stability and Evidently's drift verdicts, on cases with known answers."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from exports.drift import column_drifts, is_drifted, month_window, population_stability_index
from exports.score_monitoring import cohort_performance, score_stability, stability_label


def test_psi_is_zero_for_one_population_and_large_for_a_shift():
    rng = np.random.default_rng(1)
    reference = pd.Series(rng.lognormal(11, 0.5, 20_000))
    assert population_stability_index(reference, pd.Series(rng.lognormal(11, 0.5, 20_000))) < 0.01
    assert population_stability_index(reference, reference * 2) > 0.25


def test_psi_on_categories_counts_a_new_category():
    reference = pd.Series(["A"] * 50 + ["B"] * 50)
    assert population_stability_index(reference, reference.copy()) == pytest.approx(0)
    assert population_stability_index(reference, pd.Series(["A"] * 50 + ["C"] * 50)) > 1


def test_missing_values_are_a_bin_of_their_own():
    rng = np.random.default_rng(2)
    reference = pd.Series(rng.normal(size=10_000))
    # A fifth of the values stop arriving, the rest unchanged: by hand, the missing bin goes
    # from 1e-6 to 0.2 and every other bin from 0.1 to 0.08.
    current = reference.copy()
    current[:2_000] = np.nan
    by_hand = (0.2 - 1e-6) * np.log(0.2 / 1e-6) + 10 * (0.08 - 0.1) * np.log(0.08 / 0.1)
    assert population_stability_index(reference, current) == pytest.approx(by_hand, rel=0.05)
    # Missing in both, in the same share: no shift.
    assert population_stability_index(current, current.copy()) == pytest.approx(0, abs=1e-9)
    categories = pd.Series(["A", None] * 50)
    assert population_stability_index(categories, pd.Series(["A"] * 100)) > 1


def test_drift_windows_are_calendar_months():
    assert month_window(date(2018, 2, 14)) == month_window(date(2018, 2, 1))
    window = month_window(date(2016, 2, 29))
    assert (window.start, window.end) == (date(2016, 2, 1), date(2016, 2, 29))
    assert month_window(date(2018, 12, 31)).end == date(2018, 12, 31)


def _predictions() -> pd.DataFrame:
    """Training cohort 2017-01..2017-03, a tenth per decile; 2017-04 all in decile 10;
    2017-05 a tenth per decile but only 20 loans. 100 loans a month otherwise."""
    rows = [
        {"issue_date": f"2017-0{month}-15", "pd": decile / 10 - 0.05, "risk_decile": decile,
         "is_default": decile >= 9}
        for month in (1, 2, 3) for decile in range(1, 11) for _ in range(10)
    ]  # fmt: skip
    rows += [{"issue_date": "2017-04-02", "pd": 0.95, "risk_decile": 10, "is_default": None}] * 100
    rows += [
        {"issue_date": "2017-05-02", "pd": 0.5, "risk_decile": d, "is_default": None}
        for d in range(1, 11) for _ in range(2)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_score_stability_is_zero_on_the_training_months_and_flags_a_moved_month():
    table = score_stability(_predictions(), date(2017, 1, 1), date(2017, 3, 31))
    assert table["issue_month"].astype(str).tolist() == [
        "2017-01-01", "2017-02-01", "2017-03-01", "2017-04-01", "2017-05-01",
    ]  # fmt: skip
    assert table["psi"].iloc[:3].tolist() == pytest.approx([0, 0, 0], abs=1e-9)
    assert table["is_training_month"].tolist() == [True, True, True, False, False]
    # By hand: decile 10 from 0.1 to 1, the nine others from 0.1 to 1e-6.
    by_hand = 0.9 * np.log(10) + 9 * (1e-6 - 0.1) * np.log(1e-6 / 0.1)
    assert table["psi"].iloc[3] == pytest.approx(by_hand)
    # 20 loans: no PSI, however even their deciles.
    assert pd.isna(table["psi"].iloc[4])
    assert table["stability"].tolist() == ["stable"] * 3 + ["major_shift", "too_few_loans"]
    assert [stability_label(p) for p in (0.05, 0.1, 0.25)] == ["stable", "shift", "major_shift"]


def test_cohort_performance_on_resolved_loans_by_issue_quarter():
    table = cohort_performance(_predictions(), date(2017, 1, 1), date(2017, 3, 31))
    # 2017-Q2's loans are unresolved: no row. Q1: 300 resolved, the 60 riskiest defaulted.
    assert len(table) == 1
    row = table.iloc[0]
    assert (row.resolved_loans, row.defaults, row.auc, row.ks) == (300, 60, 1.0, 1.0)
    assert row.default_rate == pytest.approx(0.2) and row.mean_pd == pytest.approx(0.5)
    assert row.is_in_sample


def test_p_values_drift_below_the_threshold_and_distances_above():
    assert is_drifted("K-S p_value", 0.01, 0.05)
    assert not is_drifted("K-S p_value", 0.2, 0.05)
    assert is_drifted("Wasserstein distance (normed)", 0.1, 0.1)
    assert not is_drifted("Jensen-Shannon distance", 0.05, 0.1)


def test_column_drifts_reads_value_drift_metrics_only():
    report = {"metrics": [
        {"config": {"type": "evidently:metric_v2:DriftedColumnsCount"}, "value": {"count": 1}},
        {"config": {"type": "evidently:metric_v2:ValueDrift", "column": "dti",
                    "method": "K-S p_value", "threshold": 0.05}, "value": 0.5},
    ]}  # fmt: skip
    assert column_drifts(report) == {"dti": ("K-S p_value", 0.5, 0.05)}
