"""`python -m ml train`: fit every candidate on the earliest cohorts, choose and calibrate on
the next ones, report on the latest; keep them all in the registry and flag the champion.
The behavioural score (ml/behaviour.py) is trained the same way on loan-months
(`fit_and_register`), split by month instead of issue date.

Each candidate is fitted on the training cohorts; its raw scores on the validation cohorts
give its validation AUC and fit its Platt scaling (ml/calibration.py); the champion is chosen
on validation by the documented rule (ml/selection.py); every figure in the registry's test
columns is the calibrated model's on the test cohorts, which pick nothing. The decile edges
that score every later loan are the calibrated PDs' deciles over the training cohorts, fixed
in the artefact (ml/scoring.py, ml/serving/champion.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.warehouse.session import WarehouseSession
from ml import artifacts, plots
from ml.calibration import calibration_by_segment, fit_platt
from ml.candidates import Candidate, candidates
from ml.errors import NotEnoughData
from ml.explain import is_logistic, transformed_means
from ml.features import (
    CATEGORICAL_FEATURES,
    ISSUE_DATE,
    LABEL,
    ORIGINATION,
    PROXY_FEATURES,
    TARGETS,
    check_no_leakage,
    model_frame,
)
from ml.metrics import decile_table, deciles_from_edges, evaluate, flag_lift
from ml.model_card import write_model_card
from ml.registry import ensure_tables, register_calibration, register_runs
from ml.selection import CHAMPION_AUC_TOLERANCE, choose_champion
from ml.serving.champion import write_pointer
from ml.time_split import TimeSplit, out_of_time_split

FEATURES_QUERY = "select * from marts.ml_features order by loan_id"
METRIC_COLUMNS = ("auc", "gini", "ks", "brier", "top_decile_lift")
REPORT_COLUMNS = ("validation_auc", *METRIC_COLUMNS, "mean_pd", "default_rate")


def decile_edges(scores: np.ndarray) -> list[float]:
    """The 9 PDs that cut the training cohorts' calibrated PDs into tenths: a loan's decile
    is where its PD falls among them, whatever else is in the book (ml.metrics)."""
    return [float(edge) for edge in np.quantile(scores, np.arange(1, 10) / 10)]


def reference_values(x_train: pd.DataFrame, features: tuple[str, ...]) -> dict[str, object]:
    """A typical loan: each feature's training median, or its most frequent category."""
    return {
        name: (
            str(x_train[name].mode().iloc[0])
            if name in CATEGORICAL_FEATURES
            else float(x_train[name].median())
        )
        for name in features
    }


def _labels(rows: pd.DataFrame, target: str) -> np.ndarray:
    return rows[target].astype(bool).to_numpy().astype(int)


def calibration_rows(
    labels: np.ndarray,
    pds: np.ndarray,
    segments: pd.Series,
    edges: list[float],
    segment_type: str = "grade",
) -> pd.DataFrame:
    """Observed against expected on the test rows: the whole set, per risk decile (by the
    edges fixed at training, as every scored row's), per `segment_type` (the loan's grade;
    a behaviour row's days-past-due bucket)."""
    return pd.concat(
        [
            calibration_by_segment(labels, pds, pd.Series(["all"] * len(pds)), "all"),
            calibration_by_segment(
                labels, pds, pd.Series(deciles_from_edges(pds, edges)), "decile"
            ),
            calibration_by_segment(
                labels, pds, segments.fillna("missing").reset_index(drop=True), segment_type
            ),
        ],
        ignore_index=True,
    )


@dataclass(frozen=True)
class TrainingReport:
    training_id: str
    split: TimeSplit
    metrics: pd.DataFrame  # one row per candidate, plus the rule watchlist's lift
    champion: str
    folder: Path
    roc_plot: Path
    lift_plot: Path


@dataclass(frozen=True)
class Problem:
    """What one training fits: a model family's candidates, its rows split in three by
    time, the label, how raw rows become the pipelines' frame, and the segment the test
    calibration is also shown by."""

    family: str  # 'origination' or 'behaviour' (ml.model_runs.model_family)
    target: str
    candidates: list[Candidate]
    parts: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]  # training, validation, test
    split: TimeSplit
    frame: Callable[[pd.DataFrame], pd.DataFrame]
    segment: str  # a column of the rows: 'grade', or the behaviour rows' 'dpd_bucket'
    excluded_features: tuple[str, ...] = ()
    rule_lift: float | None = None


