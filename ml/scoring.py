"""`python -m ml score`: the latest champion's PD for every loan it has not scored yet.

The loans scored are those of marts.ml_features without a row for the champion's run in
ml.loan_predictions (an anti-join), appended in one transaction: after a retrain that is the
whole book, afterwards the loans that landed since (a top-up), and re-running adds nothing.

Risk deciles: the first scoring of a run ranks its book (ml.metrics.score_deciles). A top-up
does not re-rank (that would move loans already scored, and a handful of new loans ranked
among themselves would spread over all ten deciles whatever their PDs); each new loan gets
the decile of the run's existing book its PD falls in, by the highest PD of each decile
(ml.metrics.deciles_by_edges), so deciles stay comparable across the run's loans.
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
from ml.metrics import deciles_by_edges, score_deciles
from ml.registry import LOAN_PREDICTIONS, ensure_tables, latest_champion

UNSCORED_QUERY = f"""
select features.*
from marts.ml_features as features
where not exists (
    select 1 from {LOAN_PREDICTIONS} as scored
    where scored.run_id = ? and scored.loan_id = features.{KEY}
)
"""
DECILE_TOPS_QUERY = f"""
select risk_decile, max(pd) as top_pd, count(*) as loans
from {LOAN_PREDICTIONS}
where run_id = ?
group by risk_decile
"""


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


def predictions(
    pipeline, features: list[str], loans: pd.DataFrame, run_id: str, decile_tops: pd.Series
) -> pd.DataFrame:
    """One row per loan: PD, its decile (10 = riskiest), run and time. The deciles rank the
    loans among themselves when the run has no book yet (`decile_tops` empty), else place
    them by the book's decile tops."""
    check_no_leakage(features)
    pd_values = pipeline.predict_proba(model_frame(loans)[features])[:, 1]
    deciles = (
        deciles_by_edges(pd_values, decile_tops) if len(decile_tops) else score_deciles(pd_values)
    )
    return pd.DataFrame(
        {
            KEY: loans[KEY].astype("int64").to_numpy(),
            "run_id": run_id,
            "pd": pd_values,
            "risk_decile": deciles,
            "scored_at": datetime.now(UTC).replace(tzinfo=None),
        }
    )


def score(store: WarehouseSession) -> ScoringReport:
    started = time.perf_counter()
    ensure_tables(store)
    champion = latest_champion(store)
    book = store.frame(DECILE_TOPS_QUERY, [champion.run_id])
    already = int(book["loans"].sum())
    loans = store.frame(UNSCORED_QUERY, [champion.run_id])
    if loans.empty:
        return ScoringReport(champion.run_id, champion.candidate, 0, already, 0.0)
    pipeline, metadata = artifacts.load(Path(champion.artifact_path))
    decile_tops = book.set_index("risk_decile")["top_pd"]
    scored = predictions(pipeline, metadata["features"], loans, champion.run_id, decile_tops)
    store.append(LOAN_PREDICTIONS, scored)
    store.commit()
    return ScoringReport(
        champion.run_id, champion.candidate, len(scored), already, time.perf_counter() - started
    )
