"""The read-only Postgres role Superset connects as: it reads the marts and monitoring schemas,
the two live tables Pipeline Health reads, and nothing else.

`python -m exports superset` creates it, or brings it up to date, on every run against a
Postgres warehouse, connected as the warehouse owner (the PG* variables, the role dbt and the
exports run as). Granted: CONNECT on the database, USAGE on `marts` and `monitoring`, SELECT
on their tables and views, and SELECT on every table the owner creates there later (default
privileges: dbt rebuilds a mart as a new table); and SELECT on `raw.ingest_batches` (one audit
row per landing: counts and times, no payloads) and `live.loan_decisions` (the stream scorer's
decisions), with USAGE on their schemas, once they exist. Nothing else on raw (the event
payloads), live (`decision_quarantine` keeps the undecodable messages), staging, intermediate
or ml, no CREATE anywhere, and every session of the role read-only. Superset connected as the
owner before, so SQL sent through it could read the raw payloads or change the warehouse.
"""

from __future__ import annotations

from ingest.settings import Settings
from ingest.warehouse.session import open_session

READER_SCHEMAS = ("marts", "monitoring")
# Single tables outside those schemas, granted once they exist (a later run grants the rest).
READER_TABLES = (("raw", "ingest_batches"), ("live", "loan_decisions"))


class ReaderRoleError(RuntimeError):
    """The read-only role could not be created or is not read-only; says what to do."""


def ensure_reader_role(name: str, password: str) -> None:
    """Idempotent: create or update the role and its grants (PG* variables: the owner)."""
    import psycopg2
    from psycopg2 import sql

    role = sql.Identifier(name)
    with open_session(Settings(warehouse="postgres")) as session, session.transaction():
        cur = session.con.cursor()
        cur.execute("select current_user, current_database()")
        owner, database = cur.fetchone()
        cur.execute("select rolsuper or rolbypassrls from pg_roles where rolname = %s", (name,))
        found = cur.fetchone()
        if name == owner or (found and found[0]):
            raise ReaderRoleError(
                f"SUPERSET_PG_USER={name!r} is the warehouse owner or a superuser: name a role "
                "of its own for Superset (default superset_reader)"
            )
        verb = sql.SQL("alter" if found else "create")
        try:
            cur.execute(
                sql.SQL("{} role {} with login password %s nocreatedb nocreaterole noinherit")
                .format(verb, role),
                (password,),
            )  # fmt: skip
        except psycopg2.errors.InsufficientPrivilege:
            raise ReaderRoleError(
                f"{owner!r} may not create or alter the role {name!r}: run `python -m exports "
                "superset` once as a superuser or a role with CREATEROLE"
            ) from None
        cur.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(role))
        cur.execute(
            sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), role)
        )
        for name_of_schema in READER_SCHEMAS:
            schema = sql.Identifier(name_of_schema)
            for statement in (
                "create schema if not exists {schema}",
                "grant usage on schema {schema} to {role}",
                "grant select on all tables in schema {schema} to {role}",
                "alter default privileges in schema {schema} grant select on tables to {role}",
            ):
                cur.execute(sql.SQL(statement).format(schema=schema, role=role))
        for name_of_schema, table in READER_TABLES:
            cur.execute("select to_regclass(%s)", (f"{name_of_schema}.{table}",))
            if cur.fetchone()[0] is None:
                continue
            schema = sql.Identifier(name_of_schema)
            for statement in (
                "grant usage on schema {schema} to {role}",
                "grant select on {schema}.{table} to {role}",
            ):
                cur.execute(
                    sql.SQL(statement).format(schema=schema, table=sql.Identifier(table), role=role)
                )
