"""`python -m exports ...`: what leaves the warehouse."""

from __future__ import annotations

import argparse
import sys

from exports.console_report import (
    KPI_QUERY,
    WATCHLIST_COUNT_QUERY,
    WATCHLIST_QUERY,
    format_kpis,
    format_watchlist,
)
from exports.warehouse_reader import read_sql
from ingest.settings import ConfigError, Settings


def _report(args: argparse.Namespace, settings: Settings) -> int:
    print(format_kpis(read_sql(settings, KPI_QUERY)))
    print()
    total = int(read_sql(settings, WATCHLIST_COUNT_QUERY).iloc[0, 0])
    print(format_watchlist(read_sql(settings, WATCHLIST_QUERY.format(limit=args.top)), total))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exports", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="print the KPI summary and the watchlist's top")
    report.add_argument("--top", type=int, default=15, help="watchlist rows to show")
    report.set_defaults(handler=_report)
    args = parser.parse_args(argv)
    try:
        return args.handler(args, Settings.from_env())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
