"""The champion model in memory, for deciding on arrival: PD, fixed decile and top features.

`python -m ml train` registers the champion in the warehouse, then writes
`<MODEL_DIR>/champion.json` (run id and artefact path) by an atomic rename. The stream scorer
and the API watch that file, not the warehouse: a request never waits on a database, and a new
champion is picked up within `check_seconds` without a restart. With no champion yet, `current()`
is None and the rules still decide (pd null).

PDs are calibrated with the artefact's Platt scaling (ml/calibration.py), as in batch
scoring. Deciles on arrival use the edges fixed at training (the calibrated PDs' deciles over
the training cohorts, `decile_edges` in metadata.json), so one application's decile does not
depend on what else arrived. Top features: each feature in turn set to its training reference
(median, or most frequent category), the PD recomputed, and the features whose reference
moves the PD most, with the direction the loan's own value pushes it. Model-agnostic (the
champion is often gradient boosting), one predict call over (features + 1) rows per loan.

Speed: the gradient-boosting champion is scored from a plain float matrix by its own compiled
trees (`_BoostedTrees`), skipping pandas and the column transformer, whose fixed cost per call
(about 10 ms, most of a single application's time) capped `/score` at 165 requests/s here.
The shortcut is checked at load against the pipeline on probe rows (every category, unknown
and missing values) and falls back to the pipeline if they ever differ; any other champion
goes through its pipeline (`_Pipeline`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from ml import artifacts
from ml.calibration import Calibration
from ml.explain import is_logistic, logistic_contributions, top_contributions
from ml.features import model_frame_from_records
from ml.metrics import deciles_from_edges

log = logging.getLogger("ml.serving.champion")
POINTER_FILE = "champion.json"


@dataclass(frozen=True)
class TopFeature:
    feature: str
    direction: str  # 'raises' or 'lowers' the PD, against the training reference
    # Logistic champions: log-odds, coefficient x deviation from the training mean; others:
    # PD minus the PD with this feature at its reference (ml/explain.py).
    contribution: float


@dataclass(frozen=True)
class ModelOutput:
    pd: float
    risk_decile: int | None
    top_features: tuple[TopFeature, ...]


Columns = dict[str, np.ndarray]


class _Pipeline:
    """Any champion: its scikit-learn pipeline on a DataFrame of the features."""

    def __init__(self, pipeline: Any, features: list[str]) -> None:
        self.pipeline, self.features = pipeline, features

    def encode(self, records: list[dict[str, Any]]) -> Columns:
        frame = model_frame_from_records(records, self.features)
        return {name: frame[name].to_numpy() for name in self.features}

    def encode_value(self, name: str, value: Any) -> Any:
        return value

    def predict(self, columns: Columns) -> np.ndarray:
        frame = pd.DataFrame(columns, columns=self.features)
        return self.pipeline.predict_proba(frame)[:, 1]


class _BoostedTrees(_Pipeline):
    """The gradient-boosting pipeline (numeric passthrough, ordinal-coded categories, a
    HistGradientBoostingClassifier) as a float matrix through the fitted trees' compiled
    predictors, one thread: what `predict_proba` does after its checks and conversions."""

    def __init__(self, pipeline: Any, features: list[str]) -> None:
        super().__init__(pipeline, features)
        prepare, model = pipeline[0], pipeline[-1]
        self.codes: dict[str, dict[str, float]] = {}
        order: list[str] = []
        for name, transformer, columns in prepare.transformers_:
            if name == "remainder":
                continue
            order += list(columns)
            if isinstance(transformer, OrdinalEncoder):
                for column, categories in zip(columns, transformer.categories_, strict=True):
                    self.codes[column] = {str(c): float(i) for i, c in enumerate(categories)}
            elif not _passthrough(transformer):
                raise TypeError(f"not a boosted-trees pipeline: {name} is {transformer!r}")
        self.unknown = dict.fromkeys(self.codes, -1.0)
        # The classifier re-encodes its categorical columns itself (its own ordinal encoder,
        # unknown codes to NaN) and puts them first: both encodings become one lookup.
        inner = model._preprocessor
        if inner is not None:
            parts = {name: (step, mask) for name, step, mask in inner.transformers_}
            (encoder, categorical), (_, numerical) = parts["encoder"], parts["numerical"]
            order = [order[i] for i in np.flatnonzero(categorical)] + [
                order[i] for i in np.flatnonzero(numerical)
            ]
            for name, categories in zip(order, encoder.categories_, strict=False):
                position = {float(c): float(i) for i, c in enumerate(categories)}
                codes = self.codes[name]
                self.codes[name] = {k: position.get(v, np.nan) for k, v in codes.items()}
                self.unknown[name] = position.get(-1.0, np.nan)
        self.order = order
        self.model = model
        self.known_categories, self.feature_map = model._bin_mapper.make_known_categories_bitsets()

    def encode(self, records: list[dict[str, Any]]) -> Columns:
        columns = {}
        for name in self.features:
            values = [record.get(name) for record in records]
            if name in self.codes:
                values = [self.encode_value(name, value) for value in values]
            columns[name] = np.array(values, dtype=float)  # None becomes NaN
        return columns

    def encode_value(self, name: str, value: Any) -> float:
        if name in self.codes:  # as model_frame writes it, then the ordinal encoder's code
            category = "missing" if value is None else str(value)
            return self.codes[name].get(category, self.unknown[name])
        return np.nan if value is None else float(value)

    def predict(self, columns: Columns) -> np.ndarray:
        matrix = np.column_stack([columns[name] for name in self.order])
        raw = np.full(len(matrix), self.model._baseline_prediction[0, 0], dtype=float)
        for (tree,) in self.model._predictors:
            raw += tree.predict(matrix, self.known_categories, self.feature_map, 1)
        return expit(raw)


def _passthrough(transformer: Any) -> bool:
    """'passthrough' as a fitted column transformer holds it: an identity function."""
    if isinstance(transformer, str):
        return transformer == "passthrough"
    return isinstance(transformer, FunctionTransformer) and transformer.func is None


def _probe_records(features: list[str], codes: dict[str, dict[str, float]]) -> list[dict]:
    """Rows that visit every category, an unknown one, missing values and extreme numbers."""
    rows: list[dict[str, Any]] = [{}]  # everything missing
    for name, categories in codes.items():
        rows += [{name: c} for c in categories] + [{name: "never-seen"}]
    numeric = [name for name in features if name not in codes]
    rows += [{name: value for name in numeric} for value in (-1e9, 0.0, 1.0, 12.5, 1e9)]
    return rows


def _model(pipeline: Any, features: list[str]) -> _Pipeline:
    """The compiled trees where the pipeline is the boosted one and they agree with it on
    the probe rows, else the pipeline itself."""
    slow = _Pipeline(pipeline, features)
    if not isinstance(pipeline[-1], HistGradientBoostingClassifier):
        return slow
    try:
        fast = _BoostedTrees(pipeline, features)
    except (TypeError, AttributeError, IndexError, ValueError, KeyError) as exc:
        log.warning("boosted champion scored through its pipeline (slower): %r", exc)
        return slow
    probe = _probe_records(features, fast.codes)
    if np.allclose(fast.predict(fast.encode(probe)), slow.predict(slow.encode(probe)), 0, 1e-12):
        return fast
    log.warning("boosted champion scored through its pipeline (slower): its trees disagree")
    return slow


class LoadedChampion:
    def __init__(self, pipeline: Any, metadata: dict[str, Any]) -> None:
        self.run_id: str = metadata["run_id"]
        self.features: list[str] = list(metadata["features"])
        edges = metadata.get("decile_edges")
        self.decile_edges = np.asarray(edges, dtype=float) if edges else None
        self.reference: dict[str, Any] | None = metadata.get("reference")
        self.pipeline = pipeline
        self.means: list[float] | None = (
            metadata.get("transformed_means") if is_logistic(pipeline) else None
        )
        self.calibration = Calibration.from_record(metadata.get("calibration"))
        self.model = _model(pipeline, self.features)

    def deciles(self, pds: np.ndarray) -> list[int | None]:
        if self.decile_edges is None:
            return [None] * len(pds)
        return [int(d) for d in deciles_from_edges(pds, self.decile_edges)]

    def _pds(self, columns: Columns) -> np.ndarray:
        """The calibrated PDs (ml/calibration.py), as batch scoring gives them."""
        return self.calibration.apply(self.model.predict(columns))

    def score(self, features: list[dict[str, Any]], explain: bool = True) -> list[ModelOutput]:
        """PD, decile and (with `explain`, when the artefact has references) top features."""
        if not features:
            return []
        columns = self.model.encode(features)
        pds = self._pds(columns)
        deciles = self.deciles(pds)
        tops: list[tuple[TopFeature, ...]] = [()] * len(features)
        if explain and self.means is not None:
            tops = self._logistic_top_features(columns)
        elif explain and self.reference is not None:
            tops = self._top_features(columns, pds)
        return [ModelOutput(float(p), d, t) for p, d, t in zip(pds, deciles, tops, strict=True)]

    def _logistic_top_features(self, columns: Columns) -> list[tuple[TopFeature, ...]]:
        assert self.means is not None
        frame = pd.DataFrame(columns, columns=self.features)
        values, names = logistic_contributions(self.pipeline, frame, self.means)
        return [_top(row, names) for row in values]

    def _top_features(self, columns: Columns, pds: np.ndarray) -> list[tuple[TopFeature, ...]]:
        assert self.reference is not None
        n, names = len(pds), self.features
        swapped = {}
        for i, name in enumerate(names):  # block i of the rows: feature i at its reference
            column = np.tile(columns[name], len(names))
            column[i * n : (i + 1) * n] = self.model.encode_value(name, self.reference[name])
            swapped[name] = column
        at_reference = self._pds(swapped).reshape(len(names), n)
        contributions = pds[np.newaxis, :] - at_reference  # features x loans
        return [_top(contributions[:, loan], names) for loan in range(n)]


def _top(values: np.ndarray, names: list[str]) -> tuple[TopFeature, ...]:
    return tuple(
        TopFeature(name, "raises" if value > 0 else "lowers", value)
        for name, value in top_contributions(values, names)
    )


def write_pointer(model_dir: Path, run_id: str, artifact_path: Path) -> Path:
    """Point the servers at a new champion: write, then rename over the old pointer."""
    model_dir.mkdir(parents=True, exist_ok=True)
    pointer = model_dir / POINTER_FILE
    partial = pointer.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps({"run_id": run_id, "artifact_path": str(artifact_path)}))
    os.replace(partial, pointer)
    return pointer


class ChampionWatcher:
    """The current champion, reloaded when the pointer file changes (checked at most every
    `check_seconds`, a stat call). A pointer to a missing, tampered or unusable artefact
    (metadata without its features, say) keeps the model in use and records why in
    `last_error`: a request or a checkpoint never fails on a bad new champion."""

    def __init__(self, model_dir: Path, check_seconds: float = 1.0) -> None:
        self.pointer = model_dir / POINTER_FILE
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._checked = float("-inf")
        self._champion: LoadedChampion | None = None
        self.last_error: str | None = None

    def current(self) -> LoadedChampion | None:
        now = time.monotonic()
        if now - self._checked >= self.check_seconds:
            with self._lock:
                self._checked = now
                self._reload_if_changed()
        return self._champion

    def _reload_if_changed(self) -> None:
        try:
            stat = self.pointer.stat()
        except FileNotFoundError:
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen == self._seen:
            return
        self._seen = seen
        try:
            pointed = json.loads(self.pointer.read_text())
            pipeline, metadata = artifacts.load(Path(pointed["artifact_path"]))
            champion = LoadedChampion(pipeline, metadata)
        except Exception as exc:  # any artefact that cannot serve: keep the one in use
            self.last_error = f"champion pointer {self.pointer}: {type(exc).__name__}: {exc}"
            log.error("%s", self.last_error)
            return
        self._champion = champion
        self.last_error = None
