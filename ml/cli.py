"""`python -m ml train | score`: PD models on the configured warehouse."""

from __future__ import annotations

import argparse
from datetime import date

from ingest.command_line import run_command
from ingest.settings import Settings
from ingest.warehouse.session import open_session
from ml.registry import NoChampionError
from ml.scoring import score
from ml.time_split import SplitError
from ml.training import NotEnoughData, train


def _train(args: argparse.Namespace, settings: Settings) -> None:
    store = open_session(settings)
    try:
        report = train(store, settings.model_dir, cut=args.split_date, seed=args.seed)
    finally:
        store.close()
    print()
    print(f"training {report.training_id}: champion {report.champion} (best out-of-time AUC)")
    print(report.metrics.to_string(index=False, float_format="{:.4f}".format))
    print(f"artifacts: {report.folder}")
    print(f"ROC plot:  {report.roc_plot}")
    print(f"lift plot: {report.lift_plot}")


def _score(_args: argparse.Namespace, settings: Settings) -> None:
    store = open_session(settings)
    try:
        report = score(store)
    finally:
        store.close()
    if not report.loans_scored:
        print(f"{report.run_id} ({report.candidate}) already scored all {report.already_scored:,} "
              "loans: nothing to add")  # fmt: skip
        return
    print(
        f"scored {report.loans_scored:,} new loans with {report.run_id} ({report.candidate}) in "
        f"{report.seconds:.1f}s ({report.loans_per_second:,.0f} loans/s), "
        f"{report.already_scored:,} already scored; "
        "`dbt build` puts the PDs on fct_loans and the watchlist"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    training = commands.add_parser("train", help="train the candidates, register the champion")
    training.add_argument(
        "--split-date", type=date.fromisoformat, default=None,
        help="first issue month of the test cohort (default: the latest ~20%% of loans)",
    )  # fmt: skip
    training.add_argument("--seed", type=int, default=42)
    training.set_defaults(handler=_train)
    scoring = commands.add_parser(
        "score", help="score the loans the latest champion has not scored yet"
    )
    scoring.set_defaults(handler=_score)
    return run_command(parser, argv, (NoChampionError, NotEnoughData, SplitError))
