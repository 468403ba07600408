"""The terminal tables `make demo` and `python -m exports report` print."""

import pandas as pd

from exports.console_report import format_kpis, format_watchlist


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
            }
        ]
    )
    text = format_kpis(kpis)
    assert "21,412" in text and "0.2153" in text and "1.69" in text
    assert "resolved_rule_flagged_default_rate" in text and "n/a" in text


def test_an_empty_watchlist_says_so_instead_of_printing_an_empty_frame():
    text = format_watchlist(pd.DataFrame(columns=["loan_id", "reason_codes"]), 0)
    assert "no active loan is flagged" in text and "Empty DataFrame" not in text


def test_watchlist_title_counts_shown_and_total():
    rows = pd.DataFrame([{"loan_id": 7, "reason_codes": "LATE_31_120"}])
    assert "top 1 of 1,234 active loans flagged" in format_watchlist(rows, 1234)
