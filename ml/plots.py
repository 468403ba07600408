"""ROC curves and lift by decile as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve


def roc_plot(
    labels: np.ndarray, scores: dict[str, np.ndarray], aucs: dict[str, float], path: Path
) -> Path:
    figure, axes = plt.subplots(figsize=(6, 6))
    for name, score in scores.items():
        false_positive, true_positive, _ = roc_curve(labels, score)
        axes.plot(false_positive, true_positive, label=f"{name} (AUC {aucs[name]:.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate",
             title="ROC, out-of-time test cohort")  # fmt: skip
    axes.legend(loc="lower right")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def lift_plot(deciles: dict[str, pd.DataFrame], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(deciles)
    for i, (name, table) in enumerate(deciles.items()):
        axes.bar(table["decile"] + (i - len(deciles) / 2 + 0.5) * width, table["lift"], width,
                 label=name)  # fmt: skip
    axes.axhline(1, color="grey", linestyle="--")
    axes.set(xlabel="score decile (10 = riskiest)", ylabel="lift over the cohort default rate",
             title="Lift by decile, out-of-time test cohort", xticks=range(1, 11))  # fmt: skip
    axes.legend()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
