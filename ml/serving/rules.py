"""The early-warning rule on one loan: bands, flag, tier and one reason per condition met.

The thresholds are dbt's own variables, read from dbt_project.yml (`watchlist_*`,
`dti_max_valid`), so the rule decided on arrival and the rule in int_loans__rule_banded are one
rule; band edges and tiers are that model's CASE expressions, and a test runs both on the same
rows. The behaviour trigger on a performance event is the watchlist's
(early_warning_watchlist.sql): grace or late statuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILE = Path(__file__).resolve().parents[2] / "dbt_project.yml"
CREDIT_POLICY_PREFIX = "Does not meet the credit policy. Status:"
BEHAVIOUR_REASONS = {
    "In Grace Period": "BEHAVIOUR_GRACE",
    "Late (16-30 days)": "BEHAVIOUR_LATE_16_30",
    "Late (31-120 days)": "BEHAVIOUR_LATE_31_120",
}
REJECTED = "Rejected"
MISSING_REQUIRED = "MISSING_REQUIRED_FIELDS"


@dataclass(frozen=True)
class Thresholds:
    dti_min: float
    revol_util_min: float
    delinq_2yrs_min: float
    inq_last_6mths_min: float
    pd_min: float
    dti_max_valid: float

    @classmethod
    def from_vars(cls, variables: Mapping[str, Any]) -> Thresholds:
        return cls(
            dti_min=float(variables["watchlist_dti_min"]),
            revol_util_min=float(variables["watchlist_revol_util_min"]),
            delinq_2yrs_min=float(variables["watchlist_delinq_2yrs_min"]),
            inq_last_6mths_min=float(variables["watchlist_inq_last_6mths_min"]),
            pd_min=float(variables["watchlist_pd_min"]),
            dti_max_valid=float(variables["dti_max_valid"]),
        )


@cache
def project_thresholds(project_file: Path = PROJECT_FILE) -> Thresholds:
    """The thresholds in dbt_project.yml's `vars:`, as dbt builds with them."""
    return Thresholds.from_vars(yaml.safe_load(project_file.read_text())["vars"])


@dataclass(frozen=True)
class RuleDecision:
    dti_band: str
    util_band: str
    rate_band: str
    early_warning_flag: bool
    risk_tier: str
    reasons: tuple[str, ...]


def _at_least(value: float | None, threshold: float) -> bool:
    return value is not None and value >= threshold


def _band(value: float | None, edges: tuple[float, ...]) -> str:
    """'unknown', then closed-below bands: edges (10, 20, 30) -> '0-10' ... '30+'."""
    if value is None:
        return "unknown"
    lower = 0.0
    for edge in edges:
        if value < edge:
            return f"{lower:g}-{edge:g}"
        lower = edge
    return f"{lower:g}+"


def _reason(name: str, threshold: float) -> str:
    # A count's minimum of 1 is the original's 'DELINQ_2YRS>0'.
    return f"{name}>0" if threshold == 1 and name == "DELINQ_2YRS" else f"{name}>={threshold:g}"


def decide(features: Mapping[str, Any], thresholds: Thresholds) -> RuleDecision:
    """The rule on cleaned features (cleaning.clean_application's values)."""
    t = thresholds
    conditions = (
        ("DTI", features.get("dti"), t.dti_min, "leverage"),
        ("REVOL_UTIL", features.get("revol_util"), t.revol_util_min, "leverage"),
        ("DELINQ_2YRS", features.get("delinq_2yrs"), t.delinq_2yrs_min, "stress"),
        ("INQ_LAST_6MTHS", features.get("inq_last_6mths"), t.inq_last_6mths_min, "stress"),
    )
    met = [(name, threshold, half) for name, value, threshold, half in conditions
           if _at_least(value, threshold)]  # fmt: skip
    leverage = any(half == "leverage" for *_, half in met)
    stress = any(half == "stress" for *_, half in met)
    return RuleDecision(
        dti_band=_band(features.get("dti"), (10, 20, t.dti_min)),
        util_band=_band(features.get("revol_util"), (40, 60, t.revol_util_min)),
        rate_band=_band(features.get("int_rate"), (10, 15, 20)),
        early_warning_flag=leverage and stress,
        risk_tier=(
            "Watchlist" if leverage and stress else "Elevated" if leverage or stress else "Low"
        ),
        reasons=tuple(_reason(name, threshold) for name, threshold, _ in met),
    )


def behaviour_reason(loan_status: object) -> str | None:
    """The watchlist's behaviour trigger for a performance event's status, or None (also for
    a status that is no text: a payload from Kafka may hold anything)."""
    if not isinstance(loan_status, str):
        return None
    return BEHAVIOUR_REASONS.get(loan_status.strip(" ").removeprefix(CREDIT_POLICY_PREFIX))
