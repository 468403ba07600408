"""`python -m ml train | train-behaviour | score | backtest-scores | serve-stream | serve-api`:
PD models on the configured warehouse."""

from __future__ import annotations

import argparse
from datetime import date

from ingest.command_line import run_command
from ingest.settings import Settings
from ingest.warehouse.session import open_session
from ml.errors import NoChampionError, NotEnoughData, SplitError
from ml.features import BEHAVIOUR_TARGETS, LABEL, TARGETS, UnknownFeatureError

# Each handler imports its stage (scikit-learn, matplotlib, FastAPI) itself: `--help`, and
# every other command, start without them.


def _train(args: argparse.Namespace, settings: Settings) -> None:
    from ml.training import train

    store = open_session(settings)
    try:
        report = train(
            store, settings.model_dir, cut=args.split_date, seed=args.seed,
            validation_cut=args.validation_date, excluded_features=settings.ml_excluded_features,
            target=args.target,
        )  # fmt: skip
    finally:
        store.close()
    print()
    print(
        f"training {report.training_id}: champion {report.champion} (chosen on validation; "
        "the figures are the test cohorts', calibrated)"
    )
    print(report.metrics.to_string(index=False, float_format="{:.4f}".format))
    print(f"artifacts: {report.folder}")
    print(f"ROC plot:  {report.roc_plot}")
    print(f"lift plot: {report.lift_plot}")


def _train_behaviour(args: argparse.Namespace, settings: Settings) -> None:
    from ml.behaviour import train_behaviour

    store = open_session(settings)
    try:
        report = train_behaviour(
            store, settings.model_dir, target=args.target, seed=args.seed,
            cut=args.split_date, validation_cut=args.validation_date,
        )  # fmt: skip
    finally:
        store.close()
    training = report.training
    print()
    print(
        f"behavioural score {training.training_id}: champion {training.champion} (chosen on "
        "validation; the figures are the test months', calibrated)"
    )
    print(training.metrics.drop(columns="rule_watchlist_lift").to_string(
        index=False, float_format="{:.4f}".format
    ))  # fmt: skip
    print(
        f"scored {report.scored_loans:,} loans open in {report.scored_month:%Y-%m} "
        f"(ml.behaviour_predictions); {report.point_in_time_rows:,} point-in-time scores at "
        f"{len(report.cutoffs)} quarter-end cutoffs ({report.cutoffs[0]:%Y-%m} .. "
        f"{report.cutoffs[-1]:%Y-%m}) in ml.behaviour_point_in_time_scores; `dbt build` puts "
        "them on the watchlist, watchlist_history and ews_backtest"
    )
    print(f"artifacts: {training.folder}")


def _score(_args: argparse.Namespace, settings: Settings) -> None:
    from ml.scoring import score

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


def _backtest_scores(args: argparse.Namespace, settings: Settings) -> None:
    from ml.backtest_scores import backtest_scores

    store = open_session(settings)
    try:
        report = backtest_scores(
            store, args.candidate, args.seed, excluded_features=settings.ml_excluded_features
        )
    finally:
        store.close()
    print(
        f"{report.rows:,} out-of-time PDs ({report.candidate}) at {len(report.cutoffs)} cutoffs "
        f"({report.cutoffs[0]:%Y-%m} .. {report.cutoffs[-1]:%Y-%m}) in ml.point_in_time_scores; "
        "`dbt build` puts them on watchlist_history and ews_backtest"
    )


def _serve_stream(args: argparse.Namespace, settings: Settings) -> None:
    from ml.serving.stream import run_scorer

    print(
        f"deciding events from {settings.kafka_bootstrap} (group {settings.scorer_group}) "
        f"into live.loan_decisions; metrics on :{settings.scorer_metrics_port}/metrics"
    )
    print(run_scorer(settings, until_idle=args.until_idle).summary())


def _serve_api(args: argparse.Namespace, settings: Settings) -> None:
    from ml.serving.api import serve

    print(f"scoring API on http://{args.host}:{args.port} (docs at /docs), champion from "
          f"{settings.model_dir}")  # fmt: skip
    serve(settings.model_dir, args.host, args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    training = commands.add_parser("train", help="train the candidates, register the champion")
    training.add_argument(
        "--split-date", type=date.fromisoformat, default=None,
        help="first issue month of the test cohort (default: the latest ~20%% of loans)",
    )  # fmt: skip
    training.add_argument(
        "--validation-date", type=date.fromisoformat, default=None,
        help="first issue month of the validation cohort, which chooses and calibrates the "
        "champion (default: the ~20%% of loans before the test cohort)",
    )  # fmt: skip
    training.add_argument(
        "--target", choices=list(TARGETS), default=LABEL,
        help="the label: is_default (default among resolved loans, the default), "
        "is_default_12m or is_default_24m (default within 12 or 24 months of issue)",
    )  # fmt: skip
    training.add_argument("--seed", type=int, default=42)
    training.set_defaults(handler=_train)
    behaviour = commands.add_parser(
        "train-behaviour",
        help="train the behavioural early-warning score on the monthly payment history, "
        "score the open loans' latest month and the backtest's months point in time",
    )
    behaviour.add_argument(
        "--target", choices=list(BEHAVIOUR_TARGETS), default="is_charged_off_6m",
        help="charged off within the next 6 months (the default) or 12",
    )  # fmt: skip
    behaviour.add_argument(
        "--split-date", type=date.fromisoformat, default=None,
        help="first month of the test loan-months (default: the latest ~20%%)",
    )  # fmt: skip
    behaviour.add_argument(
        "--validation-date", type=date.fromisoformat, default=None,
        help="first month of the validation loan-months (default: the ~20%% before the test)",
    )  # fmt: skip
    behaviour.add_argument("--seed", type=int, default=42)
    behaviour.set_defaults(handler=_train_behaviour)
    scoring = commands.add_parser(
        "score", help="score the loans the latest champion has not scored yet"
    )
    scoring.set_defaults(handler=_score)
    backtest = commands.add_parser(
        "backtest-scores",
        help="out-of-time PDs for the watchlist backtest: a model per cutoff, fitted only on "
        "loans resolved by then",
    )
    backtest.add_argument(
        "--candidate", default="rich_logistic",
        help="the model family fitted at each cutoff (ml/candidates.py; default rich_logistic)",
    )  # fmt: skip
    backtest.add_argument("--seed", type=int, default=42)
    backtest.set_defaults(handler=_backtest_scores)
    stream = commands.add_parser(
        "serve-stream", help="decide every Kafka event as it arrives, into live.loan_decisions"
    )
    stream.add_argument(
        "--until-idle", type=float, default=None, metavar="SECONDS",
        help="stop after this many seconds without a message (default: run until stopped)",
    )  # fmt: skip
    stream.set_defaults(handler=_serve_stream)
    api = commands.add_parser("serve-api", help="the scoring API (FastAPI on uvicorn)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(handler=_serve_api)
    return run_command(
        parser, argv, (NoChampionError, NotEnoughData, SplitError, UnknownFeatureError)
    )
