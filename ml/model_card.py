"""A model card per trained run: `model_card.md` beside the artefact (under ML_MODEL_DIR, in
the lake folder by default), written from the run's metadata.json, so what a reviewer reads
is exactly what was registered: data, split, target, features, validation and test metrics,
calibration against observed default rates, and the known limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.features import BEHAVIOUR, ORIGINATION, target_text
from ml.selection import CHAMPION_AUC_TOLERANCE

CARD_FILE = "model_card.md"
ORIGINATION_LIMITS = (
    "With the default target (is_default) loans still open are left out, so recent cohorts "
    "count their early defaults and early prepayments only; the fixed-horizon targets "
    "(is_default_12m, _24m) avoid that but leave out the cohorts not yet observed that long.",
    "The features are origination fields only: the model does not see how a loan has paid "
    "since; the watchlist's behaviour trigger does.",
    "Calibration is fitted on the validation cohorts; a population that moves away from them "
    "moves the calibration too (monitoring.feature_drift and the drift report watch the "
    "features).",
    "Excluded features keep a proxy out of the model, not out of the data: the remaining "
    "features (grade, interest rate, income) can still correlate with protected "
    "characteristics, which a fair-lending review should test on outcomes.",
)
BEHAVIOUR_LIMITS = (
    "Split by month, not by loan: a loan's early months can train the model that is tested "
    "on its later months, and a training month's 6- or 12-month label window can reach into "
    "the validation months (a gap of the horizon would cost that many labelled months).",
    "Only loans with a monthly payment history are scored; a loan known from snapshots alone "
    "has no behavioural score.",
    "The label is a charge-off: on LendingClub's path it follows 120+ days past due, so a "
    "loan already 90-119 days late scores near 1 and the score's value lies in the loans "
    "not yet 30 days late.",
    "Calibration is fitted on the validation months; a change in servicing or collections "
    "moves it.",
)
# Per family: the mart it reads, what a row is, and the known limits.
FAMILIES = {
    ORIGINATION: ("marts.ml_features", "loans", "issue date", ORIGINATION_LIMITS),
    BEHAVIOUR: ("marts.ml_behaviour_features", "loan-months", "month", BEHAVIOUR_LIMITS),
}


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _segment(row: dict[str, Any]) -> str:
    """'all', 'decile 3', 'grade B'."""
    return "all" if row["segment_type"] == "all" else f"{row['segment_type']} {row['segment']}"


def render(metadata: dict[str, Any], is_champion: bool) -> str:
    split, metrics = metadata["split"], metadata["metrics"]
    validation = metadata.get("validation_metrics", {})
    calibration = metadata.get("calibration", {})
    target = metadata.get("target", "is_default")
    family = metadata.get("model_family", ORIGINATION)
    source, rows, split_on, limits = FAMILIES[family]
    lines = [
        f"# Model card: {metadata['run_id']}",
        "",
        f"- Candidate: `{metadata['candidate']}` ({metadata['model_type']})"
        + (" - **the champion of its training**" if is_champion else ""),
        f"- Champion rule: the simplest candidate within {CHAMPION_AUC_TOLERANCE} of the best "
        "validation AUC (ml/selection.py)",
        f"- Family: {family}",
        f"- Data: `{source}`, fingerprint `{metadata['data_fingerprint']}`, seed "
        f"{metadata['seed']}; libraries {metadata['library_versions']}",
        f"- Target: `{target}`: {target_text(target)}",
        "",
        f"## Split (by {split_on})",
        "",
        f"| set | {rows} | {split_on} |",
        "|---|---|---|",
        f"| training | {split['train_rows']:,} | {split['train_from']} .. {split['train_to']} |",
        f"| validation | {split['validation_rows']:,} | {split['validation_from']} .. "
        f"{split['validation_to']} |",
        f"| test | {split['test_rows']:,} | {split['test_from']} .. {split['test_to']} |",
        "",
        "## Features",
        "",
        ", ".join(f"`{name}`" for name in metadata["features"]),
        "",
        "Left out: "
        + (", ".join(f"`{name}`" for name in metadata.get("excluded_features", [])) or "none")
        + " (likely proxies for protected characteristics; ML_EXCLUDED_FEATURES).",
        "",
        "## Metrics",
        "",
        "| metric | validation (raw score) | test (calibrated PD) |",
        "|---|---|---|",
        *(
            f"| {name} | {_number(validation.get(name, ''))} | {_number(metrics[name])} |"
            for name in ("auc", "gini", "ks", "brier", "top_decile_lift")
        ),
        "",
        "## Calibration",
        "",
        f"{calibration.get('method', 'none')} scaling fitted on the validation cohorts "
        f"(slope {_number(calibration.get('slope', 1.0))}, intercept "
        f"{_number(calibration.get('intercept', 0.0))}). On the test cohorts the mean PD is "
        f"{metrics['mean_pd']:.4f} against an observed default rate of "
        f"{metrics['default_rate']:.4f} (calibration in the large "
        f"{metrics['mean_pd'] - metrics['default_rate']:+.4f}).",
        "",
        "| segment | loans | defaults | observed | mean PD | Jeffreys 95% | within |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {_segment(row)} | {row['loans']:,} | {row['defaults']:,} | "
            f"{row['observed_default_rate']:.4f} | {row['mean_pd']:.4f} | "
            f"{row['jeffreys_lower']:.4f} .. {row['jeffreys_upper']:.4f} | "
            f"{'yes' if row['is_within_interval'] else '**no**'} |"
            for row in metadata.get("calibration_test", [])
        ),
        "",
        "## Stability",
        "",
        "Decile edges are fixed at training (the calibrated PDs' deciles over the training "
        "cohorts) and score every later loan. The score's and the features' population "
        "stability against the training cohorts are monitored by `python -m exports drift` "
        "(monitoring.score_stability, monitoring.feature_drift).",
        "",
        "## Known limits",
        "",
        *(f"- {limit}" for limit in limits),
        "",
    ]
    return "\n".join(lines)


def write_model_card(folder: Path, metadata: dict[str, Any], is_champion: bool) -> Path:
    path = folder / CARD_FILE
    path.write_text(render(metadata, is_champion))
    return path
