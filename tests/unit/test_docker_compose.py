"""docker-compose.yml, checked statically (no Docker engine runs here or in CI)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ONE_SHOT = {"minio-init", "check-secrets"}
GUARD = "check-secrets"
SCHEDULER_SCRIPT = REPO_ROOT / "exports" / "stack" / "scheduler.sh"
GUARD_SCRIPT = REPO_ROOT / "exports" / "stack" / "check_secrets.sh"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?-[^}]*)?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.IGNORECASE)


def _example_values() -> dict[str, str]:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_][A-Z0-9_]*=", line))


def _example_variables() -> set[str]:
    return set(_example_values())


def _placeholders() -> dict[str, str]:
    """The secrets .env.example leaves for the user to set."""
    return {k: v for k, v in _example_values().items() if v.startswith("change-me")}


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_the_whole_stack_is_there():
    wanted = {"redpanda", "postgres", "minio", "minio-init", "superset", "ingest", "scheduler"}
    assert wanted | {"scorer", "api", "prometheus", "alertmanager"} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned_and_services_restart_and_report_health(name):
    service = SERVICES[name]
    image = service["image"]
    repository, _, tag = image.rpartition(":")
    assert repository and tag and tag != "latest" and "/" not in tag, f"{name}: unpinned {image}"
    restarts = ("unless-stopped", "always", "on-failure")
    assert service.get("restart") in (*restarts, "no") if name == GUARD else restarts, name
    if name not in ONE_SHOT:
        assert service.get("healthcheck", {}).get("test"), f"{name}: no health check"
    if "build" in service:
        dockerfile = REPO_ROOT / service["build"]["dockerfile"]
        for line in dockerfile.read_text().splitlines():
            if line.startswith("FROM "):
                base = line.split()[1]
                assert ":" in base and not base.endswith(":latest"), f"{dockerfile}: {base}"


def test_no_secret_literals_and_every_variable_is_documented():
    for name, service in SERVICES.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert VARIABLE.fullmatch(value), f"{name}: {key} must come from .env"
    referenced = set(VARIABLE.findall((REPO_ROOT / "docker-compose.yml").read_text()))
    referenced |= {"SCHEDULER_INTERVAL_SECONDS", "SCHEDULER_TRAIN_EVERY"}  # scheduler.sh
    missing = referenced - _example_variables()
    assert not missing, f"not in .env.example: {sorted(missing)}"


def _mounted_at(service: str, container_path: str) -> Path:
    """The repo file or folder `service` sees at `container_path` (a read-only bind mount)."""
    for volume in SERVICES[service]["volumes"]:
        source, target, *_ = volume.split(":")
        if target == container_path:
            return REPO_ROOT / source
    raise AssertionError(f"{service}: nothing mounted at {container_path}")


def test_prometheus_scrapes_each_service_on_its_metrics_port_and_alerts_alertmanager():
    config = yaml.safe_load((REPO_ROOT / "exports" / "stack" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    api_command = SERVICES["api"]["command"]
    assert targets == {
        "credit-risk-ews-ingest": [f"ingest:{_environment(SERVICES['ingest'])['INGEST_METRICS_PORT']}"],
        "credit-risk-ews-scorer": [f"scorer:{_environment(SERVICES['scorer'])['SCORER_METRICS_PORT']}"],
        "credit-risk-ews-api": [f"api:{api_command[api_command.index('--port') + 1]}"],
    }  # fmt: skip
    for name, port in (("ingest", "INGEST_METRICS_PORT"), ("scorer", "SCORER_METRICS_PORT")):
        assert _environment(SERVICES[name])["INGEST_METRICS_HOST"] == "0.0.0.0", name
        assert (
            f":{_environment(SERVICES[name])[port]}/" in SERVICES[name]["healthcheck"]["test"][-1]
        )
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    container_port = SERVICES["alertmanager"]["ports"][0].rsplit(":", 1)[1]
    assert alertmanagers["static_configs"][0]["targets"] == [f"alertmanager:{container_port}"]


def test_prometheus_and_alertmanager_read_the_repos_rules_and_configuration():
    """The rule files resolve, inside the container, to the repo's rules, and Alertmanager
    reads the repo's configuration at its image's default path."""
    stack = REPO_ROOT / "exports" / "stack"
    assert _mounted_at("prometheus", "/etc/prometheus/prometheus.yml") == stack / "prometheus.yml"
    rule_files = yaml.safe_load((stack / "prometheus.yml").read_text())["rule_files"]
    assert rule_files == ["alerts/credit_risk_ews.rules.yml"]
    mounted = _mounted_at("prometheus", "/etc/prometheus/alerts")
    assert (mounted / "credit_risk_ews.rules.yml").is_file()
    assert mounted == stack / "alerts"
    config = _mounted_at("alertmanager", "/etc/alertmanager/alertmanager.yml")
    assert config == stack / "alertmanager.yml"
    assert SERVICES["prometheus"]["depends_on"]["alertmanager"] == {"condition": "service_started"}


def _project_commands() -> list[list[str]]:
    """Every `python -m ...` the stack runs: service commands and the scheduler's steps."""
    commands = [SERVICES[name]["command"] for name in ("ingest", "scorer", "api", "scheduler")]
    for line in SCHEDULER_SCRIPT.read_text().splitlines():
        for step in re.findall(r"python -m [a-z_]+ [a-z-]+", line):
            commands.append(shlex.split(step))
    return [command for command in commands if command[:2] == ["python", "-m"]]


