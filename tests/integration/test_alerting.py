"""A real Prometheus (Debian's `prometheus` binary) evaluates the repo's alert rules against a
real landing service (`python -m ingest run` on a real broker and Postgres), scraping the
stream scorer (`python -m ml serve-stream`) and the scoring API (`python -m ml serve-api`)
beside it under the compose stack's job names: quiet while all is well, IngestStalled and WarehouseWriteFailures firing once the warehouse is down with events
waiting, and IngestStalled resolved once it is back and they land.

Prometheus loads a copy of exports/stack/alerts/credit_risk_ews.rules.yml whose every `for:` is
2 s instead of minutes; the expressions, labels and annotations are the repo's, untouched.
Scrapes and evaluations run every second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Producer

from ingest.settings import Settings
from ingest.streaming.producer import file_events
from tests.integration.streaming import start_ingester, wait_for
from tests.postgres_cluster import Cluster, controlled_cluster, free_port

RULES = Path(__file__).resolve().parents[2] / "exports/stack/alerts/credit_risk_ews.rules.yml"
# The compose stack's job names (exports/stack/prometheus.yml).
JOB, SCORER_JOB, API_JOB = "credit-risk-ews-ingest", "credit-risk-ews-scorer", "credit-risk-ews-api"
FOR = "2s"
EVENTS = 200


def _rules_with_short_for(path: Path) -> set[str]:
    """Write the repo's rules to `path` with every `for:` at FOR; return the alert names."""
    document = yaml.safe_load(RULES.read_text())
    alerts = set()
    for group in document["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts.add(rule["alert"])
                rule["for"] = FOR
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return alerts


@contextmanager
def _prometheus(work: Path, targets: dict[str, int]) -> Iterator[int]:
    """Prometheus on a free loopback port, scraping each job's port and evaluating every
    second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: apt-get install prometheus (.ci/run does)")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
            for job, port in targets.items()
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (work / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(lambda: _api(port, "/api/v1/status/runtimeinfo") is not None, 30, "Prometheus")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _api(port: int, path: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return json.loads(response.read())["data"]
    except OSError:
        return None


def _alerts(port: int, state: str) -> dict[str, dict]:
    """The labels of each alert in `state` (pending or firing), by alert name."""
    data = _api(port, "/api/v1/alerts") or {"alerts": []}
    return {a["labels"]["alertname"]: a["labels"] for a in data["alerts"] if a["state"] == state}


def _answers(metrics_port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).close()
    except OSError:
        return False
    return True


def _all_up(port: int) -> bool:
    result = (_api(port, "/api/v1/query?query=up") or {"result": []})["result"]
    return sorted(sample["value"][1] for sample in result) == ["1", "1", "1"]


def _total(port: int, metric: str) -> int:
    result = (_api(port, f"/api/v1/query?query=sum({metric})") or {"result": []})["result"]
    return int(float(result[0]["value"][1])) if result else 0


@contextmanager
def _scorer_and_api(stream_env: dict[str, str], work: Path) -> Iterator[dict[str, int]]:
    """The stream scorer (on topics of its own that stay empty, and a DuckDB file: nothing the
    drill does reaches it) and the API, each with its /metrics on a free port."""
    ports = {SCORER_JOB: free_port(), API_JOB: free_port()}
    scorer_env = {**stream_env, "WAREHOUSE": "duckdb", "DUCKDB_PATH": str(work / "s.duckdb"),
                  "INGEST_APPLICATIONS_TOPIC": f"idle-{stream_env['INGEST_APPLICATIONS_TOPIC']}",
                  "INGEST_PERFORMANCE_TOPIC": f"idle-{stream_env['INGEST_PERFORMANCE_TOPIC']}",
                  "SCORER_METRICS_PORT": str(ports[SCORER_JOB]),
                  "ML_MODEL_DIR": str(work / "models")}  # fmt: skip
    commands = (
        (["serve-stream"], scorer_env),
        (["serve-api", "--port", str(ports[API_JOB])], {"ML_MODEL_DIR": str(work / "models")}),
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "ml", *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for args, env in commands
    ]
    try:
        for port in ports.values():
            wait_for(lambda p=port: _answers(p), 60, f"/metrics on {port}")
        yield ports
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _produce_one_per_batch(env: dict[str, str], csv_path: Path, count: int) -> None:
    """Send `count` events, one per record batch: the Tansu broker's high watermark is the
    last batch's base offset + 1, so only single-record batches give the true lag."""
    settings = Settings.from_env({**os.environ, **env})
    producer = Producer(
        {"bootstrap.servers": settings.kafka_bootstrap, "batch.num.messages": 1, "linger.ms": 0}
    )
    sent = 0
    for events in file_events(csv_path, settings.max_record_bytes):
        if isinstance(events, str):
            continue
        for event in events[: count - sent]:
            producer.produce(settings.topics[event.event_type], event.to_json(), event.loan_id)
            sent += 1
        if sent == count:
            break
    assert producer.flush(30) == 0


def test_a_stalled_landing_service_fires_the_repos_alerts_and_recovery_resolves_them(
    stream_env, synthetic_csv, tmp_path
):
    alert_names = _rules_with_short_for(tmp_path / "rules.yml")
    metrics_port = free_port()
    with controlled_cluster() as cluster:
        env = {**stream_env, **cluster.env, "WAREHOUSE": "postgres",
               "INGEST_METRICS_PORT": str(metrics_port), "INGEST_COMMIT_EVERY": "20"}  # fmt: skip
        service = start_ingester(env, until_idle=600)
        try:
            # Prometheus starts once the service answers: a failed first scrape would make
            # MetricsTargetDown fire within its shortened `for:`.
            wait_for(lambda: _answers(metrics_port), 60, "the service's /metrics")
            with (
                _scorer_and_api(stream_env, tmp_path) as ports,
                _prometheus(tmp_path, {JOB: metrics_port, **ports}) as prometheus,
            ):
                _stall_and_recover(prometheus, cluster, env, synthetic_csv, alert_names)
                # After the drill: a first request (cold, on a loaded machine) may well take
                # over ScoreApiLatencyHigh's 250 ms, which fires under the test's short `for:`.
                _score_one(ports[API_JOB])
                wait_for(
                    lambda: _total(prometheus, "score_api_requests_total") >= 1, 10, "API figures"
                )
        except BaseException:
            service.kill()  # it may be retrying against the stopped warehouse: no clean stop
            service.communicate()
            raise
        service.terminate()
        _, stderr = service.communicate(timeout=60)
        assert service.returncode == 0, stderr


def _stall_and_recover(
    prometheus: int, cluster: Cluster, env: dict[str, str], csv_path: Path, alert_names: set[str]
) -> None:
    wait_for(lambda: _all_up(prometheus), 30, "Prometheus to scrape the three services")
    rules = _api(prometheus, "/api/v1/rules")["groups"]
    assert {r["name"] for g in rules for r in g["rules"] if r["type"] == "alerting"} == alert_names
    assert not _alerts(prometheus, "firing") and not _alerts(prometheus, "pending")

    cluster.stop()
    _produce_one_per_batch(env, csv_path, EVENTS)
    wanted = {"IngestStalled", "WarehouseWriteFailures"}
    wait_for(lambda: wanted <= _alerts(prometheus, "firing").keys(), 40, f"{wanted} to fire")
    firing = _alerts(prometheus, "firing")
    assert firing.keys() == wanted, "nothing else fires"
    for name in wanted:
        assert firing[name]["severity"] == "critical"
        assert firing[name]["instance"] == f"127.0.0.1:{env['INGEST_METRICS_PORT']}"
    rules = _api(prometheus, "/api/v1/rules")["groups"]
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), "evaluation errors"

    cluster.start()
    wait_for(lambda: "IngestStalled" not in _alerts(prometheus, "firing"), 60, "recovery")
    wait_for(
        lambda: _total(prometheus, "ingest_events_landed_total") == EVENTS,
        30,
        "every event to land",
    )


def _score_one(api_port: int) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{api_port}/score", data=b'{"loan_amnt": "1000"}',
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as refused:  # 422: the required fields are missing
        assert refused.code == 422
