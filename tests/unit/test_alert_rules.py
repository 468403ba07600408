"""The alert rules and the Prometheus and Alertmanager configurations pass the real tools
(promtool, amtool: Debian's prometheus and prometheus-alertmanager packages, which .ci/run
installs), every alert has a severity, operator annotations, a promtool unit test and a row in
the README."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = REPO_ROOT / "exports" / "stack"
RULES = STACK / "alerts" / "credit_risk_ews.rules.yml"
RULE_TESTS = sorted((STACK / "alerts").glob("*.test.yml"))
PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


def _alerts() -> dict[str, dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def _run(tool: str, *args: str) -> str:
    """Run a Prometheus tool; fail with its output (or how to install it) unless it passes."""
    if shutil.which(tool) is None:
        pytest.fail(
            f"{tool} is not installed: apt-get install {PACKAGES[tool]} (.ci/run installs it)"
        )
    done = subprocess.run([tool, *args], cwd=REPO_ROOT, capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{tool} {' '.join(args)} failed:\n{output}"
    return output


def test_promtool_checks_the_rules():
    assert f"SUCCESS: {len(_alerts()) + 1} rules found" in _run(
        "promtool", "check", "rules", str(RULES)
    )


def test_promtool_unit_tests_pass():
    assert len(RULE_TESTS) == 2
    _run("promtool", "test", "rules", *map(str, RULE_TESTS))


def test_promtool_checks_the_prometheus_configuration_and_the_rules_it_loads():
    output = _run("promtool", "check", "config", str(STACK / "prometheus.yml"))
    assert "1 rule files found" in output and str(RULES.relative_to(STACK)) in output


def test_amtool_checks_the_alertmanager_configuration():
    _run("amtool", "check-config", str(STACK / "alertmanager.yml"))


def test_every_alert_says_how_bad_and_what_to_do():
    for name, rule in _alerts().items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"].strip(), name
        assert len(rule["annotations"]["description"].split()) >= 20, f"{name}: say what to do"


def test_every_alert_has_a_unit_test_that_makes_it_fire_and_one_that_keeps_it_quiet():
    fires: set[str] = set()
    quiet: set[str] = set()
    cases = [case for path in RULE_TESTS for case in yaml.safe_load(path.read_text())["tests"]]
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fires == set(_alerts()), "alerts no test makes fire"
    assert quiet == set(_alerts()), "alerts no test checks stay quiet"


def test_the_readme_lists_every_alert():
    section = (REPO_ROOT / "README.md").read_text().split("## Alerting", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))
    assert listed == set(_alerts())
