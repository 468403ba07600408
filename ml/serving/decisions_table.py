"""`live.loan_decisions`: one row per event the stream scorer decided, and where it stands.

The primary key is the event's Kafka coordinates and its content identity, the raw tables' key
(ingest/warehouse/raw_tables.py): a replay after a crash finds its rows already there and adds
nothing, and a recreated topic's reused offsets carry other event ids, so they are new rows.
`reason_codes` is a JSON array of strings and `top_features` a JSON array of
{feature, direction, contribution} (the API's), null without a champion: the same text on both
engines; dbt reads them as text. Events the scorer could not decode land in `live.decision_quarantine` with the reason,
in the same transaction as the checkpoint's decisions.
"""

from __future__ import annotations

from ingest.warehouse.session import WarehouseSession

SCHEMA = "live"
DECISIONS = f"{SCHEMA}.loan_decisions"
QUARANTINE = f"{SCHEMA}.decision_quarantine"

DECISION_COLUMNS = (
    "loan_id", "event_id", "event_type", "source_name", "source_partition", "source_offset",
    "event_time", "decided_at", "model_run_id", "pd", "risk_decile", "risk_tier", "rule_flag",
    "reason_codes", "top_features",
)  # fmt: skip

DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {DECISIONS} (
        loan_id bigint not null,
        event_id text not null,
        event_type text not null,
        source_name text not null,
        source_partition integer not null,
        source_offset bigint not null,
        event_time timestamp not null,
        decided_at timestamp not null,
        model_run_id text,
        pd double precision,
        risk_decile integer,
        risk_tier text,
        rule_flag boolean not null,
        reason_codes text not null,
        top_features text,
        primary key (source_name, source_partition, source_offset, event_id)
    )""",
    f"""create table if not exists {QUARANTINE} (
        source_name text not null,
        source_partition integer not null,
        source_offset bigint not null,
        record_id text not null,
        event_time timestamp,
        quarantined_at timestamp not null,
        reason text not null,
        raw_value text,
        primary key (source_name, source_partition, source_offset, record_id)
    )""",
)


def ensure_tables(session: WarehouseSession) -> None:
    for statement in DDL:
        session.execute(statement)
