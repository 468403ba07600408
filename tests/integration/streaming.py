"""Helpers for the streaming tests: run the ingest service as a real process, produce events."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ingest.settings import Settings
from ingest.streaming.producer import produce_csv


def start_ingester(env: Mapping[str, str], until_idle: float = 2.0) -> subprocess.Popen:
    return start_consumer(["ingest", "run"], env, until_idle)


def start_consumer(
    command: list[str], env: Mapping[str, str], until_idle: float
) -> subprocess.Popen:
    """`python -m <command> --until-idle N` (the landing service or the stream scorer)."""
    return subprocess.Popen(
        [sys.executable, "-m", *command, "--until-idle", str(until_idle)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_ingester(env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    process = start_ingester(env)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def produce(env: Mapping[str, str], csv_path: Path, count: int | None = None) -> int:
    settings = Settings.from_env({**os.environ, **env})
    return produce_csv(settings, csv_path, count=count, show_progress=False).events_sent


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
