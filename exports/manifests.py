"""A run's files published under a manifest: whatever runs interleave, the files the current
manifest names are never deleted.

A run reads the manifest it is about to replace, uploads its data under its own run id,
writes its manifest (one PUT that replaces the previous one), reads the manifest back, and
only if it is still its own deletes the files of the manifest it replaced. Those are named by
no later manifest (run ids are unique), so even two runs racing for the same key delete
nothing the survivor names; the loser's data stays behind as an orphan. Orphans (a lost race,
a run that died between its upload and its manifest) are swept by later runs once older than
ORPHAN_GRACE: a day, so far above the seconds a run spends between starting an upload and
writing its manifest (S3 dates a multipart upload from its start) that no run still in
flight can lose its data, while an orphan costs at most a day's storage of one file.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from exports.lake import Lake

MANIFEST = "_manifest.json"
ORPHAN_GRACE = timedelta(days=1)


def read_manifest(lake: Lake, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(lake.get_bytes(key))
    except FileNotFoundError:
        return None


def named_files(manifest: dict[str, Any] | None) -> set[str]:
    return {file["key"] for file in manifest["files"]} if manifest else set()


def publish(
    lake: Lake, key: str, manifest: dict[str, Any], replaced: dict[str, Any] | None
) -> None:
    """Write `manifest` (its data already up); `replaced` is the one read before the upload."""
    lake.put_bytes(json.dumps(manifest, indent=2).encode(), key)
    current = read_manifest(lake, key)
    if current is not None and current["run"] == manifest["run"]:
        lake.delete_keys(sorted(named_files(replaced) - named_files(current)))


def sweep_orphans(lake: Lake, root: str, now: datetime) -> None:
    """Delete data under `root`<partition>/ that no manifest names and older than the grace.

    Only a partition with more than one data file, or none and no manifest, can hold an
    orphan: the others cost no manifest read.
    """
    partitions: dict[str, list[tuple[str, bool]]] = {}
    for item in lake.list_objects(root):
        partition = root + item.key[len(root) :].split("/", 1)[0] + "/"
        partitions.setdefault(partition, []).append((item.key, item.modified < now - ORPHAN_GRACE))
    for partition, items in partitions.items():
        data = [(key, stale) for key, stale in items if key != partition + MANIFEST]
        has_manifest = len(data) < len(items)
        if not any(stale for _, stale in data) or (has_manifest and len(data) == 1):
            continue
        named = named_files(read_manifest(lake, partition + MANIFEST))
        lake.delete_keys([key for key, stale in data if stale and key not in named])
