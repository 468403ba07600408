"""A throwaway PostgreSQL cluster from the installed server binaries, for the test suite."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _server_binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(
            f"PostgreSQL server binary {name!r} not found: install postgresql "
            "(apt-get install postgresql) or point PGHOST/PGPORT at a running server"
        )
    return found


def free_port() -> int:
    """A free TCP port on loopback, for servers the tests and benchmarks start."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_user(command: list[str]) -> list[str]:
    """The server refuses to run as root: run it as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A server we started: its PG* variables, and stop/start for warehouse-outage tests."""

    def __init__(self, root: Path, port: int) -> None:
        self.data, self.port, self.log = root / "data", port, root / "log"
        self.options = f"-p {port} -k {root / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl = _server_binary("pg_ctl")
        self.env = {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
            "PGUSER": "postgres",
            "PGPASSWORD": "",
            "PGDATABASE": "postgres",
        }

    def start(self) -> None:
        subprocess.run(
            _as_postgres_user(
                [self.pg_ctl, "-D", str(self.data), "-o", self.options, "-l", str(self.log),
                 "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )


@contextmanager
def controlled_cluster() -> Iterator[Cluster]:
    """Start a trust-auth cluster on a free loopback port; stop and delete it after."""
    root = Path(tempfile.mkdtemp(prefix="crews-pg-"))
    (root / "sock").mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "sock", "postgres")
    cluster = Cluster(root, free_port())
    subprocess.run(
        _as_postgres_user(
            [_server_binary("initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres"]
        ),
        check=True,
        capture_output=True,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[dict[str, str]]:
    """Start a trust-auth cluster on a free loopback port; yield its PG* variables."""
    with controlled_cluster() as cluster:
        yield cluster.env
