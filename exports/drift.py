"""`python -m exports drift`: does the model still see the population it was trained on?

An Evidently data-drift report compares a reference window (by default the champion model's
training cohort) with a current window (by default the calendar month of the latest
application, by issue date: a window of "the last 30 days" held one monthly cohort or two
depending on the day it ran) over the model's features. The HTML and JSON go to the lake under
`reports/drift/dt=YYYY-MM-DD/`; each feature's drift score, its test, and its population
stability index (missing values a bin of their own, so a field that stops arriving is a
shift) go to `monitoring.feature_drift`, so dashboards can chart drift over time.

The score itself (exports/score_monitoring.py): the champion's PDs per issue month against
its training cohort's, in `monitoring.score_stability`, and its AUC, KS and calibration on
each resolved issue quarter, in `monitoring.model_performance`. The champion's model card
(ml/model_card.py) goes to the lake beside the reports, `reports/models/<run_id>/`, so the
lake holds the card of every model that was ever monitored.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from exports import score_monitoring
from exports.lake import Lake
from ingest.warehouse.session import WarehouseSession
from ml.features import CATEGORICAL_FEATURES, ISSUE_DATE, RICH_FEATURES, model_frame
from ml.model_card import CARD_FILE
from ml.registry import champion_or_none

FEATURE_DRIFT = "monitoring.feature_drift"
DEFAULT_DRIFT_SHARE = 0.3  # flag the population when this share of features drifted
PSI_BINS = 10
# Larger windows are sampled (fixed seed): drift statistics settle long before a full book.
MAX_WINDOW_ROWS = 200_000
DDL = (
    "create schema if not exists monitoring",
    f"""create table if not exists {FEATURE_DRIFT} (
        report_date date not null,
        feature text not null,
        method text not null,
        drift_score double precision not null,
        threshold double precision not null,
        drifted boolean not null,
        psi double precision,
        reference_from date not null,
        reference_to date not null,
        reference_rows integer not null,
        current_from date not null,
        current_to date not null,
        current_rows integer not null,
        drifted_share double precision not null,
        dataset_drift boolean not null,
        report_url text not null,
        created_at timestamp not null,
        primary key (report_date, feature)
    )""",
)


class DriftError(ValueError):
    """A window holds no loans, or there is nothing to compare."""


@dataclass(frozen=True)
class Window:
    start: date
    end: date


def population_stability_index(reference: pd.Series, current: pd.Series) -> float:
    """PSI over reference deciles (numbers) or categories, missing values a bin of their own;
    0.1 is a shift, 0.25 a big one."""
    if reference.empty or current.empty:
        return float("nan")
    if pd.api.types.is_numeric_dtype(reference):
        known = reference.dropna()
        # The reference's inner decile cuts, bins closed on the right and open-ended: a
        # constant reference still has a bin above its value for a current that moved.
        cuts = (
            np.unique(np.quantile(known, np.linspace(0, 1, PSI_BINS + 1))[1:-1])
            if len(known)
            else np.array([])
        )
        expected = _numeric_shares(reference, cuts)
        actual = _numeric_shares(current, cuts)
    else:
        reference, current = reference.fillna("missing"), current.fillna("missing")
        categories = sorted(set(reference) | set(current))
        expected = (
            reference.value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy()
        )
        actual = current.value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy()
    expected, actual = np.clip(expected, 1e-6, None), np.clip(actual, 1e-6, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _numeric_shares(values: pd.Series, cuts: np.ndarray) -> np.ndarray:
    """The share of all the values in each bin (up to the first cut, ..., above the last),
    the missing ones last."""
    known = values.dropna().to_numpy(dtype=float)
    counts = np.bincount(np.searchsorted(cuts, known, side="left"), minlength=len(cuts) + 1)
    return np.append(counts, values.isna().sum()) / len(values)


def is_drifted(method: str, score: float, threshold: float) -> bool:
    """Evidently's tests report p-values (drift below the threshold) or distances (above)."""
    return score < threshold if "p_value" in method else score >= threshold


def column_drifts(report: dict) -> dict[str, tuple[str, float, float]]:
    """feature -> (method, score, threshold) from an Evidently report's dict."""
    drifts = {}
    for metric in report["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            drifts[config["column"]] = (
                config["method"],
                float(metric["value"]),
                float(config["threshold"]),
            )
    return drifts


def month_window(day: date) -> Window:
    """The calendar month holding `day`."""
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Window(start, following - timedelta(days=1))


def default_windows(
    first_issued: date, latest: date, champion: pd.Series | None
) -> tuple[Window, Window]:
    """(reference, current): the champion's training cohort (everything before the current
    month without a champion), and the calendar month of the latest application."""
    current = month_window(latest)
    if champion is not None:
        reference = Window(
            pd.Timestamp(champion.train_from).date(), pd.Timestamp(champion.train_to).date()
        )
    else:  # no model yet: everything before the current window
        reference = Window(first_issued, current.start - timedelta(days=1))
    return reference, current