def split_labels(
    rows: pd.DataFrame, target: str, what: str, source: str, cut: date | None,
    validation_cut: date | None, date_column: str, progress: Callable[[str], None],
) -> tuple[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], TimeSplit]:  # fmt: skip
    """The labelled rows (`what`, read from `source`) split in three by `date_column`, each
    with both outcomes."""
    labelled = rows[rows[target].notna()]
    if len(labelled) < 100 or labelled[target].astype(bool).nunique() < 2:
        raise NotEnoughData(
            f"{len(labelled)} {what} with a known {target} in {source}: need at least 100, "
            "with both outcomes (run the pipeline up to dbt build first)"
        )
    train_rows, valid_rows, test_rows, split = out_of_time_split(
        labelled, cut, validation_cut, date_column
    )
    progress(
        f"out-of-time split by {date_column}: train {split.train_rows:,} {what} "
        f"{split.train_from}..{split.train_to}, validation {split.validation_rows:,} "
        f"{split.validation_from}..{split.validation_to}, test {split.test_rows:,} "
        f"{split.test_from}..{split.test_to}"
    )
    for name, part in (("training", train_rows), ("validation", valid_rows), ("test", test_rows)):
        labels = _labels(part, target)
        if len(set(labels)) < 2:
            raise NotEnoughData(
                f"the {name} {what} hold only {'bad' if labels.all() else 'good'} outcomes: "
                "choose other cuts (--validation-date, --split-date) or land more data"
            )
    return (train_rows, valid_rows, test_rows), split


def train(
    store: WarehouseSession,
    model_dir: Path,
    cut: date | None = None,
    seed: int = 42,
    progress: Callable[[str], None] = print,
    validation_cut: date | None = None,
    excluded_features: tuple[str, ...] = PROXY_FEATURES,
    target: str = LABEL,
) -> TrainingReport:
    if target not in TARGETS:
        raise ValueError(f"no target {target!r}: one of {', '.join(TARGETS)}")
    loans = store.frame(FEATURES_QUERY)
    parts, split = split_labels(
        loans, target, "loans", "marts.ml_features", cut, validation_cut, ISSUE_DATE, progress
    )
    test_rows = parts[2]
    rule_lift = flag_lift(
        _labels(test_rows, target), test_rows["is_rule_watchlist"].astype(bool).to_numpy()
    )
    ordered = candidates(seed, excluded_features)
    for candidate in ordered:
        check_no_leakage(candidate.features)
    problem = Problem(
        family=ORIGINATION, target=target, candidates=ordered,
        parts=parts, split=split, frame=model_frame, segment="grade",
        excluded_features=excluded_features, rule_lift=rule_lift,
    )  # fmt: skip
    return fit_and_register(store, model_dir, problem, seed, progress, write_champion=True)


