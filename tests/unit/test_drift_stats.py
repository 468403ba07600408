"""Population stability and Evidently's drift verdicts, on cases with known answers."""

import numpy as np
import pandas as pd
import pytest

from exports.drift import column_drifts, is_drifted, population_stability_index


def test_psi_is_zero_for_one_population_and_large_for_a_shift():
    rng = np.random.default_rng(1)
    reference = pd.Series(rng.lognormal(11, 0.5, 20_000))
    assert population_stability_index(reference, pd.Series(rng.lognormal(11, 0.5, 20_000))) < 0.01
    assert population_stability_index(reference, reference * 2) > 0.25


def test_psi_on_categories_counts_a_new_category():
    reference = pd.Series(["A"] * 50 + ["B"] * 50)
    assert population_stability_index(reference, reference.copy()) == pytest.approx(0)
    assert population_stability_index(reference, pd.Series(["A"] * 50 + ["C"] * 50)) > 1


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
