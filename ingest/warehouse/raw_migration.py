"""Raw tables of the first layout, upgraded in place when the raw schema is initialised.

Layout 1 keyed a row on its source coordinates alone, made `event_id` a UUIDv5 of (type,
loan, month) and numbered nothing. So two states of one loan in one month shared an id and
staging kept only the first, a re-downloaded file or a recreated topic was skipped whole, and
staging found new rows by the ingest host's clock. The upgrade rewrites each raw table in one
transaction, in the current layout: event ids recomputed from the content the rows hold (the
states that shared an id become the separate facts they are), batches numbered in the only
order layout 1 kept (committed_at, then batch id) with landing_seq = commit_seq, every row
stamped with its batch's number, quarantined records given their record_id. Nothing is
dropped: every row of layout 1 is a row of the new tables. The staging tables hold the old
ids afterwards, so the warehouse must be rebuilt with `dbt build --full-refresh`; the command
that ran the upgrade says so.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from ingest.events import canonical_payload, event_id, record_id
from ingest.warehouse.raw_tables import (
    BATCH_COLUMNS,
    COMMIT_SEQUENCE,
    EVENT_COLUMNS,
    EVENT_TABLES,
    LANDING_COLUMNS,
    LANDING_SEQUENCE,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
)
from ingest.warehouse.session import WarehouseSession

OLD = "_layout1"
CHUNK_ROWS = 20_000
_LAYOUT1_BATCH_COLUMNS = tuple(
    c for c in BATCH_COLUMNS if c not in ("landing_seq", "commit_seq", "reused_positions")
)


def needs_upgrade(session: WarehouseSession) -> bool:
    """Whether raw.loan_applications exists without landing_seq (layout 1)."""
    columns = session.columns(RAW_SCHEMA, "loan_applications")
    return bool(columns) and "landing_seq" not in columns


def upgraded_note(where: str) -> None:
    print(
        f"note: upgraded the raw tables in {where} from the first layout (event ids now derived "
        "from content; landings numbered in commit order). Staging still holds the old ids: "
        "rebuild with `dbt build --full-refresh --profiles-dir profiles`",
        file=sys.stderr,
    )


def rename_layout1(session: WarehouseSession, cascade: str) -> None:
    """Move the layout-1 tables aside (`cascade` drops what depends on them: dbt's views over
    the raw tables, which the next dbt build recreates) so the current DDL can create the
    new ones under their names."""
    for table in (*EVENT_TABLES.values(), QUARANTINE_TABLE, "ingest_batches"):
        session.execute(f"drop table if exists {RAW_SCHEMA}.{table}{OLD}{cascade}")
        session.execute(f"alter table {RAW_SCHEMA}.{table} rename to {table}{OLD}")


def copy_batches(session: WarehouseSession) -> int:
    """Number the batches in commit order; returns how many there are."""
    old = ", ".join(_LAYOUT1_BATCH_COLUMNS)
    session.execute(
        f"insert into {RAW_SCHEMA}.ingest_batches ({old}, landing_seq, commit_seq, "
        f"reused_positions) select {old}, seq, seq, 0 from (select *, row_number() over "
        f"(order by committed_at, batch_id) as seq from {RAW_SCHEMA}.ingest_batches{OLD}) "
        "as numbered"
    )
    return session.rows(f"select count(*) from {RAW_SCHEMA}.ingest_batches")[0][0]


def layout1_rows_sql(table: str) -> str:
    """A layout-1 table's rows with the landing_seq of their batch."""
    columns = [c for c in _columns(table) if c not in ("event_id", "record_id")]
    selected = ", ".join(
        "cast(old.payload as text) as payload" if c == "payload" else f"old.{c}"
        for c in (*columns, "batch_id", "landed_at")
    )
    return (
        f"select {selected}, batches.landing_seq from {RAW_SCHEMA}.{table}{OLD} as old "
        f"inner join {RAW_SCHEMA}.ingest_batches as batches on old.batch_id = batches.batch_id"
    )


def upgraded_columns(table: str, columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A chunk of layout-1 rows (layout1_rows_sql) as columns of the current layout."""
    if table == QUARANTINE_TABLE:
        columns["record_id"] = [record_id(bytes(raw)) for raw in columns["raw_record"]]
    else:
        columns["event_id"] = content_event_ids(
            columns["event_type"], columns["loan_id"], columns["occurred_at"], columns["payload"]
        )
    return {c: columns[c] for c in (*_columns(table), *LANDING_COLUMNS)}


def content_event_ids(
    event_types: list[str], loan_ids: list[str], occurred: list[Any], payloads: list[Any]
) -> list[str]:
    """The content-derived ids of layout-1 events (ingest.events.event_id)."""
    return [
        _content_event_id(*row)
        for row in zip(event_types, loan_ids, occurred, payloads, strict=True)
    ]


def upgrade_sql(table: str, id_function: str | None = None) -> str:
    """`insert ... select` of a layout-1 table into the current one; DuckDB computes the new
    ids in the statement with `id_function`, a Python function registered on its connection
    (rows then never leave the transaction)."""
    columns = ", ".join((*_columns(table), *LANDING_COLUMNS))
    if table == QUARANTINE_TABLE:
        identity = f"{id_function}(raw_record)"
    else:
        identity = f"{id_function}(event_type, loan_id, occurred_at, payload)"
    selected = ", ".join(
        identity if c in ("event_id", "record_id") else c
        for c in (*_columns(table), *LANDING_COLUMNS)
    )
    return (
        f"insert into {RAW_SCHEMA}.{table} ({columns}) select {selected} "
        f"from ({layout1_rows_sql(table)}) as layout1"
    )


def restart_sequences(session: WarehouseSession, batches: int) -> None:
    """The sequences continue after the numbers the upgrade gave."""
    for sequence in (LANDING_SEQUENCE, COMMIT_SEQUENCE):
        session.execute(f"drop sequence if exists {sequence}")
        session.execute(f"create sequence {sequence} start with {batches + 1}")


def drop_layout1(session: WarehouseSession, cascade: str) -> None:
    for table in (*EVENT_TABLES.values(), QUARANTINE_TABLE, "ingest_batches"):
        session.execute(f"drop table {RAW_SCHEMA}.{table}{OLD}{cascade}")


def _columns(table: str) -> tuple[str, ...]:
    return QUARANTINE_COLUMNS if table == QUARANTINE_TABLE else EVENT_COLUMNS


def _content_event_id(event_type: str, loan_id: str, occurred_at: Any, payload: Any) -> str:
    document = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
    moment = occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat() + "Z"
    return event_id(event_type, loan_id, moment, canonical_payload(document))
