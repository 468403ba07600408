"""`python -m exports snapshot`: each mart marked for export, as Parquet, once per day.

Layout: `snapshots/<model>/snapshot_date=YYYY-MM-DD/` holds `_manifest.json` and the data of
the run it names (`run=<id>/part-0.parquet`). The data goes up first and the manifest last,
in one PUT that replaces the previous one, and only then are the replaced run's files
removed (exports/manifests.py: never a file the current manifest names, even when two runs
of the same day race): a reader that goes through the manifest never sees a half-written
snapshot, and a run that dies mid-upload leaves the previous snapshot whole. Re-running a day
replaces that day and touches no other.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from exports.lake import Lake
from exports.manifests import MANIFEST, publish, read_manifest, sweep_orphans
from ingest.settings import Settings
from ingest.warehouse.session import open_session, read_frame

EXPORT_META_KEY = "export_snapshot"


@dataclass(frozen=True)
class SnapshotResult:
    model: str
    rows: int
    manifest_key: str


def exported_models(manifest: dict) -> list[tuple[str, str]]:
    """(schema, model) of every model whose dbt meta says `export_snapshot: true`."""
    return sorted(
        (node["schema"], node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("meta", {}).get(EXPORT_META_KEY)
    )


def snapshot_prefix(model: str, day: date) -> str:
    return f"snapshots/{model}/snapshot_date={day.isoformat()}/"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot_model(
    settings: Settings, lake: Lake, schema_name: str, model: str, day: date, context: dict
) -> SnapshotResult:
    prefix = snapshot_prefix(model, day)
    manifest_key = prefix + MANIFEST
    replaced = read_manifest(lake, manifest_key)
    run = uuid.uuid4().hex[:12]
    with tempfile.TemporaryDirectory(prefix="crews-snapshot-") as folder:
        local = Path(folder) / "part-0.parquet"
        relation = f"{schema_name}.{model}"
        with open_session(settings, read_only=True) as session:
            session.write_parquet(f"select * from {relation}", local)
        metadata = pq.read_metadata(local)
        data_key = f"{prefix}run={run}/part-0.parquet"
        lake.put_file(local, data_key)
        manifest = {
            "model": model, "relation": relation, "snapshot_date": day.isoformat(),
            "run": run, "row_count": metadata.num_rows,
            "columns": [
                {"name": f.name, "type": str(f.type)} for f in pq.read_schema(local)
            ],
            "files": [{"key": data_key, "rows": metadata.num_rows, "bytes": local.stat().st_size,
                       "sha256": _sha256(local)}],
            "written_at": datetime.now(UTC).isoformat(), **context,
        }  # fmt: skip
    publish(lake, manifest_key, manifest, replaced)
    sweep_orphans(lake, f"snapshots/{model}/", datetime.now(UTC))
    return SnapshotResult(model, manifest["row_count"], manifest_key)


def marts_model_run_id(settings: Settings) -> str | None:
    """The champion run whose PDs the marts hold now (None before a model has scored)."""
    runs = read_frame(settings, "select max(model_run_id) as run_id from marts.fct_loans")
    run_id = runs["run_id"].iloc[0]
    return None if run_id is None or pd.isna(run_id) else str(run_id)


def snapshot_all(
    settings: Settings,
    lake: Lake,
    manifest: dict,
    day: date,
    context: dict,
    progress: Callable[[str], None] = print,
) -> list[SnapshotResult]:
    results = []
    for schema_name, model in exported_models(manifest):
        result = snapshot_model(settings, lake, schema_name, model, day, context)
        progress(f"  {model}: {result.rows:,} rows -> {lake.url}/{result.manifest_key}")
        results.append(result)
    return results


def read_snapshot(lake: Lake, model: str, day: date) -> pa.Table:
    """The snapshot of `model` for `day`, as its manifest names it (checksums verified)."""
    manifest = json.loads(lake.get_bytes(snapshot_prefix(model, day) + MANIFEST))
    tables = []
    for file in manifest["files"]:
        data = lake.get_bytes(file["key"])
        if hashlib.sha256(data).hexdigest() != file["sha256"]:
            raise ValueError(f"{file['key']} does not match the checksum in its manifest")
        tables.append(pq.read_table(pa.BufferReader(data)))
    return pa.concat_tables(tables)
