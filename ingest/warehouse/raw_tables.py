"""The raw layer's tables: what arrived, where it came from, in which landing.

The idempotency key of a landed row is where it came from plus what it is: the source
coordinates (file and line, or topic, partition and offset) and the record's content-derived
id (`event_id`, or `record_id` for a quarantined record). So landing the same record from the
same place again is a no-op (batch loads re-run, a checkpoint replayed after a crash: the
streaming service is exactly-once), while a different record at coordinates already used (a
re-downloaded file whose line 7 now holds another state, a topic recreated and its offsets
started over) lands as the new fact it is. The same fact landed from two places is two raw
rows of one event id: staging keeps one.

Every landing is one transaction and one `ingest_batches` row. Its `landing_seq` (taken when
it begins, stamped on its rows) orders landings; its `commit_seq` (taken as it commits, in
commit order: Postgres serialises that step with an advisory lock) is what dbt's incremental
staging reads by, so no host's clock decides what is staged, and a landing that commits late
is still picked up. Cleaning happens later, in dbt.
"""

from __future__ import annotations

RAW_SCHEMA = "raw"
EVENT_TABLES = {"loan.application": "loan_applications", "loan.performance": "loan_performance"}
SOURCE_KEY = ("source_kind", "source_name", "source_partition", "source_offset")
QUARANTINE_TABLE = "ingest_quarantine"
# Each raw table's record identity, the last column of its primary key.
IDENTITY_COLUMNS = {
    **dict.fromkeys(EVENT_TABLES.values(), "event_id"),
    QUARANTINE_TABLE: "record_id",
}
TABLE_KEYS = {table: (*SOURCE_KEY, identity) for table, identity in IDENTITY_COLUMNS.items()}
# Set per landing on every row it writes.
LANDING_COLUMNS = ("batch_id", "landing_seq", "landed_at")

# Columns the writer fills from each record.
EVENT_COLUMNS = (
    "event_id", "event_type", "schema_version", "occurred_at", "source", "loan_id", "payload",
    *SOURCE_KEY,
)  # fmt: skip
QUARANTINE_COLUMNS = ("record_id", "raw_record", "error_field", "reason", *SOURCE_KEY)
BATCH_COLUMNS = (
    "batch_id", "landing_seq", "commit_seq", "source_kind", "source_names", "offset_ranges",
    "records_received", "applications_landed", "performance_landed", "quarantined",
    "duplicates_skipped", "reused_positions", "write_ms", "lag_at_commit", "started_at",
    "committed_at",
)  # fmt: skip
TABLE_COLUMNS = {
    **{table: EVENT_COLUMNS for table in EVENT_TABLES.values()},
    QUARANTINE_TABLE: QUARANTINE_COLUMNS,
}
# The columns holding whole records (JSON payloads, quarantined raw bytes).
LZ4_COLUMNS = (
    *((table, "payload") for table in EVENT_TABLES.values()),
    (QUARANTINE_TABLE, "raw_record"),
)
# Sequences the warehouse assigns: one number per landing as it begins, one as it commits.
LANDING_SEQUENCE = f"{RAW_SCHEMA}.landing_seq"
COMMIT_SEQUENCE = f"{RAW_SCHEMA}.commit_seq"

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
    landing_seq bigint not null,
    landed_at timestamp not null,
    primary key (source_kind, source_name, source_partition, source_offset, event_id)
)"""

_QUARANTINE_DDL = """
create table if not exists {schema}.ingest_quarantine (
    record_id text not null,
    raw_record {bytes_type} not null,
    error_field text,
    reason text not null,
    source_kind text not null,
    source_name text not null,
    source_partition integer not null,
    source_offset bigint not null,
    batch_id text not null,
    landing_seq bigint not null,
    landed_at timestamp not null,
    primary key (source_kind, source_name, source_partition, source_offset, record_id)
)"""

_BATCHES_DDL = """
create table if not exists {schema}.ingest_batches (
    batch_id text primary key,
    landing_seq bigint not null,
    commit_seq bigint not null unique,
    source_kind text not null,
    source_names text not null,
    offset_ranges text not null,
    records_received integer not null,
    applications_landed integer not null,
    performance_landed integer not null,
    quarantined integer not null,
    duplicates_skipped integer not null,
    reused_positions integer not null,
    write_ms double precision not null,
    lag_at_commit bigint,
    started_at timestamp not null,
    committed_at timestamp not null
)"""


def raw_ddl(
    json_type: str,
    bytes_type: str,
    index_landing_seq: bool = False,
    payload_compression: str | None = None,
) -> list[str]:
    """Idempotent DDL for the raw schema, with the adapter's JSON and binary type names.

    dbt's incremental staging reads the rows of the landings committed since its last run,
    which carry a landing_seq at least the lowest of those landings'. Postgres needs an index
    on landing_seq to find them without scanning every payload (it grows at its right edge,
    so it costs the COPY little; DuckDB skips row groups by their zone maps by itself, and its
    indexes would slow the loads). `payload_compression` names a DuckDB compression method
    for the payloads.
    """
    compression = f" using compression {payload_compression}" if payload_compression else ""
    statements = [
        f"create schema if not exists {RAW_SCHEMA}",
        f"create sequence if not exists {LANDING_SEQUENCE}",
        f"create sequence if not exists {COMMIT_SEQUENCE}",
    ]
    for table in EVENT_TABLES.values():
        statements.append(
            _EVENT_TABLE_DDL.format(
                schema=RAW_SCHEMA, table=table, json_type=json_type, payload_compression=compression
            )
        )
        if index_landing_seq:
            statements.append(
                f"create index if not exists {table}_landing_seq "
                f"on {RAW_SCHEMA}.{table} (landing_seq)"
            )
    statements.append(_QUARANTINE_DDL.format(schema=RAW_SCHEMA, bytes_type=bytes_type))
    statements.append(_BATCHES_DDL.format(schema=RAW_SCHEMA))
    return statements
