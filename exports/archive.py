"""`python -m exports archive`: raw events landed since the last archive, as Parquet.

Layout: `raw/<topic>/dt=YYYY-MM-DD/run=<id>.parquet` (dt = landing day) and one manifest per
run, `raw/_runs/run=<id>.json`, with the files, row counts and the line or offset ranges of
every batch. The watermark is the set of landing batches already taken
(`raw.archived_batches`): a run first records which batches it takes, then uploads, then
marks itself done; a run that dies is finished by the next one with the same batches and
the same file names, so nothing is archived twice and re-running adds nothing.
`python -m ingest load <folder>/raw` replays an archive into a warehouse.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from exports.lake import Lake
from ingest.raw_tables import EVENT_COLUMNS, EVENT_TABLES, RAW_SCHEMA
from ingest.settings import Settings
from ml.store import MlStore

ARCHIVE_RUNS = f"{RAW_SCHEMA}.archive_runs"
ARCHIVED_BATCHES = f"{RAW_SCHEMA}.archived_batches"
ARCHIVE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()), ("event_type", pa.string()), ("schema_version", pa.int32()),
        ("occurred_at", pa.timestamp("us")), ("source", pa.string()), ("loan_id", pa.string()),
        ("payload", pa.string()), ("source_kind", pa.string()), ("source_name", pa.string()),
        ("source_partition", pa.int32()), ("source_offset", pa.int64()),
        ("batch_id", pa.string()), ("landed_at", pa.timestamp("us")),
    ]
)  # fmt: skip
DDL = (
    f"""create table if not exists {ARCHIVE_RUNS} (
        run_id text primary key,
        status text not null,
        created_at timestamp not null,
        finished_at timestamp,
        manifest_key text
    )""",
    f"""create table if not exists {ARCHIVED_BATCHES} (
        batch_id text primary key,
        run_id text not null
    )""",
)


@dataclass(frozen=True)
class ArchiveResult:
    run_id: str
    batches: int
    rows: int
    manifest_key: str


def _payload_text(value: object) -> str:
    # DuckDB hands JSON back as text, psycopg2 as a parsed dict.
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _export_run(store: MlStore, lake: Lake, settings: Settings, run_id: str) -> ArchiveResult:
    batches = store.read(
        f"select b.batch_id, b.source_names, b.offset_ranges from {ARCHIVED_BATCHES} a "
        f"join {RAW_SCHEMA}.ingest_batches b on a.batch_id = b.batch_id "
        f"where a.run_id = '{run_id}' order by b.committed_at, b.batch_id"
    )
    files: dict[str, tuple[Path, pq.ParquetWriter, list[int]]] = {}
    columns = ", ".join((*EVENT_COLUMNS, "batch_id", "landed_at"))
    with tempfile.TemporaryDirectory(prefix="crews-archive-") as folder:
        for event_type, table in EVENT_TABLES.items():
            topic = settings.topics[event_type]
            for batch_id in batches["batch_id"]:
                rows = store.read(
                    f"select {columns} from {RAW_SCHEMA}.{table} where batch_id = '{batch_id}' "
                    "order by source_kind, source_name, source_partition, source_offset"
                )
                if rows.empty:
                    continue
                rows["payload"] = rows["payload"].map(_payload_text)
                for day, part in rows.groupby(rows["landed_at"].dt.date):
                    key = f"raw/{topic}/dt={day.isoformat()}/run={run_id}.parquet"
                    if key not in files:
                        path = Path(folder) / f"{len(files)}.parquet"
                        files[key] = (path, pq.ParquetWriter(path, ARCHIVE_SCHEMA), [0])
                    _, writer, count = files[key]
                    writer.write_table(
                        pa.Table.from_pandas(part, schema=ARCHIVE_SCHEMA, preserve_index=False)
                    )
                    count[0] += len(part)
        for key, (path, writer, _) in files.items():
            writer.close()
            lake.put_file(path, key)
    manifest_key = f"raw/_runs/run={run_id}.json"
    manifest = {
        "run_id": run_id,
        "files": [{"key": key, "rows": count[0]} for key, (_, _, count) in files.items()],
        "batches": [
            {
                "batch_id": b.batch_id,
                "sources": b.source_names,
                "ranges": json.loads(b.offset_ranges),
            }
            for b in batches.itertuples()
        ],
        "written_at": datetime.now(UTC).isoformat(),
    }
    lake.put_bytes(json.dumps(manifest, indent=1).encode(), manifest_key)
    finished = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    store.execute(
        f"update {ARCHIVE_RUNS} set status = 'done', finished_at = '{finished}', "
        f"manifest_key = '{manifest_key}' where run_id = '{run_id}'"
    )
    store.commit()
    return ArchiveResult(
        run_id, len(batches), sum(c[0] for _, _, c in files.values()), manifest_key
    )


def archive(
    store: MlStore, lake: Lake, settings: Settings, progress: Callable[[str], None] = print
) -> list[ArchiveResult]:
    for statement in DDL:
        store.execute(statement)
    store.commit()
    pending = store.read(
        f"select run_id from {ARCHIVE_RUNS} where status = 'pending' order by created_at"
    )
    results = []
    for run_id in pending["run_id"]:
        progress(f"  finishing interrupted run {run_id}")
        results.append(_export_run(store, lake, settings, run_id))
    new = store.read(
        f"select batch_id from {RAW_SCHEMA}.ingest_batches where batch_id not in "
        f"(select batch_id from {ARCHIVED_BATCHES})"
    )
    if not new.empty:
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        created = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        store.execute(
            f"insert into {ARCHIVE_RUNS} (run_id, status, created_at) values ('{run_id}', 'pending', '{created}')"
        )
        store.append(ARCHIVED_BATCHES, new.assign(run_id=run_id))
        store.commit()  # the run's batch set is fixed before anything is uploaded
        results.append(_export_run(store, lake, settings, run_id))
    for result in results:
        progress(
            f"  run {result.run_id}: {result.batches:,} batches, {result.rows:,} events -> {lake.url}/{result.manifest_key}"
        )
    return results
