"""Payment histories through the warehouse: a hand-made PMTHIST file lands exactly once (bad
rows quarantined naming the field), and dbt turns it into the loan-months, buckets, flags,
roll rates, delinquency and cure rates and default dates worked out by hand here, on DuckDB
and a real Postgres. A month more, built incrementally, gives what a full refresh gives; a
history streamed through Kafka (from a given month on) arrives in calendar order and lands
every month."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd
import pytest

from ingest.settings import Settings
from ingest.streaming.producer import produce_history
from ingest.synthetic import write_synthetic_csv
from ingest.warehouse.session import read_frame
from tests.dbt_runner import run_dbt
from tests.integration.streaming import run_ingester
from tests.landing import duckdb_writer, load_file, warehouse_under_test

LATE = "Late (31-120 days)"
# Columns in another order and case than the generator writes, and one it does not know.
HISTORY_HEADER = [
    "MONTH", "loan_id", "Period_End_Lstat", "PBAL_BEG_PERIOD", "PBAL_END_PERIOD", "DUE_AMT",
    "RECEIVED_AMT", "RECEIVED_D", "MOB", "CO", "COAMT", "SomethingElse",
]  # fmt: skip
HISTORY = [
    # Loan 101 misses its February payment and never pays again: 1-29 days in February,
    # 30-59 to 120+ from March to June, charged off in July.
    ["Jan2018", "101", "Current", "1000", "900", "100", "100", "Jan2018", "1", "0", "0", "x"],
    ["Feb2018", "101", "In Grace Period", "900", "900", "100", "0", "", "2", "0", "0", ""],
    ["Mar2018", "101", LATE, "900", "900", "100", "0", "", "3", "0", "0", ""],
    ["Apr2018", "101", LATE, "900", "900", "100", "0", "", "4", "0", "0", ""],
    ["May2018", "101", LATE, "900", "900", "100", "0", "", "5", "0", "0", ""],
    ["Jun2018", "101", LATE, "900", "900", "100", "0", "", "6", "0", "0", ""],
    ["Jul2018", "101", "Charged Off", "900", "0", "0", "0", "", "7", "1", "900", ""],
    # Loan 102 is late in February, catches up in March (a cure), prepays in April.
    ["Jan2018", "102", "Current", "2000", "1900", "100", "100", "Jan2018", "1", "0", "0", ""],
    ["Feb2018", "102", "Late (16-30 days)", "1900", "1900", "100", "0", "", "2", "0", "0", ""],
    ["Mar2018", "102", "Current", "1900", "1700", "100", "300", "Mar2018", "3", "0", "0", ""],
    ["Apr2018", "102", "Fully Paid", "1700", "0", "100", "1710", "Apr2018", "4", "0", "0", ""],
    # Two rows that cannot be loan-months.
    ["Jan2018", "L-103", "Current", "1", "1", "1", "1", "", "1", "0", "0", ""],
    ["Foo2018", "104", "Current", "1", "1", "1", "1", "", "1", "0", "0", ""],
]
EXPORT_HEADER = ["id", "loan_amnt", "term", "int_rate", "grade", "issue_d", "loan_status",
                 "last_pymnt_d", "last_credit_pull_d", "annual_inc", "dti"]  # fmt: skip
EXPORT = [
    # Its last payment in the snapshot (Dec 2017) would date the default May 2018: the
    # history's June wins.
    ["101", "1000", " 36 months", "10.0", "B", "Dec-2017", "Charged Off", "Dec-2017",
     "Mar-2019", "50000", "10"],
    ["102", "2000", " 36 months", "12.0", "C", "Dec-2017", "Current", "Jan-2018", "Jan-2018",
     "60000", "12"],
]  # fmt: skip
SELECT = ("--select", "+roll_rates", "+delinquency_rates", "+fct_loans")
# ... and the backtest over the histories, models and their tests in one dbt invocation.
BUILD = ("build", *SELECT, "+ews_backtest", "+watchlist_alerts", "--indirect-selection", "cautious")


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    """(open a writer, dbt target, environment, read a query into a DataFrame)."""
    return warehouse_under_test(request, tmp_path)


def test_a_hand_made_history_gives_the_hand_worked_figures(warehouse, tmp_path):
    open_writer, target, env, query = warehouse
    load_file(open_writer, _write(tmp_path / "export.csv", EXPORT_HEADER, EXPORT))
    history = _write(tmp_path / "PMTHIST.csv", HISTORY_HEADER, HISTORY)
    first = load_file(open_writer, history)
    assert (first.performance_landed, first.quarantined) == (11, 2)
    again = load_file(open_writer, history)  # the same file again: nothing new
    assert (again.performance_landed, again.duplicates_skipped) == (0, 13)  # and 2 quarantined
    reasons = query(
        "select error_field, reason from raw.ingest_quarantine "
        "where source_name = 'PMTHIST.csv' order by source_offset"
    )
    assert reasons.error_field.tolist() == ["loan_id", "month"]
    assert (
        "line 13" in reasons.reason[0] and "'L-103' is not a numeric loan id" in reasons.reason[0]
    )

    run_dbt(*BUILD, target=target, env=env)
    months = query(
        "select loan_id, cast(month_date as varchar) as month, months_on_book, dpd_bucket, "
        "is_first_delinquency, is_cure, shortfall, is_charged_off_month "
        "from marts.fct_loan_months order by loan_id, month_date"
    )
    assert months.dpd_bucket.tolist() == [
        "current", "1-29", "30-59", "60-89", "90-119", "120+", "charged_off",
        "current", "1-29", "current", "paid_off",
    ]  # fmt: skip
    assert months.months_on_book.tolist() == [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4]
    assert months.month[months.is_first_delinquency].tolist() == ["2018-03-01"]
    assert months.month[months.is_cure].tolist() == ["2018-03-01"]  # loan 102
    assert months.shortfall.tolist() == [0, 100, 100, 100, 100, 100, 0, 0, 100, 0, 0]
    assert months.is_charged_off_month.sum() == 1

    loans = query(
        "select loan_id, cast(first_default_date as varchar) as defaulted, months_to_default, "
        "loan_status from marts.fct_loans order by loan_id"
    )
    assert loans.defaulted.tolist() == ["2018-06-01", None]
    assert loans.months_to_default.tolist()[0] == 6
    assert loans.loan_status.tolist() == ["Charged Off", "Fully Paid"]  # the history is newer

    rolls = query(
        "select from_bucket, to_bucket, loans, loan_share, balance_share from marts.roll_rates "
        "where month_date = '2018-03-01' and grade = 'All grades' order by to_bucket"
    )
    assert rolls.values.tolist() == [
        ["1-29", "30-59", 1, 0.5, 900 / 2800],
        ["1-29", "current", 1, 0.5, 1900 / 2800],
    ]
    grades = query(
        "select grade, loans from marts.roll_rates where month_date = '2018-03-01' "
        "and grade <> 'All grades' order by grade"
    )
    assert grades.values.tolist() == [["B", 1], ["C", 1]]

    march = query("select * from marts.delinquency_rates where month_date = '2018-03-01'")
    row = march.iloc[0]
    assert (row.open_loans, row.loans_30_plus, row.rate_30_plus) == (2, 1, 0.5)
    assert (row.delinquent_loans_month_before, row.cured_loans, row.cure_rate) == (2, 1, 0.5)
    assert row.balance_rate_30_plus == pytest.approx(900 / 2600)
    july = query(
        "select charged_off_loans, open_loans from marts.delinquency_rates where month_date = '2018-07-01'"
    )
    assert july.values.tolist() == [[1, 0]]

    # The backtest, by hand: behaviour first flags both loans in February (1-29 days); loan
    # 101 is 120+ days past due in June, 4 months later, and charged off in July, 5 months
    # later; loan 102 cures in March. Neither trips the rule (dti 10 and 12) and no model
    # has scored them. No flag is 12 months before the window's end (July): precision is
    # unknown, not 0.
    backtest = query(
        "select default_definition, trigger_name, observed_loans, defaults, captured_1m, "
        "captured_3m, captured_6m, median_lead_months, flagged_loans, flag_rate, "
        "flagged_loans_seen_12m, precision_12m from marts.ews_backtest "
        "where segment_type = 'all' order by trigger_name"
    ).set_index(["default_definition", "trigger_name"])
    for definition, lead in (("charged_off", 5.0), ("120_dpd_or_charged_off", 4.0)):
        behaviour = backtest.loc[(definition, "behaviour")]
        assert behaviour[:9].tolist() == [2, 1, 1.0, 1.0, 0.0, lead, 2, 1.0, 0]
        assert pd.isna(behaviour.precision_12m)
        assert backtest.loc[(definition, "any")].tolist()[:8] == behaviour.tolist()[:8]
        for quiet in ("original_rule", "rule", "model"):
            quiet_row = backtest.loc[(definition, quiet)]
            assert [quiet_row.flagged_loans, quiet_row.captured_1m] == [0, 0.0]
    alerts = query(
        "select loan_id, cast(first_flagged_month as varchar) as first, months_flagged, ended "
        "from marts.watchlist_alerts where trigger_name = 'behaviour' order by loan_id"
    )
    assert alerts.values.tolist() == [
        [101, "2018-02-01", 4, "charged_off"], [102, "2018-02-01", 1, "cured"],
    ]  # fmt: skip


def _split_history(source: Path, before: Path, after: Path, cut: str) -> int:
    """Rows of months before `cut` ('2019-01') to one file, the rest to another."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    month = pd.to_datetime(frame.MONTH, format="%b%Y")
    later = month >= pd.Timestamp(cut)
    frame[~later].to_csv(before, index=False)
    frame[later].to_csv(after, index=False)
    return int(later.sum())


