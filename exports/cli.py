"""`python -m exports ...`: what leaves the warehouse."""

from __future__ import annotations

import argparse
import os
import signal
import time
from datetime import UTC, date, datetime
from pathlib import Path

from exports.archive import archive
from exports.console_report import (
    BACKTEST_BY_YEAR_QUERY,
    BACKTEST_QUERY,
    KPI_QUERY,
    WATCHLIST_COUNT_QUERY,
    WATCHLIST_QUERY,
    format_backtest,
    format_backtest_by_year,
    format_kpis,
    format_watchlist,
)
from exports.dbt_artifacts import last_invocation_id, load_manifest
from exports.drift import (
    DEFAULT_DRIFT_SHARE,
    DriftError,
    Window,
    drift_report,
    month_window,
)
from exports.lake import LakeError, open_lake
from exports.snapshots import marts_model_run_id, snapshot_all
from exports.superset_bundle import AssetError
from exports.superset_local import LocalSuperset, SupersetSetupError, default_home, wait_healthy
from exports.superset_provision import ProvisionError, SupersetLogin, provision
from exports.superset_role import ReaderRoleError
from ingest.command_line import run_command
from ingest.settings import Settings
from ingest.warehouse.session import open_session, read_frame


def _report(args: argparse.Namespace, settings: Settings) -> int:
    print(format_kpis(read_frame(settings, KPI_QUERY)))
    print()
    total = int(read_frame(settings, WATCHLIST_COUNT_QUERY).iloc[0, 0])
    print(format_watchlist(read_frame(settings, WATCHLIST_QUERY.format(limit=args.top)), total))
    print()
    print(format_backtest(read_frame(settings, BACKTEST_QUERY)))
    by_year = format_backtest_by_year(read_frame(settings, BACKTEST_BY_YEAR_QUERY))
    if by_year:
        print()
        print(by_year)
    return 0


def _snapshot(args: argparse.Namespace, settings: Settings) -> int:
    lake = open_lake(settings.lake_url)
    day = args.date or datetime.now(UTC).date()
    print(f"snapshot of the exported marts for {day} to {lake.url}")
    context = {
        "dbt_invocation_id": last_invocation_id(),
        "model_run_id": marts_model_run_id(settings),
    }
    results = snapshot_all(settings, lake, load_manifest(), day, context)
    print(f"{len(results)} snapshots written")
    return 0


def _archive(args: argparse.Namespace, settings: Settings) -> int:
    lake = open_lake(settings.lake_url)
    store = open_session(settings)
    try:
        print(f"archive of the raw events landed since the last archive to {lake.url}")
        results = archive(store, lake, settings)
    finally:
        store.close()
    if not results:
        print("nothing new to archive")
    return 0


def _all(args: argparse.Namespace, settings: Settings) -> int:
    """The daily job: snapshots, then the archive, then the drift report."""
    for step in (_snapshot, _archive, _drift):
        if step(args, settings):
            return 1
    return 0


def _superset(args: argparse.Namespace, settings: Settings) -> int:
    login = SupersetLogin.from_env()
    print(
        f"provisioning the dashboards into {login.url} against the {settings.warehouse} warehouse"
    )
    for title, url in provision(settings, login).items():
        print(f"  {title}: {url}")
    return 0


def _superset_local(args: argparse.Namespace, settings: Settings) -> int:
    """`make superset`: install, initialise and start a local Superset, then provision it."""
    local = LocalSuperset(default_home())
    pid_file = local.folder / "superset.pid"
    if _stop_if_running(pid_file) and args.stop:
        print("stopped the local Superset")
    if args.stop:
        return 0
    local.ensure_venv()
    local.ensure_initialised()
    url = f"http://127.0.0.1:{args.port}"
    log = local.folder / "superset.log"
    process = local.start(args.port, log)
    pid_file.write_text(str(process.pid))
    wait_healthy(url, process=process)
    login = SupersetLogin(url, "admin", local.admin_password)
    print(f"Superset is running at {url} (log: {log})")
    for title, dashboard_url in provision(settings, login).items():
        print(f"  {title}: {dashboard_url}")
    print(f"login: admin / {local.admin_password}   (kept in {local.folder}/admin_password)")
    print("stop it with: make superset-stop")
    return 0


