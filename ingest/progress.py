"""Progress lines for long work, at most one every few seconds, on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressReporter:
    def __init__(self, label: str, every_seconds: float = 2.0, stream: TextIO | None = None):
        self.label = label
        self.every_seconds = every_seconds
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self._last = self.started

    def update(self, done: int, total: int | None, unit: str, rate_of: int | None = None) -> None:
        """Print a line if enough time has passed; `rate_of` is the count to show a rate for."""
        now = time.perf_counter()
        if now - self._last < self.every_seconds:
            return
        self._last = now
        count = rate_of if rate_of is not None else done
        rate = count / max(now - self.started, 1e-9)
        share = f"{100 * done / total:5.1f}% " if total else ""
        print(f"{self.label}: {share}{count:,} {unit} ({rate:,.0f}/s)", file=self.stream)
