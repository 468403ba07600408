"""`python -m ml score`: the latest champion's PD for every loan it has not scored yet.

The loans scored are those of marts.ml_features without a row for the champion's run in
ml.loan_predictions (an anti-join), appended in one transaction: after a retrain that is the
whole book, afterwards the loans that landed since (a top-up), and re-running adds nothing.

The PD is the champion's calibrated PD (its Platt scaling from metadata.json,
ml/calibration.py). Risk deciles come from the decile edges fixed at training
(ml.metrics.deciles_from_edges): a loan's decile depends on its PD alone, so it does not move
when other loans arrive, and a top-up of a handful of loans lands where their PDs say
rather than spread over all ten deciles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ingest.warehouse.session import WarehouseSession
from ml import artifacts
from ml.calibration import Calibration
from ml.explain import score_and_explain, top_features
from ml.features import KEY, ORIGINATION, check_features, frame_for
from ml.metrics import deciles_from_edges
from ml.registry import LOAN_PREDICTIONS, ensure_tables, latest_champion

UNSCORED_QUERY = f"""
select features.*
from marts.ml_features as features
where not exists (
    select 1 from {LOAN_PREDICTIONS} as scored
    where scored.run_id = ? and scored.loan_id = features.{KEY}
)
"""
SCORED_COUNT_QUERY = f"select count(*) as loans from {LOAN_PREDICTIONS} where run_id = ?"


@dataclass(frozen=True)
class ScoringReport:
    run_id: str
    candidate: str
    loans_scored: int
    already_scored: int
    seconds: float

    @property
    def loans_per_second(self) -> float:
        return self.loans_scored / self.seconds if self.seconds else 0.0


def predictions(pipeline, metadata: dict, loans: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One row per loan (or loan-month, for the behavioural score): calibrated PD, its decile
    by the run's fixed edges (10 = riskiest), its top three features with direction
    (ml/explain.py), run and time."""
    features = list(metadata["features"])
    family = metadata.get("model_family", ORIGINATION)
    check_features(features, family)
    raw, explained = score_and_explain(pipeline, frame_for(family, loans)[features], metadata)
    pd_values = Calibration.from_record(metadata.get("calibration")).apply(raw)
    return pd.DataFrame(
        {
            KEY: loans[KEY].astype("int64").to_numpy(),
            "run_id": run_id,
            "pd": pd_values,
            "risk_decile": deciles_from_edges(pd_values, metadata["decile_edges"]),
            "scored_at": datetime.now(UTC).replace(tzinfo=None),
            "top_features": top_features(*explained) if explained else None,
        }
    )


def score(store: WarehouseSession) -> ScoringReport:
    started = time.perf_counter()
    ensure_tables(store)
    champion = latest_champion(store)
    already = int(store.frame(SCORED_COUNT_QUERY, [champion.run_id])["loans"].iloc[0])
    loans = store.frame(UNSCORED_QUERY, [champion.run_id])
    if loans.empty:
        return ScoringReport(champion.run_id, champion.candidate, 0, already, 0.0)
    pipeline, metadata = artifacts.load(Path(champion.artifact_path))
    scored = predictions(pipeline, metadata, loans, champion.run_id)
    store.append(LOAN_PREDICTIONS, scored)
    store.commit()
    return ScoringReport(
        champion.run_id, champion.candidate, len(scored), already, time.perf_counter() - started
    )