def test_a_new_month_built_incrementally_equals_a_full_refresh(tmp_path):
    database = tmp_path / "w.duckdb"
    env = {"DUCKDB_PATH": str(database)}
    settings = Settings(warehouse="duckdb", duckdb_path=database)
    export, history = tmp_path / "loans.csv", tmp_path / "history.csv"
    write_synthetic_csv(export, 1_500, seed=21, history_path=history)
    before, after = tmp_path / "PMTHIST_a.csv", tmp_path / "PMTHIST_b.csv"
    assert _split_history(history, before, after, "2019-03") > 300
    writer = lambda: duckdb_writer(database)  # noqa: E731
    load_file(writer, export)
    load_file(writer, before)
    run_dbt("run", *SELECT, target="duckdb", env=env)
    load_file(writer, after)
    run_dbt("run", *SELECT, target="duckdb", env=env)

    def tables() -> list[pd.DataFrame]:
        return [
            read_frame(
                settings,
                "select * exclude (last_staged_at) from marts.fct_loan_months order by loan_id, month_date",
            ),
            read_frame(
                settings,
                "select * from marts.roll_rates order by month_date, grade, from_bucket, to_bucket",
            ),
            read_frame(
                settings,
                "select * from intermediate.int_loans__latest_performance order by loan_id",
            ),
        ]

    incremental = tables()
    assert len(incremental[0]) == len(pd.read_csv(history, usecols=["LOAN_ID"]))
    run_dbt("run", "--full-refresh", *SELECT, target="duckdb", env=env)
    for built, refreshed in zip(incremental, tables(), strict=True):
        built = built.drop(columns=[c for c in ("last_staged_at",) if c in built.columns])
        refreshed = refreshed[built.columns]
        pd.testing.assert_frame_equal(
            built.reset_index(drop=True), refreshed.reset_index(drop=True)
        )


