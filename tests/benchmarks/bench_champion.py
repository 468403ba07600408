"""A realistic champion for the serving benchmarks without the whole pipeline: the training
step's gradient-boosting candidate (ml/candidates.py) fitted on synthetic applications as the
serving path cleans them, labelled by their final status, saved and pointed at as `ml train`
leaves a champion (artefact, decile edges, references, champion.json)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import artifacts
from ml.candidates import candidates
from ml.features import model_frame
from ml.serving.champion import write_pointer
from ml.serving.cleaning import clean_application
from ml.training import decile_edges, reference_values

DEFAULTED = {"Charged Off", "Default"}


def read_applications(csv_path: Path) -> list[dict[str, Any]]:
    """The export's rows as dicts of raw text, past any preamble line."""
    lines = csv_path.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if "loan_amnt" in line)
    return list(csv.DictReader(lines[header:]))


def fit_champion(csv_path: Path, model_dir: Path) -> str:
    applications = read_applications(csv_path)
    cleaned = [clean_application(a, 2026, 100).values for a in applications]
    labels = np.array([a.get("loan_status", "").strip() in DEFAULTED for a in applications])
    candidate = next(c for c in candidates(seed=42) if c.name == "gradient_boosting")
    features = list(candidate.features)
    frame = model_frame(pd.DataFrame(cleaned))[features]
    candidate.pipeline.fit(frame, labels.astype(int))
    scores = candidate.pipeline.predict_proba(frame)[:, 1]
    run_id = "bench-gradient_boosting"
    metadata = {
        "run_id": run_id,
        "features": features,
        "decile_edges": decile_edges(scores),
        "reference": reference_values(frame, candidate.features),
    }
    write_pointer(
        model_dir, run_id, artifacts.save(model_dir / run_id, candidate.pipeline, metadata)
    )
    return run_id
