"""No landed row can stop `dbt build`: odd values in every payload field staging parses (and
in every other field of the export and of a payment history), landed beside an ordinary book, then dbt build on
DuckDB and on a real Postgres, and on DuckDB (where a 400-digit amount used to become
infinity) the ML step and dbt again. Values that cannot be read become null and are counted
in data_quality_issues."""

from __future__ import annotations

import random
import re

import pytest

from ingest.events import (
    APPLICATION,
    MONTHLY_SCHEMA_VERSION,
    PERFORMANCE,
    PERFORMANCE_FIELDS,
    LoanEvent,
)
from ingest.files.lendingclub_csv import LendingClubCsv
from ingest.files.loader import load_csv
from ingest.settings import Settings
from ingest.synthetic import write_synthetic_csv
from ingest.synthetic.history import HISTORY_COLUMNS
from ingest.warehouse.batch import Batch, SourcePosition
from ingest.warehouse.session import read_frame
from ml.cli import main as ml_main
from tests.conftest import REPO_ROOT
from tests.dbt_runner import run_dbt
from tests.landing import duckdb_writer, postgres_writer

ODD_VALUES = [
    "", " ", "n/a", "N/A", "\uff11\uff12\uff13", "\u0663", "\u00b2", "9" * 400, "-" + "9" * 30,
    "99999999999", "2147483648", "-2147483649", "1e400", "1e-400", "1e5", "NaN", "inf",
    "-inf", "-0", "0.0000000000000000001", "1,000", "1.2.3", "+5", ".", "-", "%", "%%",
    "  13.99%  ", "100%", "45.0", "99999999999 years", "10+ years", "< 1 year",
    "Feb-0000", "0000-00-00", "2011-12-29", "2006-05-23 05:00", "15-Dec", "Dec-15",
    "Feb-99999", "Zzz-99", "9999-12-31", "1899-12-01", " 48 months", "999999 months",
    "Issued", "Does not meet the credit policy. Status:", "O'Brien", '"quoted"', "\\",
    "\\u0000", "C:\\dir", "\U0001f4a5", "\u05e9\u05dc\u05d5\u05dd", "x" * 5000,
    "<script>alert(1)</script>", "'; drop table raw.loan_applications; --",
]  # fmt: skip
BOOK_LOANS = 1_000
ODD_LOANS = 300


def _random_text(rng: random.Random) -> str:
    """Any Unicode but NUL (the decoder refuses it) and lone surrogates (not UTF-8)."""
    points = (rng.randint(1, 0x10FFFF) for _ in range(rng.randint(1, 12)))
    return "".join(chr(p) for p in points if not 0xD800 <= p <= 0xDFFF)


def _odd_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [
        rng.choice(ODD_VALUES) if rng.random() < 0.8 else _random_text(rng) for _ in range(count)
    ]


def odd_batch(header: list[str], seed: int) -> Batch:
    """Events as a producer outside our contract could send them: a valid envelope, and a
    payload with an odd value in every field of the export."""
    rng = random.Random(seed)
    application_fields = [n for n in header if n not in PERFORMANCE_FIELDS]
    performance_fields = [n for n in header if n in PERFORMANCE_FIELDS]
    batch = Batch()
    for offset in range(ODD_LOANS):
        loan_id = str(900_000_000 + offset)
        month = f"20{rng.randint(7, 19):02d}-{rng.randint(1, 12):02d}-01T00:00:00Z"
        for event_type, fields in ((APPLICATION, application_fields),
                                   (PERFORMANCE, performance_fields)):  # fmt: skip
            payload = dict(zip(fields, _odd_texts(seed + offset, len(fields)), strict=True))
            event = LoanEvent.create(event_type, loan_id, month, "odd-producer", payload)
            batch.add_event(event, SourcePosition("kafka", f"odd-{event_type}", 0, offset))
        # A payment-history month with an odd value in every column of that layout.
        names = [name.lower() for name in HISTORY_COLUMNS]
        payload = dict(zip(names, _odd_texts(seed - offset, len(names)), strict=True))
        event = LoanEvent.create(
            PERFORMANCE, loan_id, month, "odd-producer", payload, MONTHLY_SCHEMA_VERSION
        )
        batch.add_event(event, SourcePosition("kafka", "odd-month", 0, offset))
    return batch


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    if request.param == "postgres":
        env = request.getfixturevalue("postgres_env")
        return postgres_writer, "postgres", env, Settings(warehouse="postgres")
    path = tmp_path / "w.duckdb"
    settings = Settings(warehouse="duckdb", duckdb_path=path)
    return lambda: duckdb_writer(path), "duckdb", {"DUCKDB_PATH": str(path)}, settings