def _window_rows(store: WarehouseSession, window: Window) -> pd.DataFrame:
    """The window's loans, read in SQL; above MAX_WINDOW_ROWS every k-th loan id (the same
    sample on every run and on both warehouses)."""
    where = f"{ISSUE_DATE} between '{window.start}' and '{window.end}'"
    count = int(
        store.frame(f"select count(*) as n from marts.ml_features where {where}")["n"].iloc[0]
    )
    step = -(-count // MAX_WINDOW_ROWS)
    sample = f" and loan_id % {step} = 0" if step > 1 else ""
    columns = ", ".join([ISSUE_DATE, *RICH_FEATURES])  # model_frame types them all
    return store.frame(f"select {columns} from marts.ml_features where {where}{sample}")


@dataclass(frozen=True)
class DriftReport:
    report_date: date
    features: pd.DataFrame  # the rows written to monitoring.feature_drift
    drifted_share: float
    dataset_drift: bool
    html_url: str
    json_url: str
    score_stability: pd.DataFrame  # rows written to monitoring.score_stability (none: no model)
    model_performance: pd.DataFrame  # rows written to monitoring.model_performance


def drift_report(
    store: WarehouseSession,
    lake: Lake,
    report_date: date,
    reference: Window | None = None,
    current: Window | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
) -> DriftReport:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    issued = store.frame(
        f"select min({ISSUE_DATE}) as first_issued, max({ISSUE_DATE}) as latest_issued "
        "from marts.ml_features"
    )
    if issued["latest_issued"].isna().iloc[0]:
        raise DriftError("marts.ml_features holds no loans: run dbt build first")
    champion = champion_or_none(store)
    default_reference, default_current = default_windows(
        pd.Timestamp(issued["first_issued"].iloc[0]).date(),
        pd.Timestamp(issued["latest_issued"].iloc[0]).date(),
        champion,
    )
    reference, current = reference or default_reference, current or default_current
    features = json.loads(champion.features) if champion is not None else list(RICH_FEATURES)
    reference_rows = _window_rows(store, reference)
    current_rows = _window_rows(store, current)
    for name, rows, window in (
        ("reference", reference_rows, reference),
        ("current", current_rows, current),
    ):
        if rows.empty:
            raise DriftError(f"the {name} window {window.start}..{window.end} holds no loans")
    reference_frame = model_frame(reference_rows)[features]
    current_frame = model_frame(current_rows)[features]
    snapshot = Report([DataDriftPreset(drift_share=drift_share)]).run(
        current_frame, reference_frame
    )
    prefix = f"reports/drift/dt={report_date.isoformat()}/"
    with tempfile.TemporaryDirectory(prefix="crews-drift-") as folder:
        html = Path(folder) / "drift_report.html"
        snapshot.save_html(str(html))
        lake.put_file(html, prefix + "drift_report.html")
    report = snapshot.dict()
    lake.put_bytes(json.dumps(report, default=str, indent=1).encode(), prefix + "drift_report.json")

    rows = []
    for feature, (method, score, threshold) in column_drifts(report).items():
        reference_values, current_values = reference_frame[feature], current_frame[feature]
        if feature in CATEGORICAL_FEATURES:
            reference_values, current_values = (
                reference_values.astype(str),
                current_values.astype(str),
            )
        rows.append({
            "feature": feature, "method": method, "drift_score": score, "threshold": threshold,
            "drifted": is_drifted(method, score, threshold),
            "psi": population_stability_index(reference_values, current_values),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    share = float(table["drifted"].mean())
    html_url = f"{lake.url}/{prefix}drift_report.html"
    table = table.assign(
        report_date=report_date,
        reference_from=reference.start, reference_to=reference.end, reference_rows=len(reference_rows),
        current_from=current.start, current_to=current.end, current_rows=len(current_rows),
        drifted_share=share, dataset_drift=share >= drift_share, report_url=html_url,
        created_at=datetime.now(UTC).replace(tzinfo=None),
    )  # fmt: skip
    stability, performance = _score_monitoring(store, champion, report_date)
    if champion is not None:
        card = Path(champion.artifact_path).parent / CARD_FILE
        if card.exists():  # models trained before model cards have none
            lake.put_file(card, f"reports/models/{champion.run_id}/{CARD_FILE}")
    for statement in (*DDL, *score_monitoring.DDL):
        store.execute(statement)
    # Feature drift keeps every report date; the score's tables hold the latest report only
    # (each row is already a month or quarter over time).
    for name, rows, where in (
        (FEATURE_DRIFT, table, f" where report_date = '{report_date.isoformat()}'"),
        (score_monitoring.SCORE_STABILITY, stability, ""),
        (score_monitoring.MODEL_PERFORMANCE, performance, ""),
    ):
        store.execute(f"delete from {name}{where}")
        if not rows.empty:
            store.append(name, rows)
    store.commit()
    return DriftReport(
        report_date,
        table,
        share,
        share >= drift_share,
        html_url,
        f"{lake.url}/{prefix}drift_report.json",
        stability,
        performance,
    )


def _score_monitoring(
    store: WarehouseSession, champion: pd.Series | None, report_date: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The champion's score stability and cohort performance (empty without a scored
    champion)."""
    if champion is None:
        return pd.DataFrame(), pd.DataFrame()
    query = score_monitoring.predictions_query(champion.get("target"))
    predictions = store.frame(query, [champion.run_id])
    if predictions.empty:
        return pd.DataFrame(), pd.DataFrame()
    train_from, train_to = (pd.Timestamp(champion[c]).date() for c in ("train_from", "train_to"))
    validation_to = champion.get("validation_to")
    in_sample_to = train_to if pd.isna(validation_to) else pd.Timestamp(validation_to).date()
    stamp = {"report_date": report_date, "run_id": champion.run_id}
    return (
        score_monitoring.score_stability(predictions, train_from, train_to).assign(**stamp),
        score_monitoring.cohort_performance(predictions, train_from, in_sample_to).assign(**stamp),
    )
