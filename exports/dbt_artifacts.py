"""What dbt knows about the project: its manifest (models and their meta) and last run."""

from __future__ import annotations

import json
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_manifest(target_path: Path | None = None) -> dict:
    """Parses the project (no warehouse connection) and returns manifest.json as a dict."""
    from dbt.cli.main import dbtRunner

    target = target_path or PROJECT_DIR / "target"
    args = ["parse", "--quiet", "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR / "profiles"), "--target-path", str(target)]  # fmt: skip
    result = dbtRunner().invoke(args)
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return json.loads((target / "manifest.json").read_text())


def last_invocation_id(target_path: Path | None = None) -> str | None:
    """The invocation id of the last dbt run or build, which built what a snapshot holds."""
    results = (target_path or PROJECT_DIR / "target") / "run_results.json"
    if not results.exists():
        return None
    return json.loads(results.read_text())["metadata"].get("invocation_id")
