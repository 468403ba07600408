"""One cleaning rule, two paths: the Python that decides on arrival (ml/serving/cleaning.py,
ml/serving/rules.py) and dbt's staging and rule SQL give the same values on the same rows.

Every format of the LendingClub notes, the odd values that once stopped `dbt build`, and a few
thousand near-valid strings from a seeded generator (digits, signs, points, percent signs,
spaces, month names and dashes in random order) go into every parsed field; staging and the
rule model are built once on DuckDB and compared row for row, column by column.
"""

from __future__ import annotations

import math
import random
from datetime import date

import pandas as pd
import pytest

from ingest.events import APPLICATION, LoanEvent
from ingest.settings import Settings
from ingest.warehouse.batch import Batch, SourcePosition
from ingest.warehouse.session import read_frame
from ml.serving.cleaning import APPLICATION_FIELDS, TEXT_FIELDS, clean_application
from ml.serving.rules import decide, project_thresholds
from tests.dbt_runner import run_dbt
from tests.integration.test_dbt_odd_values import ODD_VALUES
from tests.landing import duckdb_writer

# Every layout's forms (shared notes: lendingclub-format.md): amounts, rates with and without
# '%', terms with a leading space, employment lengths, and months in every spelling.
FORMATS = [
    "13.99", " 10.65%", "65000.0", "5000", "0", "30", "30.0", "29.99", "80", "79.9", "100.1",
    "999", "-1", "1", "2", "2.5", "3.5", "0.5", " 36 months", "60 months", "36 months ",
    "< 1 year", "1 year", "10+ years", "n/a", "Mar-2017", "Feb-02", "Oct-62", "18-Dec",
    "2018-Dec", "Sept-2017", "March-2017", "Jan2016", "Sept2017", "Jan16", "mar-2017",
    "2011-12-29", "2006-05-23 05:00", "2006-05-23T05:00:07.250", "2011-02-30", "2006-05-23 24:00", "Dec-99", "Jan-00",
]  # fmt: skip
PIECES = ["0", "1", "9", "12", "2017", "-", ".", "%", " ", "+", "Mar", "sept", "years", "year"]
LOANS = 2_000


def _near_valid(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 5)))


def _batch(seed: int) -> tuple[Batch, dict[int, dict[str, str]]]:
    rng = random.Random(seed)
    pool = FORMATS + ODD_VALUES
    batch, payloads = Batch(), {}
    for n in range(LOANS):
        loan_id = 700_000_000 + n
        payload = {
            field.key: rng.choice(pool) if rng.random() < 0.7 else _near_valid(rng)
            for field in APPLICATION_FIELDS
        }
        payload |= {key: rng.choice(["A", "B2", "", " RENT "]) for key in TEXT_FIELDS}
        payload["id"] = str(loan_id)
        payloads[loan_id] = payload
        event = LoanEvent.create(
            APPLICATION, str(loan_id), "2017-03-01T00:00:00Z", "agreement", payload
        )
        batch.add_event(event, SourcePosition("kafka", "agreement", 0, n))
    return batch, payloads


def _same(python: object, sql: object) -> bool:
    if python is None or (isinstance(python, float) and math.isnan(python)):
        return sql is None or pd.isna(sql)
    if sql is None or (not isinstance(sql, str) and pd.isna(sql)):
        return False
    if isinstance(python, date):
        return pd.Timestamp(sql).date() == python
    if isinstance(python, float):
        return math.isclose(python, float(sql), rel_tol=1e-12, abs_tol=1e-12)
    return python == sql


@pytest.mark.slow
def test_python_cleaning_and_rules_agree_with_dbt_row_for_row(tmp_path):
    path = tmp_path / "w.duckdb"
    batch, payloads = _batch(seed=11)
    writer = duckdb_writer(path)
    writer.init()
    writer.land(batch)
    writer.close()
    run_dbt(
        "run", "--select", "+int_loans__rule_banded", target="duckdb",
        env={"DUCKDB_PATH": str(path)},
    )  # fmt: skip
    settings = Settings(warehouse="duckdb", duckdb_path=path)
    staged = read_frame(settings, "select * from staging.stg_loan_events__applications")
    banded = read_frame(settings, "select * from intermediate.int_loans__rule_banded")
    banded = banded.set_index("loan_id")
    thresholds = project_thresholds()
    columns = [f.name for f in APPLICATION_FIELDS if f.name != "dti_reported"]
    columns += ["dti", "dti_quality_flag", *TEXT_FIELDS]
    flags = [f.flag_name for f in APPLICATION_FIELDS if f.flag_name]
    mismatches = []
    assert len(staged) == LOANS
    for column in columns:  # not vacuous: every parsed column holds values and nulls
        if column not in TEXT_FIELDS:
            assert 0 < staged[column].notna().sum() < LOANS, column
    for row in staged.itertuples(index=False):
        payload = payloads[row.loan_id]
        clean = clean_application(payload, row.landed_at.year, thresholds.dti_max_valid)
        for column in columns:
            if not _same(clean.values[column], getattr(row, column)):
                mismatches.append((column, payload.get(column), clean.values[column],
                                   getattr(row, column)))  # fmt: skip
        for flag in flags:
            if (flag in clean.unparseable) != bool(getattr(row, flag)):
                mismatches.append((flag, None, flag in clean.unparseable, getattr(row, flag)))
        rule = decide(clean.values, thresholds)
        sql = banded.loc[row.loan_id]
        for python, column in (
            (rule.dti_band, "dti_band"), (rule.util_band, "revol_util_band"),
            (rule.rate_band, "int_rate_band"), (rule.early_warning_flag, "is_rule_watchlist"),
            (rule.risk_tier, "risk_tier"),
            (clean.values["credit_history_years"], "credit_history_years"),
        ):  # fmt: skip
            if not _same(python, sql[column]):
                mismatches.append((column, None, python, sql[column]))
    assert not mismatches, f"{len(mismatches)} differences, e.g. {mismatches[:15]}"
