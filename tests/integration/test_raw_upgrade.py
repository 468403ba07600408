"""A warehouse written by the first raw layout is upgraded in place by `init`: nothing is lost,
event ids are recomputed from content (two states of one month that shared an id become two
facts), landings are numbered in commit order and the sequences continue after them."""

from __future__ import annotations

import pytest

from ingest.events import LoanEventBuilder, record_id
from ingest.settings import Settings
from ingest.warehouse.session import read_frame
from tests.dbt_runner import LOAN_MODELS, run_dbt
from tests.landing import batch_at, duckdb_writer, postgres_writer

# The first layout's DDL, as ingest/raw_tables.py wrote it before content identity.
EVENT_TABLE = """
create table raw.{table} (
    event_id text not null, event_type text not null, schema_version integer not null,
    occurred_at timestamp not null, source text not null, loan_id text not null,
    payload json not null, source_kind text not null, source_name text not null,
    source_partition integer not null, source_offset bigint not null, batch_id text not null,
    landed_at timestamp not null,
    primary key (source_kind, source_name, source_partition, source_offset));
"""
LAYOUT1_DDL = (
    "create schema raw;"
    + EVENT_TABLE.format(table="loan_applications")
    + EVENT_TABLE.format(table="loan_performance")
    + """
create table raw.ingest_quarantine (
    raw_record {bytes} not null, error_field text, reason text not null,
    source_kind text not null, source_name text not null, source_partition integer not null,
    source_offset bigint not null, batch_id text not null, landed_at timestamp not null,
    primary key (source_kind, source_name, source_partition, source_offset));
create table raw.ingest_batches (
    batch_id text primary key, source_kind text not null, source_names text not null,
    offset_ranges text not null, records_received integer not null,
    applications_landed integer not null, performance_landed integer not null,
    quarantined integer not null, duplicates_skipped integer not null,
    write_ms double precision not null, lag_at_commit bigint, started_at timestamp not null,
    committed_at timestamp not null);
"""
)
HEADER = ["id", "issue_d", "loan_amnt", "loan_status", "last_pymnt_d"]


def _events():
    builder = LoanEventBuilder(HEADER, "lendingclub-csv:x.csv", 2026)
    application, current = builder.build(["7", "Jan-2018", "5000", "Current", "Mar-2019"])
    _, late = builder.build(["7", "Jan-2018", "5000", "Late (31-120 days)", "Mar-2019"])
    return application, current, late


def _layout1_rows(bytes_literal: str) -> list[str]:
    application, current, late = _events()

    def event(table: str, e, name: str, batch: str) -> str:
        # Layout 1 gave both states of the month the same id: 'old-7-2019-03'.
        return (
            f"insert into raw.{table} values ('old-{e.event_type}-7', '{e.event_type}', 1, "
            f"'{e.occurred_at[:10]}', 'x', '7', '{e.payload_json}', 'file', '{name}', 0, 2, "
            f"'{batch}', "
            f"'2026-01-0{batch[-1]} 00:00:00')"
        )

    return [
        event("loan_applications", application, "jan.csv", "b1"),
        event("loan_performance", current, "jan.csv", "b1"),
        event("loan_performance", late, "feb.csv", "b2"),
        f"insert into raw.ingest_quarantine values ({bytes_literal}, null, 'broken', 'file', "
        "'jan.csv', 0, 3, 'b1', '2026-01-01')",
        # b2 started first but committed second: commit order is what numbers them.
        "insert into raw.ingest_batches values ('b2', 'file', 'feb.csv', '{}', 1, 0, 1, 0, 0, "
        "1.0, null, '2025-12-31', '2026-01-02')",
        "insert into raw.ingest_batches values ('b1', 'file', 'jan.csv', '{}', 3, 1, 1, 1, 0, "
        "1.0, null, '2026-01-01', '2026-01-01')",
    ]


@pytest.fixture(params=["duckdb", "postgres"])
def layout1(request, tmp_path):
    """(open a writer, dbt target, env, query) over a warehouse in the first layout."""
    if request.param == "postgres":
        env = request.getfixturevalue("postgres_env")
        settings = Settings(warehouse="postgres")
        store = postgres_writer()
        with store.con.cursor() as cur:
            cur.execute(LAYOUT1_DDL.format(bytes="bytea"))
            for statement in _layout1_rows("'\\x6e6f2c6a736f6e'::bytea"):
                cur.execute(statement)
        store.con.commit()
        store.close()
        return postgres_writer, "postgres", env, lambda q: read_frame(settings, q)
    path = tmp_path / "layout1.duckdb"
    settings = Settings(warehouse="duckdb", duckdb_path=path)
    store = duckdb_writer(path)
    store.con.execute(LAYOUT1_DDL.format(bytes="blob"))
    for statement in _layout1_rows("'no,json'::blob"):
        store.con.execute(statement)
    store.session.commit()
    store.close()
    env = {"DUCKDB_PATH": str(path)}
    return lambda: duckdb_writer(path), "duckdb", env, lambda q: read_frame(settings, q)


def test_init_upgrades_the_first_layout_without_losing_a_row(layout1, capsys):
    open_writer, target, env, query = layout1
    store = open_writer()
    store.init()
    store.close()
    assert "upgraded the raw tables" in capsys.readouterr().err
    application, current, late = _events()
    perf = query(
        "select event_id, source_name, landing_seq from raw.loan_performance order by source_name"
    )
    assert list(perf.event_id) == [late.event_id, current.event_id]  # feb.csv, jan.csv
    assert list(perf.landing_seq) == [2, 1]
    apps = query("select event_id, landing_seq from raw.loan_applications")
    assert list(apps.event_id) == [application.event_id] and list(apps.landing_seq) == [1]
    held = query("select record_id, landing_seq from raw.ingest_quarantine")
    assert list(held.record_id) == [record_id(b"no,json")]
    batches = query("select batch_id, landing_seq, commit_seq from raw.ingest_batches order by 3")
    assert [tuple(r) for r in batches.itertuples(index=False)] == [("b1", 1, 1), ("b2", 2, 2)]
    assert not query(
        "select table_name from information_schema.tables where table_name like '%layout1%'"
    ).size

    store = open_writer()
    assert store.land(batch_at([0])).applications == 1  # the sequences go on after 2
    store.init()  # idempotent: nothing more to upgrade
    store.close()
    assert list(query("select max(commit_seq) as m from raw.ingest_batches").m) == [3]

    if target == "duckdb":  # the rebuild itself is dbt's, the same on both engines
        run_dbt("run", "--full-refresh", *LOAN_MODELS, target=target, env=env)
        state = query("select loan_status from marts.fct_loans where loan_id = 7")
        assert list(state.loan_status) == ["Late (31-120 days)"]  # the state that landed last
