"""`python -m ingest ...`: generate loans, create the raw tables, load a CSV."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ingest.lendingclub_csv import CsvFormatError
from ingest.settings import ConfigError, Settings
from ingest.warehouse import WarehouseUnavailable, open_warehouse


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.synthetic import write_synthetic_csv

    started = time.perf_counter()
    count = write_synthetic_csv(args.out, args.count, args.seed)
    seconds = time.perf_counter() - started
    print(
        f"wrote {count:,} synthetic loans (seed {args.seed}) to {args.out} in {seconds:.1f}s "
        f"({count / seconds:,.0f} loans/s)"
    )
    return 0


def _init(args: argparse.Namespace, settings: Settings) -> int:
    warehouse = open_warehouse(settings)
    try:
        warehouse.init()
    finally:
        warehouse.close()
    where = settings.duckdb_path if settings.warehouse == "duckdb" else "Postgres (PG* variables)"
    print(f"raw tables ready in {settings.warehouse}: {where}")
    return 0


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.loader import load_csv

    if not args.path.is_file():
        print(f"error: {args.path}: no such file", file=sys.stderr)
        return 2
    warehouse = open_warehouse(settings)
    try:
        warehouse.init()
        report = load_csv(args.path, warehouse, batch_rows=args.batch_rows)
    finally:
        warehouse.close()
    print(report.summary())
    if report.quarantined:
        print(
            f"{report.quarantined:,} rows quarantined: see raw.ingest_quarantine "
            f"(source_name = '{args.path.name}') for each line and reason"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write synthetic LendingClub loans as CSV")
    generate.add_argument("--count", type=int, default=50_000, help="loans to write")
    generate.add_argument("--seed", type=int, default=42, help="random seed (same seed, same file)")
    generate.add_argument("--out", type=Path, required=True, help="CSV path to write")
    generate.set_defaults(handler=_generate)

    init = commands.add_parser("init", help="create the raw schema and tables (idempotent)")
    init.set_defaults(handler=_init)

    load = commands.add_parser("load", help="land a LendingClub CSV in the raw tables")
    load.add_argument("path", type=Path, help="LendingClub accepted-loans CSV export")
    load.add_argument("--batch-rows", type=int, default=25_000, help="rows per transaction")
    load.set_defaults(handler=_load)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.handler(args, settings)
    except (ConfigError, WarehouseUnavailable, CsvFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
