"""`python -m ml train`: fit every candidate on earlier cohorts, judge them on later ones,
keep them all in the registry and flag the champion (best out-of-time AUC)."""

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
from ml.candidates import candidates
from ml.errors import NotEnoughData
from ml.features import CATEGORICAL_FEATURES, LABEL, check_no_leakage, model_frame
from ml.metrics import calibration_table, decile_table, evaluate, flag_lift
from ml.registry import ensure_tables, register_runs
from ml.serving.champion import write_pointer
from ml.time_split import TimeSplit, out_of_time_split

FEATURES_QUERY = "select * from marts.ml_features order by loan_id"
METRIC_COLUMNS = ("auc", "gini", "ks", "brier", "top_decile_lift")


def decile_edges(scores: np.ndarray) -> list[float]:
    """The 9 PDs that cut the model's own training and test scores into tenths: an arriving
    loan's decile is where its PD falls among them (ml/serving/champion.py)."""
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


@dataclass(frozen=True)
class TrainingReport:
    training_id: str
    split: TimeSplit
    metrics: pd.DataFrame  # one row per candidate, plus the rule watchlist's lift
    champion: str
    folder: Path
    roc_plot: Path
    lift_plot: Path


def train(
    store: WarehouseSession,
    model_dir: Path,
    cut: date | None = None,
    seed: int = 42,
    progress: Callable[[str], None] = print,
) -> TrainingReport:
    loans = store.frame(FEATURES_QUERY)
    resolved = loans[loans[LABEL].notna()]
    if len(resolved) < 100 or resolved[LABEL].astype(bool).nunique() < 2:
        raise NotEnoughData(
            f"{len(resolved)} resolved loans in marts.ml_features: need at least 100, with "
            "both defaults and fully paid loans (run the pipeline up to dbt build first)"
        )
    train_rows, test_rows, split = out_of_time_split(resolved, cut)
    progress(
        f"out-of-time split at {split.cut}: train {split.train_rows:,} loans issued "
        f"{split.train_from}..{split.train_to}, test {split.test_rows:,} issued "
        f"{split.test_from}..{split.test_to}"
    )
    y_train = train_rows[LABEL].astype(bool).to_numpy().astype(int)
    y_test = test_rows[LABEL].astype(bool).to_numpy().astype(int)
    x_train, x_test = model_frame(train_rows), model_frame(test_rows)
    rule_lift = flag_lift(y_test, test_rows["is_rule_watchlist"].astype(bool).to_numpy())

    training_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    folder = model_dir / training_id
    trained_at = datetime.now(UTC).replace(tzinfo=None)
    fingerprint = artifacts.data_fingerprint(resolved)
    versions = artifacts.library_versions()
    runs, scores, deciles = [], {}, {}
    for candidate in candidates(seed):
        check_no_leakage(candidate.features)
        started = time.perf_counter()
        candidate.pipeline.fit(x_train[list(candidate.features)], y_train)
        score = candidate.pipeline.predict_proba(x_test[list(candidate.features)])[:, 1]
        fitted = candidate.pipeline.predict_proba(x_train[list(candidate.features)])[:, 1]
        metrics = evaluate(y_test, score)
        progress(
            f"  {candidate.name:<18} AUC {metrics['auc']:.4f}  KS {metrics['ks']:.4f}  "
            f"fit {time.perf_counter() - started:.1f}s"
        )
        scores[candidate.name], deciles[candidate.name] = score, decile_table(y_test, score)
        run_id = f"{training_id}-{candidate.name}"
        metadata = {
            "run_id": run_id, "training_id": training_id, "candidate": candidate.name,
            "model_type": candidate.model_type, "features": list(candidate.features),
            "split": split.as_record(), "seed": seed, "data_fingerprint": fingerprint,
            "library_versions": versions, "metrics": metrics,
            "deciles": deciles[candidate.name].to_dict(orient="records"),
            "calibration": calibration_table(y_test, score).to_dict(orient="records"),
            "decile_edges": decile_edges(np.concatenate([fitted, score])),
            "reference": reference_values(x_train, candidate.features),
        }  # fmt: skip
        model_path = artifacts.save(folder / candidate.name, candidate.pipeline, metadata)
        runs.append(
            {
                "run_id": run_id, "training_id": training_id, "trained_at": trained_at,
                "candidate": candidate.name, "model_type": candidate.model_type,
                "features": json.dumps(list(candidate.features)), "split_cut": split.cut,
                "train_rows": split.train_rows, "test_rows": split.test_rows,
                "train_from": split.train_from, "train_to": split.train_to,
                "test_from": split.test_from, "test_to": split.test_to,
                **{name: metrics[name] for name in METRIC_COLUMNS},
                "rule_watchlist_lift": rule_lift,
                "metrics_json": json.dumps(metadata["metrics"]),
                "data_fingerprint": fingerprint, "library_versions": json.dumps(versions),
                "seed": seed, "artifact_path": str(model_path.resolve()),
            }
        )  # fmt: skip
    table = pd.DataFrame(runs)
    champion = table.loc[table["auc"].idxmax(), "candidate"]
    table["is_champion"] = table["candidate"] == champion
    ensure_tables(store)
    register_runs(store, table)
    store.commit()
    best = table.loc[table["is_champion"]].iloc[0]
    write_pointer(model_dir, best["run_id"], Path(best["artifact_path"]))
    aucs = dict(zip(table["candidate"], table["auc"], strict=True))
    return TrainingReport(
        training_id=training_id,
        split=split,
        metrics=table[["candidate", *METRIC_COLUMNS, "rule_watchlist_lift", "is_champion"]],
        champion=champion,
        folder=folder,
        roc_plot=plots.roc_plot(y_test, scores, aucs, folder / "roc.png"),
        lift_plot=plots.lift_plot(deciles, folder / "lift_by_decile.png"),
    )