def test_every_command_the_stack_runs_exists_in_the_project():
    commands = _project_commands()
    assert {tuple(c[2:4]) for c in commands} >= {
        ("ingest", "run"), ("ml", "train"), ("ml", "score"), ("exports", "all"), ("exports", "superset"),
        ("ml", "serve-stream"), ("ml", "serve-api"),
    }  # fmt: skip
    # Side by side: each start imports the stage's libraries (several seconds apiece).
    shown = [
        (command, subprocess.Popen([sys.executable, *command[1:4], "--help"], cwd=REPO_ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        for command in {tuple(c[:4]): c for c in commands}.values()
    ]  # fmt: skip
    for command, process in shown:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"{' '.join(command)}: {stderr[-500:]}"
    scheduler = SERVICES["scheduler"]["command"]
    assert (REPO_ROOT / scheduler[-1]).exists()
    assert "dbt build --profiles-dir profiles" in SCHEDULER_SCRIPT.read_text()
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name}: {source} is not in the repo"


def _guard(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(GUARD_SCRIPT)], env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True,
    )  # fmt: skip


GOOD_SECRETS = {
    name: f"a-real-{name.lower()}-0123456789abcdef0123456789" for name in _placeholders()
}


def test_every_service_waits_for_the_secrets_guard():
    guard = SERVICES[GUARD]
    assert guard["restart"] == "no"  # a failed check stops the stack instead of looping
    assert any("check_secrets.sh" in volume for volume in guard["volumes"])
    assert "/check_secrets.sh" in guard["entrypoint"]
    assert set(_placeholders()) <= set(_environment(guard)), "the guard sees every secret"
    for name, service in SERVICES.items():
        if name != GUARD:
            depends = service.get("depends_on", {})
            assert depends.get(GUARD) == {"condition": "service_completed_successfully"}, name


def test_the_guard_refuses_the_example_placeholders_and_passes_real_secrets():
    placeholders = _placeholders()
    assert {"PGPASSWORD", "SUPERSET_PASSWORD", "SUPERSET_SECRET_KEY", "AWS_SECRET_ACCESS_KEY",
            "SUPERSET_PG_PASSWORD"} <= set(placeholders)  # fmt: skip
    refused = _guard(placeholders)
    assert refused.returncode != 0
    for name in placeholders:
        assert f"error: {name} is still the .env.example placeholder" in refused.stderr
    assert _guard(GOOD_SECRETS).returncode == 0
    for name in placeholders:
        unset = _guard({k: v for k, v in GOOD_SECRETS.items() if k != name})
        assert unset.returncode != 0 and f"error: {name} is not set" in unset.stderr
    short = _guard({**GOOD_SECRETS, "SUPERSET_SECRET_KEY": "too-short"})
    assert short.returncode != 0 and "SUPERSET_SECRET_KEY is shorter" in short.stderr
