"""How well a score separates defaults from good loans, in the terms a risk team uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

DECILES = 10


def ks_statistic(labels: np.ndarray, scores: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the widest gap between the score distributions of bad and good."""
    false_positive, true_positive, _ = roc_curve(labels, scores)
    return float(np.max(true_positive - false_positive))


def score_deciles(scores: np.ndarray) -> np.ndarray:
    """1..10 by score rank, 10 = the riskiest tenth; ties keep their order of appearance."""
    ranks = pd.Series(scores).rank(method="first").to_numpy()
    return np.ceil(ranks * DECILES / len(scores)).astype(int)


def deciles_from_edges(scores: np.ndarray, edges: np.ndarray | list[float]) -> np.ndarray:
    """1..10 by where each score falls among the 9 decile edges fixed at training (a score
    equal to an edge goes above it): a loan's decile depends on its PD only, never on what
    else is in the book."""
    return np.searchsorted(np.asarray(edges, dtype=float), scores, side="right") + 1


def decile_table(labels: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """Loans, defaults, default rate, lift over the overall rate and mean score per decile."""
    frame = pd.DataFrame({"decile": score_deciles(scores), "label": labels, "score": scores})
    table = frame.groupby("decile").agg(
        loans=("label", "size"), defaults=("label", "sum"), mean_score=("score", "mean")
    )
    table["default_rate"] = table["defaults"] / table["loans"]
    table["lift"] = table["default_rate"] / frame["label"].mean()
    return table.reset_index()


def evaluate(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    auc = float(roc_auc_score(labels, scores))
    deciles = decile_table(labels, scores)
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": ks_statistic(labels, scores),
        "brier": float(brier_score_loss(labels, scores)),
        "top_decile_lift": float(deciles["lift"].iloc[-1]),
        "mean_pd": float(np.mean(scores)),
        "default_rate": float(np.mean(labels)),
    }


def flag_lift(labels: np.ndarray, flags: np.ndarray) -> float:
    """Default rate among flagged loans over the overall rate (the rule watchlist's lift)."""
    flags = flags.astype(bool)
    if not flags.any():
        return float("nan")
    return float(np.mean(labels[flags]) / np.mean(labels))
