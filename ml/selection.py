"""The champion rule: the best validation AUC, unless a simpler candidate is within a
tolerance of it.

A difference of a few thousandths of AUC between two candidates on a validation set of a few
thousand loans is noise (the standard error of an AUC of 0.7 on 2,000 loans with 20% defaults
is about 0.016 by Hanley and McNeil), while the simpler model is easier to explain, to monitor and to defend. So
among the candidates whose validation AUC is within `CHAMPION_AUC_TOLERANCE` of the best, the
simplest wins: the candidates are listed simplest first (ml/candidates.py). The test set only
reports the winner's figures; it never picks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

CHAMPION_AUC_TOLERANCE = 0.005


def choose_champion(
    validation_auc: Mapping[str, float],
    simplest_first: Sequence[str],
    tolerance: float = CHAMPION_AUC_TOLERANCE,
) -> str:
    """The first of `simplest_first` whose validation AUC is within `tolerance` of the best."""
    missing = [name for name in simplest_first if name not in validation_auc]
    if missing or not simplest_first:
        raise ValueError(f"no validation AUC for {', '.join(missing) or 'any candidate'}")
    floor = max(validation_auc[name] for name in simplest_first) - tolerance - 1e-12
    return next(name for name in simplest_first if validation_auc[name] >= floor)