def test_a_streamed_history_arrives_month_by_month_and_lands_whole(stream_env, tmp_path):
    export, history = tmp_path / "loans.csv", tmp_path / "history.csv"
    write_synthetic_csv(export, 300, seed=4, history_path=history)
    month = pd.to_datetime(pd.read_csv(history, usecols=["MONTH"]).MONTH, format="%b%Y")
    months = int((month >= pd.Timestamp("2017-06-01")).sum())
    assert 0 < months < len(month)
    database = tmp_path / "w.duckdb"
    env = {**stream_env, "WAREHOUSE": "duckdb", "DUCKDB_PATH": str(database)}
    settings = Settings.from_env({**os.environ, **env})
    report = produce_history(settings, history, show_progress=False, since="2017-06")
    assert report.events_sent == months and report.rows_skipped == 0
    result = run_ingester(env)
    assert result.returncode == 0, result.stderr[-3000:]
    landed = read_frame(
        Settings(warehouse="duckdb", duckdb_path=database),
        "select source_partition, source_offset, occurred_at from raw.loan_performance "
        "order by source_partition, source_offset",
    )
    assert len(landed) == months
    assert landed.occurred_at.min() >= pd.Timestamp("2017-06-01")
    # Within each partition the offsets follow the calendar: no month arrives after a later one.
    for _, partition in landed.groupby("source_partition"):
        assert partition.occurred_at.is_monotonic_increasing
