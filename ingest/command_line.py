"""What the three command lines (`python -m ingest`, `ml`, `exports`) share: one handler
signature, `handler(args, settings) -> exit code or None`, and one way of turning an error a
user can act on into a one-line message and exit code 2 (Ctrl-C: 130)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ingest.settings import ConfigError, Settings
from ingest.warehouse.session import WarehouseUnavailable

Handler = Callable[[argparse.Namespace, Settings], int | None]


def run_command(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    user_errors: tuple[type[BaseException], ...] = (),
) -> int:
    """Parse `argv`, read the settings, run the chosen subcommand's `handler`; errors of the
    kinds given (and bad settings, an unreachable warehouse) are printed as one line."""
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, Settings.from_env()) or 0
    except (ConfigError, WarehouseUnavailable, *user_errors) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
