"""The raw layer's tables: what arrived, where it came from, when it landed.

The primary key of every table is the event's source coordinates (file and line, or topic,
partition and offset), so landing the same record twice is a no-op: that makes batch loads
re-runnable and the streaming service exactly-once. Cleaning happens later, in dbt.
"""

from __future__ import annotations

RAW_SCHEMA = "raw"
EVENT_TABLES = {"loan.application": "loan_applications", "loan.performance": "loan_performance"}
SOURCE_KEY = ("source_kind", "source_name", "source_partition", "source_offset")

# Columns the writer fills from each record; batch_id and landed_at are set per batch.
EVENT_COLUMNS = (
    "event_id", "event_type", "schema_version", "occurred_at", "source", "loan_id", "payload",
    *SOURCE_KEY,
)  # fmt: skip
QUARANTINE_COLUMNS = ("raw_record", "error_field", "reason", *SOURCE_KEY)
BATCH_COLUMNS = (
    "batch_id", "source_kind", "source_names", "offset_ranges", "records_received",
    "applications_landed", "performance_landed", "quarantined", "duplicates_skipped",
    "write_ms", "lag_at_commit", "started_at", "committed_at",
)  # fmt: skip

_EVENT_TABLE_DDL = """
create table if not exists {schema}.{table} (
    event_id text not null,
    event_type text not null,
    schema_version integer not null,
    occurred_at timestamp not null,
    source text not null,
    loan_id text not null,
    payload {json_type}{payload_compression} not null,
    source_kind text not null,
    source_name text not null,
    source_partition integer not null,
    source_offset bigint not null,
    batch_id text not null,
    landed_at timestamp not null,
    primary key (source_kind, source_name, source_partition, source_offset)
)"""

_QUARANTINE_DDL = """
create table if not exists {schema}.ingest_quarantine (
    raw_record {bytes_type} not null,
    error_field text,
    reason text not null,
    source_kind text not null,
    source_name text not null,
    source_partition integer not null,
    source_offset bigint not null,
    batch_id text not null,
    landed_at timestamp not null,
    primary key (source_kind, source_name, source_partition, source_offset)
)"""

_BATCHES_DDL = """
create table if not exists {schema}.ingest_batches (
    batch_id text primary key,
    source_kind text not null,
    source_names text not null,
    offset_ranges text not null,
    records_received integer not null,
    applications_landed integer not null,
    performance_landed integer not null,
    quarantined integer not null,
    duplicates_skipped integer not null,
    write_ms double precision not null,
    lag_at_commit bigint,
    started_at timestamp not null,
    committed_at timestamp not null
)"""


def raw_ddl(
    json_type: str,
    bytes_type: str,
    index_landed_at: bool = False,
    payload_compression: str | None = None,
) -> list[str]:
    """Idempotent DDL for the raw schema, with the adapter's JSON and binary type names.

    dbt's incremental staging reads the rows landed since its last run; Postgres needs an
    index on landed_at to find them without scanning every payload (DuckDB's zone maps do
    that by themselves, and its indexes would slow the loads). `payload_compression` names
    a DuckDB compression method for the payload columns.
    """
    compression = f" using compression {payload_compression}" if payload_compression else ""
    statements = [f"create schema if not exists {RAW_SCHEMA}"]
    for table in EVENT_TABLES.values():
        statements.append(
            _EVENT_TABLE_DDL.format(
                schema=RAW_SCHEMA, table=table, json_type=json_type, payload_compression=compression
            )
        )
        if index_landed_at:
            statements.append(
                f"create index if not exists {table}_landed_at on {RAW_SCHEMA}.{table} (landed_at)"
            )
    statements.append(_QUARANTINE_DDL.format(schema=RAW_SCHEMA, bytes_type=bytes_type))
    statements.append(_BATCHES_DDL.format(schema=RAW_SCHEMA))
    return statements
