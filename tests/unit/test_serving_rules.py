"""The rule decided on arrival, by hand: thresholds from dbt_project.yml, closed-below bands,
one reason per condition met, tiers, the behaviour trigger; and cleaning never raises."""

from __future__ import annotations

from datetime import date

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.serving.cleaning import clean_application, lc_integer, lc_month_date, lc_number
from ml.serving.rules import PROJECT_FILE, behaviour_reason, decide, project_thresholds
from tests.properties import json_values

THRESHOLDS = project_thresholds()


def test_thresholds_are_dbts_variables():
    variables = yaml.safe_load(PROJECT_FILE.read_text())["vars"]
    assert THRESHOLDS.dti_min == variables["watchlist_dti_min"] == 30
    assert THRESHOLDS.revol_util_min == variables["watchlist_revol_util_min"]
    assert THRESHOLDS.inq_last_6mths_min == variables["watchlist_inq_last_6mths_min"]
    assert THRESHOLDS.pd_min == variables["watchlist_pd_min"]


def test_a_loan_at_every_threshold_is_flagged_high_with_four_reasons():
    rule = decide(
        {"dti": 30.0, "revol_util": 80.0, "delinq_2yrs": 1, "inq_last_6mths": 2, "int_rate": 20},
        THRESHOLDS,
    )
    assert (rule.dti_band, rule.util_band, rule.rate_band) == ("30+", "80+", "20+")
    assert rule.early_warning_flag and rule.risk_tier == "Watchlist"
    assert rule.reasons == ("DTI>=30", "REVOL_UTIL>=80", "DELINQ_2YRS>0", "INQ_LAST_6MTHS>=2")


def test_just_below_every_threshold_is_low_with_no_reason():
    rule = decide(
        {"dti": 29.99, "revol_util": 79.9, "delinq_2yrs": 0, "inq_last_6mths": 1, "int_rate": 9.99},
        THRESHOLDS,
    )
    assert (rule.dti_band, rule.util_band, rule.rate_band) == ("20-30", "60-80", "0-10")
    assert not rule.early_warning_flag and rule.risk_tier == "Low" and rule.reasons == ()


def test_one_half_of_the_rule_is_medium_and_unknowns_are_banded_unknown():
    rule = decide({"dti": None, "revol_util": 85.0, "delinq_2yrs": None}, THRESHOLDS)
    assert rule.risk_tier == "Elevated" and not rule.early_warning_flag
    assert rule.reasons == ("REVOL_UTIL>=80",)
    assert (rule.dti_band, rule.rate_band) == ("unknown", "unknown")


def test_behaviour_trigger_reads_the_status_behind_the_credit_policy_prefix():
    assert behaviour_reason("Late (31-120 days)") == "BEHAVIOUR_LATE_31_120"
    assert behaviour_reason(" In Grace Period ") == "BEHAVIOUR_GRACE"
    policy = "Does not meet the credit policy. Status:Late (16-30 days)"
    assert behaviour_reason(policy) == "BEHAVIOUR_LATE_16_30"
    assert behaviour_reason("Current") is None and behaviour_reason(None) is None
    assert behaviour_reason(7) is None and behaviour_reason(["Late (31-120 days)"]) is None


def test_the_lendingclub_formats_clean_as_staging_does():
    clean = clean_application(
        {"loan_amnt": "20000", "int_rate": " 13.99%", "term": " 36 months",
         "emp_length": "10+ years", "issue_d": "Mar-2017", "earliest_cr_line": "Oct-62",
         "dti": "999", "delinq_2yrs": "2.5", "revol_util": "64.9%"},
        landed_year=2026, dti_max_valid=THRESHOLDS.dti_max_valid,
    )  # fmt: skip
    values = clean.values
    assert values["int_rate"] == 13.99 and values["term_months"] == 36
    assert values["emp_length_years"] == 10 and values["issue_date"] == date(2017, 3, 1)
    assert values["earliest_cr_line_date"] == date(1962, 10, 1)  # before the 2017 issue
    assert values["credit_history_years"] == (2017 - 1962) + (3 - 10) / 12
    assert values["dti"] is None and values["dti_quality_flag"] == "sentinel_999"
    assert values["delinq_2yrs"] == 2  # half to even, as both engines cast
    assert values["revol_util"] == 64.9 and clean.unparseable == ()


def test_unreadable_values_are_null_and_named():
    clean = clean_application(
        {"loan_amnt": "9" * 400, "delinq_2yrs": "99999999999", "issue_d": "Feb-0000",
         "emp_length": "n/a", "term": "48"},
        landed_year=2026, dti_max_valid=100,
    )  # fmt: skip
    assert clean.values["loan_amnt"] is None and clean.values["delinq_2yrs"] is None
    assert set(clean.unparseable) == {
        "loan_amnt_unparseable", "delinq_2yrs_unparseable", "issue_date_unparseable",
        "term_unparseable",
    }  # fmt: skip


def test_full_width_digits_and_bad_months_are_not_numbers():
    assert lc_number("\uff11\uff12") is None and lc_integer("\u0663") is None
    assert lc_month_date("2011-02-30", 2026) is None and lc_month_date("Marzipan-17", 2026) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["loan_amnt", "dti", "issue_d", "earliest_cr_line",
                                        "term", "emp_length", "id", "grade"]), json_values))  # fmt: skip
def test_any_payload_cleans_and_decides_without_raising(payload):
    clean = clean_application(payload, 2026, THRESHOLDS.dti_max_valid)
    decide(clean.values, THRESHOLDS)
