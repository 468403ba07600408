"""A local Superset 6.1 for `make superset` and the test suite, in its own virtualenv.

Superset pins SQLAlchemy<2 and an older pandas, so it never shares the project's
environment: it gets a virtualenv under SUPERSET_LOCAL_DIR (default .cache/superset), built once
from exports/superset/requirements.txt, and we talk to it over HTTP only. Each instance
(`local` for make superset, `test` for pytest) has its own SQLite metadata database, secret
key and generated admin password, all kept in the instance folder and reused on later runs.
The Superset process gets only its own settings and a few system variables (PASSED_THROUGH):
none of the warehouse, S3 or other secrets of the environment it is started from. uv, which
builds the virtualenv, keeps the whole environment (proxies, indexes).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from exports.superset_bundle import ASSETS_DIR

REQUIREMENTS = ASSETS_DIR / "requirements.txt"
CONSTRAINTS = ASSETS_DIR / "constraints.txt"
CONFIG = ASSETS_DIR / "superset_config.py"
ADMIN_USER = "admin"
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


class SupersetSetupError(RuntimeError):
    """The local Superset could not be installed, initialised or started."""


def default_home() -> Path:
    return Path(os.environ.get("SUPERSET_LOCAL_DIR") or ".cache/superset").resolve()


@dataclass(frozen=True)
class LocalSuperset:
    home: Path  # holds venv/ (shared) and one folder per instance
    instance: str = "local"

    @property
    def venv(self) -> Path:
        return self.home / "venv"

    @property
    def folder(self) -> Path:
        return self.home / self.instance

    @property
    def binary(self) -> Path:
        return self.venv / "bin" / "superset"

    def env(self) -> dict[str, str]:
        """Superset's environment."""
        return {
            **{name: os.environ[name] for name in PASSED_THROUGH if name in os.environ},
            "SUPERSET_CONFIG_PATH": str(CONFIG),
            "SUPERSET_HOME": str(self.folder),
            "SUPERSET_SECRET_KEY": self._secret("secret_key", 48),
            "FLASK_APP": "superset",
            "PYTHONWARNINGS": "ignore",
        }

    @property
    def admin_password(self) -> str:
        return self._secret("admin_password", 18)

    def _secret(self, name: str, size: int) -> str:
        """Generated on first use and kept (0600) so later runs log in with the same one."""
        path = self.folder / name
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(size))
        return path.read_text().strip()

    def ensure_venv(self) -> None:
        """Build the virtualenv, or rebuild it when the pins changed."""
        stamp = self.venv / ".requirements.sha256"
        wanted = hashlib.sha256(REQUIREMENTS.read_bytes() + CONSTRAINTS.read_bytes()).hexdigest()
        if self.binary.exists() and stamp.exists() and stamp.read_text() == wanted:
            return
        print(f"installing Superset into {self.venv} (once)", flush=True)
        venv = [sys.executable, "-m", "venv", "--clear", str(self.venv)]
        self._run(venv, "create the venv", dict(os.environ))
        # uv (the project's dev dependency): seconds where pip took minutes.
        uv = [sys.executable, "-m", "uv", "pip", "install", "--quiet"]
        uv += ["--python", str(self.venv / "bin" / "python")]
        uv += ["-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS)]
        self._run(uv, "install Superset", dict(os.environ))
        stamp.write_text(wanted)

    def ensure_initialised(self) -> None:
        """Create the metadata database and the admin the first time only."""
        marker = self.folder / ".initialised"
        if marker.exists():
            return
        print(f"initialising Superset metadata in {self.folder} (about 20 s, once)", flush=True)
        superset = str(self.binary)
        self._run([superset, "db", "upgrade"], "upgrade the metadata database")
        admin = ["--username", ADMIN_USER, "--firstname", "Credit", "--lastname", "Risk"]
        admin += ["--email", "admin@localhost", "--password", self.admin_password]
        self._run([superset, "fab", "create-admin", *admin], "create the admin user")
        self._run([superset, "init"], "initialise roles and permissions")
        marker.touch()

    def start(self, port: int, log: Path) -> subprocess.Popen[bytes]:
        command = [str(self.binary), "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"]
        with log.open("ab") as out:
            # Its own session: a Ctrl-C in the shell that started it does not stop it.
            return subprocess.Popen(
                command,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _run(self, command: list[str], what: str, env: dict[str, str] | None = None) -> None:
        done = subprocess.run(command, env=env or self.env(), capture_output=True, text=True)
        if done.returncode:
            tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
            raise SupersetSetupError(f"could not {what}:\n" + "\n".join(tail))


def wait_healthy(url: str, timeout: float = 90.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SupersetSetupError(f"Superset exited with code {process.returncode} on start")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SupersetSetupError(f"Superset did not answer {url}/health within {timeout:.0f}s")
