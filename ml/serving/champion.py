"""The champion model in memory, for deciding on arrival: PD, fixed decile and top features.

`python -m ml train` registers the champion in the warehouse, then writes
`<MODEL_DIR>/champion.json` (run id and artefact path) by an atomic rename. The stream scorer
and the API watch that file, not the warehouse: a request never waits on a database, and a new
champion is picked up within `check_seconds` without a restart. With no champion yet, `current()`
is None and the rules still decide (pd null).

Deciles on arrival use the edges fixed at training (the PD deciles of the rows the model was
trained and tested on, `decile_edges` in metadata.json), so one application's decile does not
depend on what else arrived. Top features: each feature in turn set to its training reference
(median, or most frequent category), the PD recomputed, and the features whose reference
moves the PD most, with the direction the loan's own value pushes it. Model-agnostic (the
champion is often gradient boosting), one predict call over (features + 1) rows per loan.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import artifacts
from ml.features import model_frame_from_records

POINTER_FILE = "champion.json"
TOP_FEATURES = 3


@dataclass(frozen=True)
class TopFeature:
    feature: str
    direction: str  # 'raises' or 'lowers' the PD, against the training reference
    contribution: float  # PD minus the PD with this feature at its reference


@dataclass(frozen=True)
class ModelOutput:
    pd: float
    risk_decile: int | None
    top_features: tuple[TopFeature, ...]


class LoadedChampion:
    def __init__(self, pipeline: Any, metadata: dict[str, Any]) -> None:
        self.pipeline = pipeline
        self.run_id: str = metadata["run_id"]
        self.features: list[str] = list(metadata["features"])
        edges = metadata.get("decile_edges")
        self.decile_edges = np.asarray(edges, dtype=float) if edges else None
        self.reference: dict[str, Any] | None = metadata.get("reference")

    def _frame(self, features: list[dict[str, Any]]) -> pd.DataFrame:
        return model_frame_from_records(features, self.features)

    def deciles(self, pds: np.ndarray) -> list[int | None]:
        if self.decile_edges is None:
            return [None] * len(pds)
        return [int(d) for d in np.searchsorted(self.decile_edges, pds, side="right") + 1]

    def score(self, features: list[dict[str, Any]], explain: bool = True) -> list[ModelOutput]:
        """PD, decile and (with `explain`, when the artefact has references) top features."""
        if not features:
            return []
        frame = self._frame(features)
        pds = self.pipeline.predict_proba(frame)[:, 1]
        deciles = self.deciles(pds)
        tops: list[tuple[TopFeature, ...]] = [()] * len(features)
        if explain and self.reference is not None:
            tops = self._top_features(frame, pds)
        return [ModelOutput(float(p), d, t) for p, d, t in zip(pds, deciles, tops, strict=True)]

    def _top_features(self, frame: pd.DataFrame, pds: np.ndarray) -> list[tuple[TopFeature, ...]]:
        assert self.reference is not None
        n, names = len(frame), self.features
        columns = {}
        for i, name in enumerate(names):  # block i of the rows: feature i at its reference
            column = np.tile(frame[name].to_numpy(), len(names))
            column[i * n : (i + 1) * n] = self.reference[name]
            columns[name] = column
        swapped = pd.DataFrame(columns, columns=names)
        at_reference = self.pipeline.predict_proba(swapped)[:, 1].reshape(len(names), n)
        contributions = pds[np.newaxis, :] - at_reference  # features x loans
        result = []
        for loan in range(n):
            column = contributions[:, loan]
            order = np.argsort(-np.abs(column), kind="stable")[:TOP_FEATURES]
            result.append(
                tuple(
                    TopFeature(names[i], "raises" if column[i] > 0 else "lowers", float(column[i]))
                    for i in order
                    if column[i] != 0
                )
            )
        return result


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
    `check_seconds`, a stat call). A pointer to a missing or tampered artefact keeps the
    model in use and records why in `last_error`."""

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
        except (OSError, ValueError, KeyError) as exc:
            self.last_error = f"champion pointer {self.pointer}: {exc}"
            return
        self._champion = LoadedChampion(pipeline, metadata)
        self.last_error = None
