"""`python -m exports drift` on a warehouse with a known shift, and on one without."""

import json
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from exports.drift import FEATURE_DRIFT, Window, drift_report
from exports.lake import LocalLake
from ingest.settings import Settings
from ingest.warehouse.session import WarehouseSession, open_session
from ml.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES

REFERENCE = Window(date(2015, 1, 1), date(2015, 12, 31))
CURRENT = Window(date(2018, 12, 1), date(2018, 12, 31))


def _applications(rng, n: int, issued: str, income_scale: float = 1.0) -> pd.DataFrame:
    frame = pd.DataFrame({column: rng.normal(50, 10, n) for column in NUMERIC_FEATURES})
    frame["annual_inc"] = rng.lognormal(11, 0.5, n) * income_scale
    for column in CATEGORICAL_FEATURES:
        frame[column] = rng.choice(["A", "B", "C"], n)
    frame["issue_date"] = pd.Timestamp(issued)
    return frame


def _warehouse(path, income_scale: float) -> WarehouseSession:
    rng = np.random.default_rng(7)
    loans = pd.concat([
        _applications(rng, 5_000, "2015-06-01"),
        _applications(rng, 5_000, "2018-12-01", income_scale),
    ], ignore_index=True)  # fmt: skip
    loans["loan_id"] = np.arange(len(loans))
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.ml_features as select * from loans")
    return open_session(Settings(duckdb_path=path))


@pytest.mark.parametrize(("income_scale", "expect_drift"), [(3.0, True), (1.0, False)])
def test_a_known_shift_is_detected_and_one_population_is_not(tmp_path, income_scale, expect_drift):
    store = _warehouse(tmp_path / "w.duckdb", income_scale)
    lake = LocalLake(tmp_path / "lake")
    try:
        report = drift_report(store, lake, date(2026, 11, 24), REFERENCE, CURRENT, drift_share=0.3)
        rows = store.frame(f"select * from {FEATURE_DRIFT}")
    finally:
        store.close()
    income = report.features.set_index("feature").loc["annual_inc"]
    assert bool(income.drifted) is expect_drift
    assert bool(income.psi > 0.25) is expect_drift
    if not expect_drift:
        assert not report.features.drifted.any() and not report.dataset_drift
    assert report.features.reference_rows.iloc[0] == report.features.current_rows.iloc[0] == 5_000

    folder = tmp_path / "lake" / "reports" / "drift" / "dt=2026-11-24"
    assert (folder / "drift_report.html").stat().st_size > 100_000
    scores = {
        m["config"]["column"]: m["value"]
        for m in json.loads((folder / "drift_report.json").read_text())["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }
    assert dict(zip(rows.feature, rows.drift_score, strict=True)) == pytest.approx(scores)
    assert set(rows.report_url) == {report.html_url}


def test_rerunning_a_day_replaces_its_rows(tmp_path):
    store = _warehouse(tmp_path / "w.duckdb", 1.0)
    lake = LocalLake(tmp_path / "lake")
    try:
        for _ in range(2):
            drift_report(store, lake, date(2026, 11, 24), REFERENCE, CURRENT)
        drift_report(store, lake, date(2026, 11, 25), REFERENCE, CURRENT)
        counts = store.frame(
            f"select report_date, count(*) as n from {FEATURE_DRIFT} group by 1 order by 1"
        )
    finally:
        store.close()
    assert counts.n.tolist() == [len(NUMERIC_FEATURES) + len(CATEGORICAL_FEATURES)] * 2


def test_large_windows_are_sampled_the_same_way_every_run(tmp_path, monkeypatch):
    monkeypatch.setattr("exports.drift.MAX_WINDOW_ROWS", 1_000)
    store = _warehouse(tmp_path / "w.duckdb", 1.0)
    lake = LocalLake(tmp_path / "lake")
    try:
        first = drift_report(store, lake, date(2026, 11, 24), REFERENCE, CURRENT)
        second = drift_report(store, lake, date(2026, 11, 24), REFERENCE, CURRENT)
    finally:
        store.close()
    assert first.features.reference_rows.iloc[0] == first.features.current_rows.iloc[0] == 1_000
    assert first.features.drift_score.tolist() == second.features.drift_score.tolist()
