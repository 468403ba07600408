"""The read-only role Superset reaches Postgres as, on a real server: it reads the marts and
monitoring schemas, tables created there later included, raw.ingest_batches and
live.loan_decisions, and nothing else; it cannot write."""

from __future__ import annotations

from contextlib import closing

import psycopg2
import pytest

from exports.superset_role import ReaderRoleError, ensure_reader_role
from ingest.settings import Settings
from ingest.warehouse.session import open_session
from ml.serving.decisions_table import ensure_tables

PRIVATE = ("raw", "staging", "intermediate", "ml")
LIVE = ("raw.ingest_batches", "live.loan_decisions")  # read by Pipeline Health's live figures
READER = "superset_reader_test"


def _owner(env: dict[str, str]):
    con = psycopg2.connect(
        host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], dbname=env["PGDATABASE"]
    )
    con.autocommit = True
    return closing(con)  # `with con` would open a transaction (psycopg2 2.9)


@pytest.fixture
def warehouse(postgres_env):
    """Every schema of the warehouse with a table in it, as dbt and the ingest leave them."""
    with _owner(postgres_env) as con, con.cursor() as cur:
        for schema in ("marts", "monitoring", *PRIVATE):
            cur.execute(f"create schema {schema}; create table {schema}.t as select 1 as n")
        cur.execute(f"drop role if exists {READER}")
    yield postgres_env
    with _owner(postgres_env) as con, con.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = %s", (READER,))
        if cur.fetchone():  # roles are per server, not per database
            cur.execute(f"drop owned by {READER}; drop role {READER}")


def _as_reader(env: dict[str, str]):
    con = psycopg2.connect(
        host=env["PGHOST"], port=env["PGPORT"], user=READER, password="pw",
        dbname=env["PGDATABASE"],
    )  # fmt: skip
    con.autocommit = True
    return closing(con)


def _refused(con, statement: str) -> bool:
    with con.cursor() as cur:
        try:
            cur.execute(statement)
        except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ReadOnlySqlTransaction):
            return True
    return False


def _live_tables() -> None:
    """What the ingest and the stream scorer create: raw.ingest_batches, the live tables."""
    with open_session(Settings(warehouse="postgres")) as session, session.transaction():
        session.execute("create table raw.ingest_batches as select 1 as n")
        ensure_tables(session)


def test_the_reader_reads_marts_monitoring_and_the_live_figures_only_and_writes_nothing(
    warehouse,
):
    ensure_reader_role(READER, "pw")  # before the ingest and the scorer ran: nothing to grant
    _live_tables()
    ensure_reader_role(READER, "pw")  # idempotent, and grants what exists now
    with _owner(warehouse) as con, con.cursor() as cur:  # dbt rebuilding a mart after
        cur.execute("create table marts.rebuilt as select 2 as n")
    with _as_reader(warehouse) as con, con.cursor() as cur:
        for table in ("marts.t", "monitoring.t", "marts.rebuilt"):
            cur.execute(f"select n from {table}")
            assert cur.fetchall(), table
        for table in LIVE:
            cur.execute(f"select count(*) from {table}")
            assert cur.fetchall(), table
        for schema in PRIVATE:
            assert _refused(con, f"select n from {schema}.t"), schema
        # The scorer's quarantine keeps the raw message: not for the dashboards.
        assert _refused(con, "select raw_value from live.decision_quarantine")
        assert _refused(con, "delete from live.loan_decisions")
        assert _refused(con, "insert into marts.t values (3)")
        assert _refused(con, "create table marts.mine (n int)")
        assert _refused(con, "create table public.mine (n int)")
        assert _refused(con, "create schema mine")
        cur.execute("show default_transaction_read_only")
        assert cur.fetchone() == ("on",)


def test_the_owner_or_a_superuser_is_never_made_the_reader(warehouse):
    with pytest.raises(ReaderRoleError, match="owner or a superuser"):
        ensure_reader_role(warehouse["PGUSER"], "pw")


def test_an_owner_without_createrole_gets_a_clear_error(warehouse, monkeypatch):
    with _owner(warehouse) as con, con.cursor() as cur:
        cur.execute("drop role if exists plain_owner; create role plain_owner login")
    monkeypatch.setenv("PGUSER", "plain_owner")
    try:
        with pytest.raises(ReaderRoleError, match="may not create or alter the role"):
            ensure_reader_role(READER, "pw")
    finally:
        with _owner(warehouse) as con, con.cursor() as cur:
            cur.execute("drop role plain_owner")
