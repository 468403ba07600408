"""The book in the warehouse is the real book after the operations an operator does: a
re-downloaded export, a status change within a month, a landing that commits late or from a
host whose clock is behind. Each lands, is staged by dbt and wins over the older state, on
DuckDB and on a real Postgres."""

from __future__ import annotations

import csv
import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.events import LoanEventBuilder
from ingest.settings import Settings
from ingest.synthetic import write_synthetic_csv
from ingest.warehouse.batch import Batch, SourcePosition
from ingest.warehouse.session import read_frame
from tests.dbt_runner import LOAN_MODELS, run_dbt
from tests.landing import load_file, postgres_writer, warehouse_under_test

LOANS = 600
MOVED = 160
LATE = "Late (31-120 days)"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    """(open a writer, dbt target, environment, read a query into a DataFrame)."""
    return warehouse_under_test(request, tmp_path)


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "book.csv"
    write_synthetic_csv(path, LOANS, seed=5)
    return path


def _statuses(query) -> dict[int, str]:
    frame = query("select loan_id, loan_status from marts.fct_loans")
    return dict(zip(frame.loan_id, frame.loan_status, strict=True))


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_a_re_downloaded_export_and_states_within_a_month(warehouse, book, tmp_path):
    """jan/LoanStats.csv, then feb/LoanStats.csv (same name, same lines) in which 160 active
    loans moved to Late with their month fields unchanged (borrowers who stopped paying):
    those 160 land and win. Then the older state replayed under another name (as a replay
    after a broker was recreated would bring it) is the same fact, absorbed, never instead
    of the new one; and a cure later that month (a payment came in) is a new fact and wins.
    Each step built incrementally (`dbt run` of the loan models: dbt's own tests of the same
    models run in test_dbt_build.py). (The same SQL runs on Postgres; its incremental builds
    are compared with a full refresh in test_dbt_build.py, and the late commit below runs
    there.)"""
    open_writer, target, env, query = warehouse
    header, rows = _rows(book)
    jan = _write(tmp_path / "jan" / "LoanStats.csv", header, rows)
    active = [i for i, r in enumerate(rows) if r["loan_status"] in ("Current", "In Grace Period")]
    moved = active[:MOVED]
    assert len(moved) == MOVED
    before = [dict(rows[i]) for i in moved]
    for i in moved:
        rows[i] = {**rows[i], "loan_status": LATE}
    feb = _write(tmp_path / "feb" / "LoanStats.csv", header, rows)
    moved_ids = [int(rows[i]["id"]) for i in moved]

    assert load_file(open_writer, jan).performance_landed == LOANS
    run_dbt("run", *LOAN_MODELS, target=target, env=env)
    report = load_file(open_writer, feb)
    assert (report.applications_landed, report.performance_landed) == (0, MOVED)
    assert report.reused_positions == MOVED
    assert report.duplicates_skipped == 2 * LOANS - MOVED
    run_dbt("run", *LOAN_MODELS, target=target, env=env)
    statuses = _statuses(query)
    assert len(statuses) == LOANS
    assert {statuses[i] for i in moved_ids} == {LATE}
    watchlist = query("select loan_id, reason_codes from marts.early_warning_watchlist")
    flagged = dict(zip(watchlist.loan_id, watchlist.reason_codes, strict=True))
    assert all("BEHAVIOUR_LATE_31_120" in flagged[i] for i in moved_ids)

    load_file(open_writer, _write(tmp_path / "replayed.csv", header, before))
    run_dbt("run", *LOAN_MODELS, target=target, env=env)
    assert {_statuses(query)[i] for i in moved_ids} == {LATE}

    cured = [{**r, "total_pymnt": f"{float(r['total_pymnt'] or 0) + 100:.2f}"} for r in before]
    load_file(open_writer, _write(tmp_path / "cured.csv", header, cured))
    run_dbt("run", *LOAN_MODELS, target=target, env=env)
    statuses = _statuses(query)
    assert [statuses[i] for i in moved_ids] == [r["loan_status"] for r in before]


def _late_batch(loan_ids: list[int]) -> Batch:
    builder = LoanEventBuilder(["id", "issue_d", "loan_status", "last_pymnt_d"], "late-host", 2026)
    batch = Batch()
    for offset, loan_id in enumerate(loan_ids):
        for event in builder.build([str(loan_id), "Jan-2019", LATE, "Mar-2019"]):
            batch.add_event(event, SourcePosition("kafka", "late-topic", 0, offset))
    return batch


def test_a_landing_that_commits_late_from_a_clock_behind_is_still_staged(postgres_env, book):
    """Two ingest hosts on one Postgres: a landing begun first, by a host whose clock is 15
    minutes behind, commits after the other host's landing and after dbt ran; the next
    incremental build stages it (staging reads by commit order, not by any host's clock).
    A DuckDB file has one writer, so a landing can never commit while dbt reads it."""
    query = lambda q: read_frame(Settings(warehouse="postgres"), q)  # noqa: E731
    target, env = "postgres", postgres_env
    load_file(postgres_writer, book)
    slow = postgres_writer()
    landing = slow.begin_landing()
    landing.stamp = dataclasses.replace(
        landing.stamp, landed_at=landing.stamp.landed_at - timedelta(minutes=15)
    )
    landing.write(_late_batch([9_000_001, 9_000_002]))
    fast = postgres_writer()
    fast.land(_late_batch([9_000_003]))
    fast.close()
    run_dbt("run", *LOAN_MODELS, target=target, env=env)
    assert 9_000_003 in _statuses(query)
    landing.commit()
    slow.close()
    run_dbt("run", *LOAN_MODELS, target=target, env=env)
    statuses = _statuses(query)
    assert {statuses.get(i) for i in (9_000_001, 9_000_002, 9_000_003)} == {LATE}
    assert len(statuses) == LOANS + 3
