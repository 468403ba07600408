"""The terminal tables `make demo` and `python -m exports report` print."""

import pandas as pd

from exports.console_report import (
    format_backtest,
    format_backtest_by_year,
    format_kpis,
    format_watchlist,
)


def test_kpis_print_readably_and_missing_values_as_na():
    kpis = pd.DataFrame(
        [
            {
                "resolved_loans": 21412,
                "resolved_default_rate": 0.21534,
                "resolved_rule_flagged_loans": 1871,
                "resolved_rule_flagged_share": 0.0874,
                "resolved_rule_flagged_default_rate": None,
                "resolved_rule_lift": 1.6931,
                "active_loans": 30125,
                "active_flagged_loans": 5612,
            }
        ]
    )
    text = format_kpis(kpis)
    assert "21,412" in text and "0.2153" in text and "1.69" in text
    assert "resolved_rule_flagged_default_rate" in text and "n/a" in text
    # The live watchlist's figures under their own heading, never as "watchlist rows".
    assert "The live watchlist: active loans" in text and "5,612" in text
    assert text.index("resolved_rule_lift") < text.index("active_flagged_loans")


def test_an_empty_watchlist_says_so_instead_of_printing_an_empty_frame():
    text = format_watchlist(pd.DataFrame(columns=["loan_id", "reason_codes"]), 0)
    assert "no active loan is flagged" in text and "Empty DataFrame" not in text


def test_watchlist_title_counts_shown_and_total():
    rows = pd.DataFrame([{"loan_id": 7, "reason_codes": "LATE_31_120"}])
    assert "top 1 of 1,234 active loans flagged" in format_watchlist(rows, 1234)


def test_the_backtest_prints_per_trigger_or_says_there_is_nothing_to_backtest():
    rows = pd.DataFrame(
        [{"trigger": "original_rule", "defaults": 454, "captured_3m": 0.11},
         {"trigger": "any", "defaults": 454, "captured_3m": 1.0}]
    )  # fmt: skip
    text = format_backtest(rows)
    assert "original_rule" in text and "0.11" in text and "caught 1/3/6 months ahead" in text
    assert "no default" in format_backtest(rows.assign(defaults=0))


def test_the_backtest_by_year_compares_the_model_triggers_on_the_same_charge_offs():
    rows = pd.DataFrame(
        [{"charge_off_year": "2018", "trigger": "model", "defaults": 1205, "captured_3m": 0.41},
         {"charge_off_year": "2018", "trigger": "behaviour_model", "defaults": 1205, "captured_3m": 0.55},
         {"charge_off_year": "2019", "trigger": "model", "defaults": 420, "captured_3m": 0.38},
         {"charge_off_year": "2019", "trigger": "behaviour_model", "defaults": 420, "captured_3m": 1.0}]
    )  # fmt: skip
    lines = format_backtest_by_year(rows).splitlines()
    assert lines[1].split() == ["charge_off_year", "model", "behaviour_model", "charge_offs"]
    assert lines[3].split() == ["2019", "0.38", "1.00", "420"]
    assert format_backtest_by_year(rows.iloc[0:0]) == ""
