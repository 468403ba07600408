"""The errors `python -m ml` reports as one line a user can act on. Kept apart from the
modules that raise them so the command line can name them without importing scikit-learn
and matplotlib (7 of the 10 s `python -m ml --help` took)."""

from __future__ import annotations


class NotEnoughData(ValueError):
    """Too few resolved loans, or only one outcome, to train and test a model."""


class SplitError(ValueError):
    """The cut leaves one side of the split empty."""


class NoChampionError(LookupError):
    """Scoring was asked for before any model was trained."""
