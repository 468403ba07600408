"""Kafka to the raw tables exactly once, through crashes, a warehouse outage and scale-out.

Real parts only: the Tansu broker, the ingest service as a separate process, real Postgres.
"""

from __future__ import annotations

import os
import signal
import time

import psycopg2
import pytest

from ingest.streaming.local_broker import local_broker
from tests.book_updates import split_book
from tests.integration.streaming import produce, run_ingester, start_ingester, wait_for
from tests.postgres_cluster import controlled_cluster, free_port

LOANS = 3_000  # the synthetic_csv fixture


def query(sql: str, env: dict[str, str] | None = None) -> list[tuple]:
    with psycopg2.connect("", **({} if env is None else _dsn(env))) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _dsn(env: dict[str, str]) -> dict[str, str]:
    return {"host": env["PGHOST"], "port": env["PGPORT"], "user": env["PGUSER"],
            "dbname": env["PGDATABASE"]}  # fmt: skip


def batches_landed(env: dict[str, str] | None = None) -> int:
    try:
        return query("select count(*) from raw.ingest_batches", env)[0][0]
    except psycopg2.Error:
        return 0


def assert_every_event_exactly_once(
    loans: int, env: dict[str, str] | None = None, distinct_only: bool = False
) -> None:
    """Each loan's two events landed once (`distinct_only`: once or more, as the same event
    landed from other offsets, which staging absorbs)."""
    for table in ("loan_applications", "loan_performance"):
        rows, events, loan_ids = query(
            f"select count(*), count(distinct event_id), count(distinct loan_id) from raw.{table}",
            env,
        )[0]
        assert (events, loan_ids) == (loans, loans), table
        assert rows >= loans if distinct_only else rows == loans, table
    assert query("select count(*) from raw.ingest_quarantine", env) == [(0,)]


@pytest.fixture
def pg_stream_env(stream_env, postgres_env) -> dict[str, str]:
    return {**stream_env, **postgres_env, "WAREHOUSE": "postgres", "INGEST_COMMIT_EVERY": "500"}


def test_crash_between_database_commit_and_offset_commit_duplicates_nothing(
    pg_stream_env, synthetic_csv
):
    assert produce(pg_stream_env, synthetic_csv) == 2 * LOANS
    crashing = {**pg_stream_env, "INGEST_FAULT_EXIT_AFTER_BATCHES": "2"}
    for _ in range(2):
        assert run_ingester(crashing).returncode == 137
    finished = run_ingester(pg_stream_env)
    assert finished.returncode == 0, finished.stderr
    assert_every_event_exactly_once(LOANS)
    # The replayed messages were really seen again and skipped, not silently absent.
    (replayed,) = query("select sum(duplicates_skipped) from raw.ingest_batches")[0]
    assert replayed > 0


def test_kill_9_mid_stream_twice_then_restart_lands_everything_once(pg_stream_env, synthetic_csv):
    produce(pg_stream_env, synthetic_csv)
    for kill in (1, 2):
        process = start_ingester(pg_stream_env)
        wait_for(lambda k=kill: batches_landed() >= 2 * k, what="batches to land")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finished = run_ingester(pg_stream_env)
    assert finished.returncode == 0, finished.stderr
    assert_every_event_exactly_once(LOANS)


def test_warehouse_outage_mid_stream_loses_and_duplicates_nothing(stream_env, synthetic_csv):
    with controlled_cluster() as cluster:
        env = {**stream_env, **cluster.env, "WAREHOUSE": "postgres", "INGEST_COMMIT_EVERY": "500"}
        produce(env, synthetic_csv, count=1_000)
        process = start_ingester(env, until_idle=3)
        wait_for(lambda: batches_landed(env) >= 1, what="the first batch")
        cluster.stop()
        produce(env, synthetic_csv)  # the whole file again: the first 1,000 events twice
        time.sleep(2)
        cluster.start()
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        assert "warehouse unavailable" in stderr
        # Every produced message is a distinct Kafka record: 1,000 + 6,000 of them.
        (rows,) = query(
            "select (select count(*) from raw.loan_applications)"
            " + (select count(*) from raw.loan_performance)",
            env,
        )[0]
        assert rows == 1_000 + 2 * LOANS
        (keys,) = query(
            "select count(distinct (source_name, source_partition, source_offset))"
            " from raw.loan_applications",
            env,
        )[0]
        assert keys == query("select count(*) from raw.loan_applications", env)[0][0]


def test_two_ingesters_in_one_group_share_the_partitions_without_duplicates(
    pg_stream_env, synthetic_csv
):
    first, second = start_ingester(pg_stream_env, 4), start_ingester(pg_stream_env, 4)
    time.sleep(1)
    produce(pg_stream_env, synthetic_csv)
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    assert_every_event_exactly_once(LOANS)
    consumed = [int(out.split("consumed ")[1].split(" ")[0].replace(",", "")) for out, _ in outputs]
    assert sum(consumed) == 2 * LOANS and min(consumed) > 0, consumed


def test_a_broker_recreated_with_other_loans_lands_them_all(
    stream_env, postgres_env, synthetic_csv, tmp_path
):
    """The development broker restarted (every topic lost, offsets start over at 0) and other
    loans produced: they land as new events at offsets already used, counted as reused;
    the first loans replayed onto the new broker are the same facts and stage once."""
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    split_book(synthetic_csv, first, second, LOANS // 2)
    port = free_port()
    env = {**stream_env, **postgres_env, "WAREHOUSE": "postgres",
           "KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}  # fmt: skip
    with local_broker(port):
        produce(env, first)
        assert run_ingester(env).returncode == 0
    with local_broker(port):  # a new broker: the same topics, empty, offsets from 0
        produce(env, second)
        finished = run_ingester(env)
        assert finished.returncode == 0, finished.stderr
        assert "offsets started over" in finished.stderr
        produce(env, first)  # the first loans again, now at new offsets
        assert run_ingester(env).returncode == 0
    assert_every_event_exactly_once(LOANS, distinct_only=True)
    (reused,) = query("select sum(reused_positions) from raw.ingest_batches")[0]
    # Most offsets of the second loans' events were used before (partitions differ in size).
    assert LOANS * 0.9 < reused <= LOANS