def fit_and_register(
    store: WarehouseSession,
    model_dir: Path,
    problem: Problem,
    seed: int,
    progress: Callable[[str], None],
    write_champion: bool,
) -> TrainingReport:
    """Fit each candidate on the training rows, calibrate and score it on validation,
    choose the champion there, report every figure on test; save each artefact with its
    model card, register the runs and calibration tables; with `write_champion`, point the
    servers at the champion (ml/serving/champion.py)."""
    target, split = problem.target, problem.split
    test_rows = problem.parts[2]
    y_train, y_valid, y_test = (_labels(rows, target) for rows in problem.parts)
    x_train, x_valid, x_test = (problem.frame(rows) for rows in problem.parts)
    training_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    folder = model_dir / training_id
    trained_at = datetime.now(UTC).replace(tzinfo=None)
    fingerprint = artifacts.data_fingerprint(pd.concat(problem.parts))
    versions = artifacts.library_versions()
    runs, calibrations, scores, deciles, metadatas = [], [], {}, {}, {}
    for candidate in problem.candidates:
        started = time.perf_counter()
        columns = list(candidate.features)
        candidate.pipeline.fit(x_train[columns], y_train)
        raw_valid = candidate.pipeline.predict_proba(x_valid[columns])[:, 1]
        validation = evaluate(y_valid, raw_valid)
        calibration = fit_platt(raw_valid, y_valid)
        score = calibration.apply(candidate.pipeline.predict_proba(x_test[columns])[:, 1])
        fitted = calibration.apply(candidate.pipeline.predict_proba(x_train[columns])[:, 1])
        metrics = evaluate(y_test, score)
        progress(
            f"  {candidate.name:<20} validation AUC {validation['auc']:.4f}  test AUC "
            f"{metrics['auc']:.4f}  KS {metrics['ks']:.4f}  mean PD {metrics['mean_pd']:.4f} "
            f"(observed {metrics['default_rate']:.4f})  fit {time.perf_counter() - started:.1f}s"
        )
        scores[candidate.name], deciles[candidate.name] = score, decile_table(y_test, score)
        run_id = f"{training_id}-{candidate.name}"
        edges = decile_edges(fitted)
        calibration_table = calibration_rows(
            y_test, score, test_rows[problem.segment], edges, problem.segment
        )
        calibrations.append(calibration_table.assign(run_id=run_id))
        metadata = {
            "run_id": run_id, "training_id": training_id, "candidate": candidate.name,
            "model_family": problem.family,
            "model_type": candidate.model_type, "features": columns,
            "excluded_features": list(problem.excluded_features), "target": target,
            "split": split.as_record(), "seed": seed, "data_fingerprint": fingerprint,
            "library_versions": versions, "validation_metrics": validation, "metrics": metrics,
            "calibration": calibration.as_record(),
            "calibration_test": calibration_table.to_dict(orient="records"),
            "deciles": deciles[candidate.name].to_dict(orient="records"),
            "decile_edges": edges,
            "reference": reference_values(x_train, candidate.features),
            "transformed_means": (
                transformed_means(candidate.pipeline, x_train[columns])
                if is_logistic(candidate.pipeline) else None
            ),
        }  # fmt: skip
        model_path = artifacts.save(folder / candidate.name, candidate.pipeline, metadata)
        metadatas[candidate.name] = metadata
        runs.append(
            {
                "run_id": run_id, "training_id": training_id, "trained_at": trained_at,
                "candidate": candidate.name, "model_type": candidate.model_type,
                "features": json.dumps(columns), "split_cut": split.cut,
                "train_rows": split.train_rows, "test_rows": split.test_rows,
                "train_from": split.train_from, "train_to": split.train_to,
                "test_from": split.test_from, "test_to": split.test_to,
                **{name: metrics[name] for name in METRIC_COLUMNS},
                "rule_watchlist_lift": problem.rule_lift,
                "metrics_json": json.dumps(metadata["metrics"]),
                "data_fingerprint": fingerprint, "library_versions": json.dumps(versions),
                "seed": seed, "artifact_path": str(model_path.resolve()),
                "validation_cut": split.validation_cut,
                "validation_rows": split.validation_rows,
                "validation_from": split.validation_from, "validation_to": split.validation_to,
                "validation_auc": validation["auc"], "validation_ks": validation["ks"],
                "validation_brier": validation["brier"],
                "mean_pd": metrics["mean_pd"], "default_rate": metrics["default_rate"],
                "calibration_method": calibration.method, "target": target,
                "calibration_slope": calibration.slope,
                "calibration_intercept": calibration.intercept,
                "model_family": problem.family,
            }
        )  # fmt: skip
    table = pd.DataFrame(runs)
    champion = choose_champion(
        dict(zip(table["candidate"], table["validation_auc"], strict=True)),
        [candidate.name for candidate in problem.candidates],
    )
    table["is_champion"] = table["candidate"] == champion
    progress(
        f"champion: {champion} (the simplest candidate within {CHAMPION_AUC_TOLERANCE} of the "
        "best validation AUC)"
    )
    ensure_tables(store)
    register_runs(store, table)
    register_calibration(store, pd.concat(calibrations, ignore_index=True))
    store.commit()
    best = table.loc[table["is_champion"]].iloc[0]
    if write_champion:
        write_pointer(model_dir, best["run_id"], Path(best["artifact_path"]))
    for name, metadata in metadatas.items():
        write_model_card(folder / name, metadata, is_champion=name == champion)
    aucs = dict(zip(table["candidate"], table["auc"], strict=True))
    return TrainingReport(
        training_id=training_id,
        split=split,
        metrics=table[["candidate", *REPORT_COLUMNS, "rule_watchlist_lift", "is_champion"]],
        champion=champion,
        folder=folder,
        roc_plot=plots.roc_plot(y_test, scores, aucs, folder / "roc.png"),
        lift_plot=plots.lift_plot(deciles, folder / "lift_by_decile.png"),
    )
