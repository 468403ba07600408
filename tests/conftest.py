"""Shared fixtures: a real Postgres (throwaway unless PGHOST points at one), a real Kafka broker,
a real S3 endpoint, and fixture CSVs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg2
import pytest

from exports.lake import S3Lake, open_lake
from ingest.streaming.local_broker import local_broker
from ingest.synthetic import write_synthetic_csv
from tests.postgres_cluster import free_port, throwaway_cluster

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_DATABASE = f"t_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
# Under pytest-xdist (`--dist loadfile`) each file goes whole to the next free worker, in
# collection order: the longest files first, so none of them starts last and runs alone
# (packing the measured file times on 3 workers: 542 s alphabetically, 475 s longest first).
# The Makefile passes --no-loadscope-reorder: xdist would otherwise re-sort the files by
# their number of tests.
LONGEST_FIRST = (
    "test_superset", "test_streaming_exactly_once", "test_dbt_build", "test_ml",
    "test_exports_snapshot", "test_stream_scorer", "test_loan_months", "test_event_identity",
    "test_streaming_metrics", "test_renamed_warehouse", "test_dbt_incremental",
    "test_exports_s3_faults",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files in LONGEST_FIRST order, then the rest; each file's own order kept."""
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, str]]:
    """PG* variables of a server for the session: the caller's if PGHOST is set, else ours."""
    if os.environ.get("PGHOST"):
        yield {k: v for k, v in os.environ.items() if k.startswith("PG")}
        return
    with throwaway_cluster() as env:
        yield env


@pytest.fixture
def postgres_env(postgres_server, monkeypatch) -> Iterator[dict[str, str]]:
    """A fresh database on the session's server, exported as PG* variables for the test.

    Its name is the same for every test of a worker process (tests of one worker run one at
    a time): dbt parses the whole project again when the connection differs from its last
    run's, 9 s a time here."""
    name = WORKER_DATABASE
    admin = psycopg2.connect(**_connect_args(postgres_server))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {name} with (force)")
        cur.execute(f"create database {name}")
    env = {**postgres_server, "PGDATABASE": name}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {name} with (force)")
    admin.close()


def _connect_args(env: dict[str, str]) -> dict[str, str]:
    return {
        "host": env["PGHOST"],
        "port": env.get("PGPORT", "5432"),
        "user": env.get("PGUSER", "postgres"),
        "password": env.get("PGPASSWORD", ""),
        "dbname": env.get("PGDATABASE", "postgres"),
    }


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory) -> Path:
    """3,000 synthetic loans; their monthly payment history beside them (synthetic_history)."""
    path = tmp_path_factory.mktemp("synthetic") / "synthetic_loans.csv"
    write_synthetic_csv(path, count=3_000, seed=11, history_path=path.with_name("PMTHIST.csv"))
    return path


@pytest.fixture(scope="session")
def synthetic_history(synthetic_csv) -> Path:
    """The payment history (PMTHIST layout) of the synthetic_csv loans."""
    return synthetic_csv.with_name("PMTHIST.csv")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker (Tansu) on a free loopback port for the session."""
    with local_broker(free_port()) as bootstrap:
        yield bootstrap


@pytest.fixture
def stream_env(kafka_bootstrap) -> dict[str, str]:
    """Settings for one streaming test: its own topics and consumer group, metrics off."""
    run = uuid.uuid4().hex[:8]
    return {
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "INGEST_APPLICATIONS_TOPIC": f"apps-{run}",
        "INGEST_PERFORMANCE_TOPIC": f"perf-{run}",
        "INGEST_CONSUMER_GROUP": f"ingest-{run}",
        "INGEST_METRICS_PORT": "0",
    }


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real HTTP S3 endpoint (moto_server) on loopback, exported as AWS_* for the session."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    client = boto3.client("s3")
    for _ in range(100):
        try:
            client.list_buckets()
            break
        except Exception:
            time.sleep(0.1)
    yield client
    server.terminate()
    server.wait()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_lake(s3_endpoint) -> S3Lake:
    """A fresh bucket on the session's S3 endpoint, as a lake."""
    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    s3_endpoint.create_bucket(Bucket=bucket)
    return open_lake(f"s3://{bucket}/exports")
