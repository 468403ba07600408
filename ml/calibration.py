"""A PD that means what it says: Platt scaling fitted on the validation cohorts, and the
checks that the calibrated PDs match the default rates they predict.

Why Platt (a logistic regression on the raw score's log-odds) and not isotonic: it is
monotone, so the ranking, the AUC and the deciles' order do not change; it has two
parameters, so a validation set of a few thousand loans fits it without the steps isotonic
regression learns from noise; and it extrapolates smoothly to PDs beyond the validation
set's range. The two numbers live in the artefact's metadata.json (`calibration`), and every
path that turns a champion's score into a PD (batch scoring, the stream scorer, the API, the
out-of-time backtest models) applies them through `Calibration.apply`, so a calibrated PD is
the only PD the warehouse ever holds.

The check: per segment (score decile, grade, and the whole test set), the observed default
rate's Jeffreys interval (the Beta(d + 1/2, n - d + 1/2) quantiles, the binomial interval
regulators expect for default-rate backtests); a segment whose mean PD falls outside it is
miscalibrated at that confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import beta
from sklearn.linear_model import LogisticRegression

# Raw scores are clipped away from 0 and 1 before their log-odds are taken.
_EPSILON = 1e-6
JEFFREYS_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Calibration:
    """PD = expit(slope * logit(score) + intercept); the identity is slope 1, intercept 0."""

    slope: float = 1.0
    intercept: float = 0.0
    method: str = "none"

    def apply(self, scores: np.ndarray) -> np.ndarray:
        if self.method == "none":
            return np.asarray(scores, dtype=float)
        clipped = np.clip(np.asarray(scores, dtype=float), _EPSILON, 1 - _EPSILON)
        return expit(self.slope * logit(clipped) + self.intercept)

    def as_record(self) -> dict[str, object]:
        return {"method": self.method, "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_record(cls, record: dict[str, object] | None) -> Calibration:
        """From metadata.json; an artefact trained before calibration existed gets none."""
        if not record:
            return cls()
        return cls(float(record["slope"]), float(record["intercept"]), str(record["method"]))


def fit_platt(scores: np.ndarray, labels: np.ndarray) -> Calibration:
    """Platt scaling of `scores` to the 0/1 `labels` (lightly penalised, so a validation set
    the score separates perfectly gives a steep slope, not an infinite one). A slope that is
    not positive would reverse the score's ranking: the score is left uncalibrated then."""
    clipped = np.clip(np.asarray(scores, dtype=float), _EPSILON, 1 - _EPSILON)
    model = LogisticRegression(C=1e4)
    model.fit(logit(clipped).reshape(-1, 1), np.asarray(labels, dtype=int))
    slope, intercept = float(model.coef_[0, 0]), float(model.intercept_[0])
    if not slope > 0:
        return Calibration()
    return Calibration(slope, intercept, "platt")


def jeffreys_interval(
    defaults: int, loans: int, confidence: float = JEFFREYS_CONFIDENCE
) -> tuple[float, float]:
    """The Jeffreys interval of a default rate; 0 (or 1) at the end with no defaults (or no
    good loans), as is usual."""
    tail = (1 - confidence) / 2
    lower = 0.0 if defaults == 0 else float(beta.ppf(tail, defaults + 0.5, loans - defaults + 0.5))
    upper = (
        1.0
        if defaults == loans
        else float(beta.ppf(1 - tail, defaults + 0.5, loans - defaults + 0.5))
    )
    return lower, upper


def calibration_by_segment(
    labels: np.ndarray, pds: np.ndarray, segments: pd.Series, segment_type: str
) -> pd.DataFrame:
    """Observed against expected per segment: loans, defaults, observed default rate, mean
    PD, the observed rate's Jeffreys interval and whether the mean PD lies inside it."""
    frame = pd.DataFrame({"segment": segments.to_numpy(), "label": labels, "pd": pds})
    table = (
        frame.groupby("segment", sort=True)
        .agg(loans=("label", "size"), defaults=("label", "sum"), mean_pd=("pd", "mean"))
        .reset_index()
    )
    table["segment"] = table["segment"].astype(str)
    table["loans"] = table["loans"].astype(int)
    table["defaults"] = table["defaults"].astype(int)
    table["observed_default_rate"] = table["defaults"] / table["loans"]
    bounds = [
        jeffreys_interval(d, n) for d, n in zip(table["defaults"], table["loans"], strict=True)
    ]
    table["jeffreys_lower"] = [lower for lower, _ in bounds]
    table["jeffreys_upper"] = [upper for _, upper in bounds]
    table["is_within_interval"] = table["mean_pd"].between(
        table["jeffreys_lower"], table["jeffreys_upper"]
    )
    table.insert(0, "segment_type", segment_type)
    return table[
        [
            "segment_type", "segment", "loans", "defaults", "observed_default_rate", "mean_pd",
            "jeffreys_lower", "jeffreys_upper", "is_within_interval",
        ]
    ]  # fmt: skip