def _stop_if_running(pid_file: Path) -> bool:
    """Stop the Superset a previous `make superset` left running; True if there was one."""
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(100):  # free the port before a restart binds it again
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return True


def _window(text: str) -> Window:
    start, _, end = text.partition(":")
    try:
        return Window(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not FROM:TO (YYYY-MM-DD:YYYY-MM-DD)"
        ) from None


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None


def _drift(args: argparse.Namespace, settings: Settings) -> int:
    lake = open_lake(settings.lake_url)
    store = open_session(settings)
    try:
        report = drift_report(
            store, lake, args.date or datetime.now(UTC).date(), args.reference,
            month_window(args.current_month) if args.current_month else args.current,
            args.drift_share,
        )  # fmt: skip
    finally:
        store.close()
    first = report.features.iloc[0]
    print(f"reference {first.reference_from}..{first.reference_to} ({first.reference_rows:,} loans), "
          f"current {first.current_from}..{first.current_to} ({first.current_rows:,} loans)")  # fmt: skip
    columns = ["feature", "method", "drift_score", "threshold", "drifted", "psi"]
    ranked = report.features.sort_values("psi", ascending=False)[columns]
    print(ranked.to_string(index=False, float_format="{:.4f}".format))
    verdict = "DRIFT" if report.dataset_drift else "no dataset drift"
    print(
        f"{verdict}: {report.drifted_share:.0%} of features drifted (flag at {args.drift_share:.0%})"
    )
    if not report.score_stability.empty:
        latest = report.score_stability.iloc[-1]
        print(
            f"champion's score in {latest.issue_month:%Y-%m}: PSI {latest.psi:.4f} against its "
            f"training cohort ({latest.stability}); monitoring.score_stability, "
            "monitoring.model_performance"
        )
    print(f"report: {report.html_url}\n        {report.json_url}; rows in monitoring.feature_drift")
    return 0


def _add_drift_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None, help="report date (default: today, UTC)"
    )
    parser.add_argument("--reference", type=_window, default=None,
                        help="issue dates FROM:TO (default: the champion's training cohort)")  # fmt: skip
    current = parser.add_mutually_exclusive_group()
    current.add_argument("--current", type=_window, default=None,
                        help="issue dates FROM:TO (default: the calendar month of the latest "
                        "application)")  # fmt: skip
    current.add_argument("--current-month", type=_month, default=None, metavar="YYYY-MM",
                        help="the current window as one calendar month of issue dates")  # fmt: skip
    parser.add_argument("--drift-share", type=float, default=DEFAULT_DRIFT_SHARE,
                        help="flag dataset drift when this share of features drifted")  # fmt: skip


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
    archive_command = commands.add_parser("archive", help="raw events since the last archive")
    archive_command.set_defaults(handler=_archive)
    drift = commands.add_parser("drift", help="Evidently drift report: reference vs current window")
    _add_drift_options(drift)
    drift.set_defaults(handler=_drift)
    everything = commands.add_parser("all", help="snapshot, archive and drift: the daily job")
    _add_drift_options(everything)
    everything.set_defaults(handler=_all)
    superset = commands.add_parser(
        "superset", help="provision the dashboards into SUPERSET_URL (idempotent)"
    )
    superset.set_defaults(handler=_superset)
    local = commands.add_parser(
        "superset-local", help="install, start and provision a local Superset (make superset)"
    )
    local.add_argument("--port", type=int, default=8088)
    local.add_argument("--stop", action="store_true", help="stop the local Superset")
    local.set_defaults(handler=_superset_local)
    return run_command(
        parser,
        argv,
        (LakeError, DriftError, AssetError, ProvisionError, ReaderRoleError, SupersetSetupError),
    )