def test_odd_values_in_every_field_never_stop_the_build(warehouse, tmp_path, monkeypatch):
    open_writer, target, env, settings = warehouse
    book = tmp_path / "book.csv"
    write_synthetic_csv(book, BOOK_LOANS, seed=3)
    header = LendingClubCsv(book).header
    store = open_writer()
    store.init()
    load_csv(book, store, show_progress=False)
    result = store.land(odd_batch(header, seed=17))
    store.close()
    assert (result.applications, result.performance) == (ODD_LOANS, 2 * ODD_LOANS)

    run_dbt("build", target=target, env=env)
    if target == "duckdb":
        for key, value in {**env, "WAREHOUSE": target, "ML_MODEL_DIR": str(tmp_path)}.items():
            monkeypatch.setenv(key, value)
        assert ml_main(["train"]) == 0
        assert ml_main(["score"]) == 0

    def query(sql: str):
        return read_frame(settings, sql)

    loans = query("select count(*) as n, max(loan_amnt) as top from marts.fct_loans")
    assert loans.n[0] == BOOK_LOANS + ODD_LOANS
    assert loans.top[0] < 1e15
    if target == "duckdb":  # every loan scored, odd ones included, with a finite PD
        scored = query(
            "select count(*) as n, min(pd) as low, max(pd) as high from ml.loan_predictions"
        )
        assert scored.n[0] == BOOK_LOANS + ODD_LOANS and 0 <= scored.low[0] <= scored.high[0] <= 1
    flagged = query(
        "select flag, sum(flagged_rows) as n from marts.data_quality_issues "
        "where flagged_rows > 0 group by flag"
    )
    hit = set(flagged.flag)
    for flag in ("loan_amnt_unparseable", "delinq_2yrs_unparseable", "emp_length_unparseable",
                 "earliest_cr_line_unparseable", "issue_date_unparseable",
                 "term_not_36_or_60", "total_pymnt_unparseable", "loan_status_unknown",
                 "pbal_end_period_unparseable", "received_d_unparseable", "co_unparseable"):  # fmt: skip
        assert flag in hit, f"{flag} never flagged: {sorted(hit)}"
    months = query("select count(*) as n from marts.fct_loan_months where loan_id >= 900000000")
    assert months.n[0] > 0


def test_the_odd_values_reach_every_field_staging_parses(tmp_path):
    """Every payload key of the staging field list (macros/staging_fields.sql) is a column
    of the export the fixture fills, so each one gets odd values."""
    spec = (REPO_ROOT / "dbt_project" / "macros" / "staging_fields.sql").read_text()
    export_spec, _, history_spec = spec.partition("{% macro loan_month_fields() %}")
    parsed = set(re.findall(r"'key': '(\w+)'", export_spec))
    book = tmp_path / "book.csv"
    write_synthetic_csv(book, 10, seed=3)
    assert len(parsed) > 25 and parsed <= set(LendingClubCsv(book).header)
    history_keys = set(re.findall(r"'key': '(\w+)'", history_spec))
    assert len(history_keys) > 10 and history_keys <= {name.lower() for name in HISTORY_COLUMNS}
