"""`python -m ml score`: the latest champion's PD for every loan, active and resolved.

Idempotent per model run: the predictions of a run are written once (one transaction), so
re-running adds nothing; a new champion adds its own rows and dbt reads the newest run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ingest.warehouse.session import WarehouseSession
from ml import artifacts
from ml.features import KEY, check_no_leakage, model_frame
from ml.metrics import score_deciles
from ml.registry import LOAN_PREDICTIONS, ensure_tables, latest_champion, scored_rows

FEATURES_QUERY = "select * from marts.ml_features"


@dataclass(frozen=True)
class ScoringReport:
    run_id: str
    candidate: str
    loans_scored: int
    already_scored: bool
    seconds: float

    @property
    def loans_per_second(self) -> float:
        return self.loans_scored / self.seconds if self.seconds else 0.0


def predictions(pipeline, features: list[str], loans: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One row per loan: PD, its decile within this book (10 = riskiest), run and time."""
    check_no_leakage(features)
    pd_values = pipeline.predict_proba(model_frame(loans)[features])[:, 1]
    return pd.DataFrame(
        {
            KEY: loans[KEY].astype("int64").to_numpy(),
            "run_id": run_id,
            "pd": pd_values,
            "risk_decile": score_deciles(pd_values),
            "scored_at": datetime.now(UTC).replace(tzinfo=None),
        }
    )


def score(store: WarehouseSession) -> ScoringReport:
    started = time.perf_counter()
    ensure_tables(store)
    champion = latest_champion(store)
    if existing := scored_rows(store, champion.run_id):
        return ScoringReport(champion.run_id, champion.candidate, existing, True, 0.0)
    pipeline, metadata = artifacts.load(Path(champion.artifact_path))
    loans = store.frame(FEATURES_QUERY)
    scored = predictions(pipeline, metadata["features"], loans, champion.run_id)
    store.append(LOAN_PREDICTIONS, scored)
    store.commit()
    return ScoringReport(
        champion.run_id, champion.candidate, len(scored), False, time.perf_counter() - started
    )
