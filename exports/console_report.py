"""The KPI summary and the top of the watchlist as readable terminal tables."""

from __future__ import annotations

import pandas as pd

KPI_QUERY = "select * from marts.kpi_summary where segment_type = 'portfolio'"
# In the watchlist's own order (watchlist_rank: severity, then expected loss).
WATCHLIST_QUERY = """
select watchlist_rank as rank, loan_id, grade, loan_status, severity, out_prncp, pd,
    expected_loss, reason_codes
from marts.early_warning_watchlist
order by watchlist_rank
limit {limit}
"""
BACKTEST_QUERY = """
select trigger_name as trigger, defaults, captured_1m, captured_3m, captured_6m,
    median_lead_months, flagged_loans, flag_rate, precision_12m
from marts.ews_backtest
where default_definition = 'charged_off' and segment_type = 'all'
order by case trigger_name when 'original_rule' then 0 when 'rule' then 1
    when 'behaviour' then 2 when 'model' then 3 when 'behaviour_model' then 4 else 5 end
"""
# Per year of charge-off: the model triggers start at their first cutoff, so they compare on
# the years both cover.
BACKTEST_BY_YEAR_QUERY = """
select segment as charge_off_year, trigger_name as trigger, defaults, captured_3m
from marts.ews_backtest
where default_definition = 'charged_off' and segment_type = 'default_year'
    and segment <> 'none'
"""
WATCHLIST_COUNT_QUERY = "select count(*) as active_on_watchlist from marts.early_warning_watchlist"

# The original's six KPIs (the original rule on resolved loans), then the live watchlist's.
_KPI_SECTIONS = {
    "KPI summary: the original rule on resolved loans": {
        "resolved_loans": "{:,.0f}",
        "resolved_default_rate": "{:.4f}",
        "resolved_rule_flagged_loans": "{:,.0f}",
        "resolved_rule_flagged_share": "{:.4f}",
        "resolved_rule_flagged_default_rate": "{:.4f}",
        "resolved_rule_lift": "{:.2f}",
    },
    "The live watchlist: active loans": {
        "active_loans": "{:,.0f}",
        "active_flagged_loans": "{:,.0f}",
        "active_flagged_by_rule": "{:,.0f}",
        "active_flagged_by_behaviour": "{:,.0f}",
        "active_flagged_by_model": "{:,.0f}",
        "active_flagged_balance": "{:,.0f}",
        "active_30_plus_balance_rate": "{:.4f}",
    },
}


def format_kpis(kpis: pd.DataFrame) -> str:
    row = kpis.iloc[0]
    width = max(len(name) for names in _KPI_SECTIONS.values() for name in names)
    lines: list[str] = []
    for title, formats in _KPI_SECTIONS.items():
        if lines:
            lines.append("")
        lines += [title, "-" * (width + 14)]
        for name, fmt in formats.items():
            value = row.get(name)
            text = "n/a" if value is None or pd.isna(value) else fmt.format(value)
            lines.append(f"{name:<{width}}  {text:>12}")
    return "\n".join(lines)


def format_watchlist(watchlist: pd.DataFrame, active_total: int) -> str:
    if watchlist.empty:
        return "Early-warning watchlist: no active loan is flagged (the book may hold only resolved loans)"
    title = (
        f"Early-warning watchlist: top {len(watchlist)} of {active_total:,} active loans flagged"
    )
    return f"{title}\n{watchlist.to_string(index=False, na_rep='-', float_format='{:.2f}'.format)}"


def format_backtest(backtest: pd.DataFrame) -> str:
    if backtest.empty or not backtest["defaults"].sum():
        return "Early-warning backtest: no default in the payment histories to backtest on"
    return (
        "Early-warning backtest over the payment histories: share of defaults caught 1/3/6 months ahead, "
        "alert volume and 12-month precision per trigger\n"
        + backtest.to_string(index=False, na_rep="-", float_format="{:.2f}".format)
    )


def format_backtest_by_year(by_year: pd.DataFrame) -> str:
    """Charge-offs caught 3+ months ahead, a row per year of charge-off, a column per trigger."""
    if by_year.empty:
        return ""
    table = by_year.pivot(index="charge_off_year", columns="trigger", values="captured_3m")
    triggers = [t for t in ("behaviour", "model", "behaviour_model", "any") if t in table]
    table = table[triggers].assign(charge_offs=by_year.groupby("charge_off_year")["defaults"].max())
    return (
        "Charge-offs caught 3+ months ahead, by year of charge-off (model: the origination PD; "
        "behaviour_model: the behavioural score; each counts from its first cutoff)\n"
        + table.reset_index().to_string(index=False, na_rep="-", float_format="{:.2f}".format)
    )
