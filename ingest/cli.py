"""`python -m ingest ...`: generate loans, create the raw tables, load a CSV, and stream\nevents through Kafka (produce, run, broker, reprocess-quarantine)."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from ingest.command_line import run_command
from ingest.files.lendingclub_csv import CsvFormatError
from ingest.settings import Settings
from ingest.streaming.topics import KafkaUnavailable
from ingest.warehouse.session import engine_module
from ingest.warehouse.writer import BULK_COMMIT_ROWS, open_initialised_writer, open_writer


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.synthetic import write_synthetic_csv

    started = time.perf_counter()
    loan_months = write_synthetic_csv(args.out, args.count, args.seed, args.history_out)
    seconds = time.perf_counter() - started
    print(
        f"wrote {args.count:,} synthetic loans (seed {args.seed}) to {args.out} in "
        f"{seconds:.1f}s ({args.count / seconds:,.0f} loans/s)"
    )
    if args.history_out is not None:
        print(
            f"with their monthly payment history: {loan_months:,} loan-months in "
            f"{args.history_out} ({loan_months / seconds:,.0f} loan-months/s)"
        )
    return 0


def _init(args: argparse.Namespace, settings: Settings) -> int:
    open_initialised_writer(settings).close()
    print(f"raw tables ready in {engine_module(settings).describe(settings)}")
    return 0


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.files.loader import load_csv
    from ingest.files.memory import retain_freed_memory

    if args.path.is_dir():
        return _replay(args.path, settings)
    if not args.path.is_file():
        print(f"error: {args.path}: no such file", file=sys.stderr)
        return 2
    retain_freed_memory()
    warehouse = open_initialised_writer(settings)
    try:
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


def _replay(folder: Path, settings: Settings) -> int:
    from ingest.files.archive_replay import archive_files, replay_archive

    if not archive_files(folder):
        print(f"error: {folder}: no archive files (*.parquet) in it", file=sys.stderr)
        return 2
    warehouse = open_initialised_writer(settings)
    try:
        report = replay_archive(folder, warehouse)
    finally:
        warehouse.close()
    print(report.summary())
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    with warnings.catch_warnings():
        # quixstreams imports authlib's httpx client, which warns on every start (not ours);
        # authlib forces its warnings on when imported, so silence them after that.
        import authlib.deprecate

        warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
        from ingest.streaming.service import run_service

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if engine_module(settings).SINGLE_WRITER:
        print(
            f"ingesting into {engine_module(settings).describe(settings)}: the file has one "
            "writer, so run dbt after this service stops (use Postgres for live ingest with "
            "dbt alongside)",
            file=sys.stderr,
        )
    report = run_service(settings, until_idle=args.until_idle, log_level=args.log_level)
    print(report.summary())
    return 0


def _produce(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.streaming.producer import produce_csv, produce_history, produce_synthetic

    for path in (args.csv, args.history):
        if path is not None and not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            return 2
    if args.month_every is not None and args.history is None:
        print(
            "error: --month-every paces a payment history: use it with --history", file=sys.stderr
        )
        return 2
    if args.csv is not None:
        report = produce_csv(settings, args.csv, args.count, args.rate)
    elif args.history is not None:
        report = produce_history(
            settings, args.history, args.month_every, args.count, since=args.since
        )
    else:
        report = produce_synthetic(settings, args.synthetic, args.seed, args.count, args.rate)
    print(report.summary())
    return 0


def _broker(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    from ingest.streaming.local_broker import start_broker, stop_broker

    host, _, port = settings.kafka_bootstrap.rpartition(":")
    process = start_broker(int(args.port or port), host or "127.0.0.1")
    print(
        f"Tansu development broker on {host}:{args.port or port} (memory only: topics are lost "
        "when it stops; production uses Kafka or Redpanda). Ctrl-C or SIGTERM stops it.",
        flush=True,
    )
    # SIGTERM unwinds to the finally below: stopping the broker inside the handler would
    # deadlock on the wait() it interrupts.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        process.wait()
    finally:
        stop_broker(process)
    return 0


def _reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.streaming.quarantine_replay import reprocess_quarantine

    warehouse = open_writer(settings)
    try:
        print(reprocess_quarantine(warehouse, settings).summary())
    finally:
        warehouse.close()
    return 0


def _month_argument(text: str) -> str:
    """'2017-01' as given, or an argparse error naming the form."""
    try:
        month = time.strptime(text, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month like 2017-01") from None
    return f"{month.tm_year:04d}-{month.tm_mon:02d}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write synthetic LendingClub loans as CSV")
    generate.add_argument("--count", type=int, default=50_000, help="loans to write")
    generate.add_argument("--seed", type=int, default=42, help="random seed (same seed, same file)")
    generate.add_argument("--out", type=Path, required=True, help="CSV path to write")
    generate.add_argument(
        "--history-out", type=Path, metavar="PATH",
        help="also write each loan's monthly payment history (LendingClub's PMTHIST layout)",
    )  # fmt: skip
    generate.set_defaults(handler=_generate)

    init = commands.add_parser("init", help="create the raw schema and tables (idempotent)")
    init.set_defaults(handler=_init)

    load = commands.add_parser(
        "load", help="land a LendingClub CSV, or replay a raw-event archive folder"
    )
    load.add_argument(
        "path", type=Path,
        help="LendingClub accepted-loans CSV export, or a folder of `exports archive` Parquet",
    )  # fmt: skip
    load.add_argument(
        "--batch-rows", type=int, default=BULK_COMMIT_ROWS, help="rows per transaction"
    )
    load.set_defaults(handler=_load)

    run = commands.add_parser("run", help="stream events from Kafka into the raw tables")
    run.add_argument(
        "--until-idle",
        type=float,
        metavar="SECONDS",
        help="exit after no message arrived for this long (batch runs, the demo)",
    )
    run.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default)")
    run.set_defaults(handler=_run)

    produce = commands.add_parser("produce", help="send loan events to Kafka")
    source = produce.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", type=Path, help="a LendingClub CSV export to replay")
    source.add_argument("--synthetic", type=int, metavar="N", help="N synthetic loans")
    source.add_argument(
        "--history", type=Path, metavar="PATH",
        help="a payment history (PMTHIST layout) to replay month by month, in calendar order",
    )  # fmt: skip
    produce.add_argument(
        "--since", type=_month_argument, metavar="YYYY-MM",
        help="with --history: only the months from this one on",
    )  # fmt: skip
    produce.add_argument(
        "--month-every", type=float, metavar="SECONDS",
        help="with --history: each month takes at least this long (a servicer's monthly feed, "
        "sped up); default: as fast as possible",
    )  # fmt: skip
    produce.add_argument("--seed", type=int, default=42, help="seed for --synthetic")
    produce.add_argument("--count", type=int, help="stop after this many events")
    produce.add_argument(
        "--rate", type=float, help="events per second (default: as fast as possible)"
    )
    produce.set_defaults(handler=_produce)

    broker = commands.add_parser("broker", help="run a local development Kafka broker (Tansu)")
    broker.add_argument("--port", type=int, help="port (default: the one in KAFKA_BOOTSTRAP)")
    broker.set_defaults(handler=_broker)

    reprocess = commands.add_parser(
        "reprocess-quarantine",
        help="decode quarantined Kafka messages again and land the ones that now pass",
    )
    reprocess.set_defaults(handler=_reprocess)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv, (CsvFormatError, KafkaUnavailable))
