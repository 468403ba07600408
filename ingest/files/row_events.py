"""Which events a file's rows become: its header says which kind of LendingClub file it is.

An export row becomes its application and performance events (ingest.events.LoanEventBuilder);
a payment-history row one loan-month event (ingest.payment_history.LoanMonthBuilder). The
loader and the producer both ask here, so a file lands and streams as the same events.
"""

from __future__ import annotations

from pathlib import Path

from ingest.events import LoanEventBuilder
from ingest.payment_history import LoanMonthBuilder, is_payment_history

RowBuilder = LoanEventBuilder | LoanMonthBuilder


def row_builder(header: list[str], path: Path, latest_year: int) -> RowBuilder:
    """The builder for the rows under `header`, naming `path` as the events' source."""
    if is_payment_history(header):
        return LoanMonthBuilder(header, f"lendingclub-pmthist:{path.name}", latest_year)
    return LoanEventBuilder(header, f"lendingclub-csv:{path.name}", latest_year)
