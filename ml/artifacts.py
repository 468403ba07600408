"""A fitted pipeline on disk, with a JSON file that says what it is and how to trust it."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.pipeline import Pipeline

LIBRARIES = ("scikit-learn", "pandas", "numpy", "joblib")


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), **{name: version(name) for name in LIBRARIES}}


def data_fingerprint(frame: pd.DataFrame) -> str:
    """A hash of the training rows (values and order): same data, same fingerprint."""
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()[:32]


def save(folder: Path, pipeline: Pipeline, metadata: dict[str, Any]) -> Path:
    """model.joblib and metadata.json in `folder`; returns the model's path."""
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / "model.joblib"
    joblib.dump(pipeline, model_path)
    metadata = {**metadata, "artifact_sha256": _sha256(model_path)}
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str))
    return model_path


def load(model_path: Path) -> tuple[Pipeline, dict[str, Any]]:
    """The pipeline and its metadata; refuses an artifact that is not the one registered."""
    metadata = json.loads((model_path.parent / "metadata.json").read_text())
    if _sha256(model_path) != metadata["artifact_sha256"]:
        raise ValueError(f"{model_path} does not match the checksum in its metadata.json")
    return joblib.load(model_path), metadata


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
