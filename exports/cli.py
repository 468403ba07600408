"""`python -m exports ...`: what leaves the warehouse."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from exports.console_report import (
    KPI_QUERY,
    WATCHLIST_COUNT_QUERY,
    WATCHLIST_QUERY,
    format_kpis,
    format_watchlist,
)
from exports.dbt_artifacts import last_invocation_id, load_manifest
from exports.lake import LakeError, open_lake
from exports.snapshots import snapshot_all
from exports.warehouse_reader import read_sql
from ingest.settings import ConfigError, Settings


def _report(args: argparse.Namespace, settings: Settings) -> int:
    print(format_kpis(read_sql(settings, KPI_QUERY)))
    print()
    total = int(read_sql(settings, WATCHLIST_COUNT_QUERY).iloc[0, 0])
    print(format_watchlist(read_sql(settings, WATCHLIST_QUERY.format(limit=args.top)), total))
    return 0


def _snapshot(args: argparse.Namespace, settings: Settings) -> int:
    lake = open_lake(settings.lake_url)
    day = args.date or datetime.now(UTC).date()
    print(f"snapshot of the exported marts for {day} to {lake.url}")
    context = {"dbt_invocation_id": last_invocation_id()}
    results = snapshot_all(settings, lake, load_manifest(), day, context)
    print(f"{len(results)} snapshots written")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exports", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="print the KPI summary and the watchlist's top")
    report.add_argument("--top", type=int, default=15, help="watchlist rows to show")
    report.set_defaults(handler=_report)
    snapshot = commands.add_parser("snapshot", help="write the exported marts to the lake")
    snapshot.add_argument("--date", type=date.fromisoformat, default=None,
                          help="snapshot date (default: today, UTC)")  # fmt: skip
    snapshot.set_defaults(handler=_snapshot)
    args = parser.parse_args(argv)
    try:
        return args.handler(args, Settings.from_env())
    except (ConfigError, LakeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
