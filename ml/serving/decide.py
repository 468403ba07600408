"""One application in, one decision out: cleaning, the rule and the champion, together.

The one place the stream scorer and the API decide an application, so the two can never
disagree. Pure but for the model call: no warehouse, no clock (the caller passes the year
that bounds two-digit years).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.events import EventError, loan_identity
from ml.serving.champion import LoadedChampion, ModelOutput
from ml.serving.cleaning import clean_application, lc_loan_id, text
from ml.serving.rules import MISSING_REQUIRED, REJECTED, RuleDecision, Thresholds, decide

# The original API's required fields: amount, income, dti, rate, and credit history (the
# issue month and the first credit line, whose difference it is). A field is missing when it
# is absent, empty or unreadable (its cleaned value is null).
REQUIRED = {
    "loan_amnt": "loan_amnt",
    "annual_inc": "annual_inc",
    "dti": "dti",
    "int_rate": "int_rate",
    "issue_d": "issue_date",
    "earliest_cr_line": "earliest_cr_line_date",
}


@dataclass(frozen=True)
class ApplicationDecision:
    loan_id: int | None
    missing_required: tuple[str, ...]
    unparseable: tuple[str, ...]
    features: dict[str, Any]
    rule: RuleDecision
    model_run_id: str | None
    model: ModelOutput | None

    @property
    def valid(self) -> bool:
        return not self.missing_required and not self.unparseable and self.loan_id is not None


def _loan_id(application: Mapping[str, Any]) -> int | None:
    """The `id` column, else the id in `url`, as the loader reads them; None if neither."""
    try:
        identity = loan_identity(
            text(application.get("id")) or "", text(application.get("url")) or ""
        )
    except EventError:
        return None
    return lc_loan_id(identity)


def _rejected(rule: RuleDecision) -> RuleDecision:
    return RuleDecision(
        rule.dti_band, rule.util_band, rule.rate_band, False, REJECTED, (MISSING_REQUIRED,)
    )


def decide_applications(
    applications: Sequence[Mapping[str, Any]],
    landed_year: int,
    thresholds: Thresholds,
    champion: LoadedChampion | None,
    explain: bool = True,
) -> list[ApplicationDecision]:
    """Decide each application; the model scores the ones with every required field in one
    call. An application missing one is tier Rejected, reason MISSING_REQUIRED_FIELDS, no PD
    (the API answers 422 before this unless the caller asked for that)."""
    cleaned = [clean_application(a, landed_year, thresholds.dti_max_valid) for a in applications]
    missing = [
        tuple(key for key, column in REQUIRED.items() if c.values[column] is None) for c in cleaned
    ]
    scored_rows = [i for i, gaps in enumerate(missing) if not gaps]
    outputs: dict[int, ModelOutput] = {}
    if champion is not None and scored_rows:
        results = champion.score([cleaned[i].values for i in scored_rows], explain)
        outputs = dict(zip(scored_rows, results, strict=True))
    decisions = []
    for i, (application, clean) in enumerate(zip(applications, cleaned, strict=True)):
        rule = decide(clean.values, thresholds)
        decisions.append(
            ApplicationDecision(
                loan_id=_loan_id(application),
                missing_required=missing[i],
                unparseable=clean.unparseable,
                features=clean.values,
                rule=_rejected(rule) if missing[i] else rule,
                model_run_id=champion.run_id if i in outputs and champion else None,
                model=outputs.get(i),
            )
        )
    return decisions
