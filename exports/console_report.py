"""The KPI summary and the top of the watchlist as readable terminal tables."""

from __future__ import annotations

import pandas as pd

KPI_QUERY = "select * from marts.kpi_summary where segment_type = 'portfolio'"
WATCHLIST_QUERY = """
select loan_id, grade, loan_status, dti, revol_util, delinq_2yrs, inq_last_6mths, pd, reason_codes
from marts.early_warning_watchlist
order by severity desc, dti desc nulls last, loan_id
limit {limit}
"""
WATCHLIST_COUNT_QUERY = "select count(*) as active_on_watchlist from marts.early_warning_watchlist"

_KPI_FORMATS = {
    "resolved_loans": "{:,.0f}",
    "resolved_default_rate": "{:.4f}",
    "resolved_rule_flagged_loans": "{:,.0f}",
    "resolved_rule_flagged_share": "{:.4f}",
    "resolved_rule_flagged_default_rate": "{:.4f}",
    "resolved_rule_lift": "{:.2f}",
}


def format_kpis(kpis: pd.DataFrame) -> str:
    row = kpis.iloc[0]
    width = max(len(name) for name in _KPI_FORMATS)
    lines = ["KPI summary (resolved loans)", "-" * (width + 14)]
    for name, fmt in _KPI_FORMATS.items():
        value = row[name]
        text = "n/a" if pd.isna(value) else fmt.format(value)
        lines.append(f"{name:<{width}}  {text:>12}")
    return "\n".join(lines)


def format_watchlist(watchlist: pd.DataFrame, active_total: int) -> str:
    if watchlist.empty:
        return "Early-warning watchlist: no active loan is flagged (the book may hold only resolved loans)"
    title = (
        f"Early-warning watchlist: top {len(watchlist)} of {active_total:,} active loans flagged"
    )
    return f"{title}\n{watchlist.to_string(index=False, na_rep='-', float_format='{:.2f}'.format)}"
