"""A rebalance while the warehouse is slow: the revoked partitions' flush outlives Quix
Streams' revoke budget (a fifth of max.poll.interval.ms, 4 s here) and is abandoned in its
worker thread. The next checkpoint must not share anything with it: no hang, every event
landed exactly once. Real parts: the Tansu broker, two ingest processes, and a real Postgres
made slow by a statement trigger that sleeps through every insert into the raw tables."""

from __future__ import annotations

import threading
import time

import psycopg2

from tests.integration.streaming import produce, start_ingester
from tests.integration.test_streaming_exactly_once import LOANS, assert_every_event_exactly_once
from tests.landing import postgres_writer

SLOW_WRITE_SECONDS = 6  # each write of a part, longer than the 4 s revoke budget
ABANDONED = "flush timed out"  # what the first service logs when its revoke flush is abandoned


def _execute(sql: str) -> None:
    with psycopg2.connect("") as con, con.cursor() as cur:
        cur.execute(sql)


def _make_writes_slow() -> None:
    """Every statement inserting into raw.loan_applications sleeps: a slow warehouse."""
    _execute(
        "create function raw.slow_write() returns trigger language plpgsql as $$ begin "
        f"perform pg_sleep({SLOW_WRITE_SECONDS}); return null; end $$"
    )
    _execute(
        "create trigger slow_write after insert on raw.loan_applications "
        "for each statement execute function raw.slow_write()"
    )


def test_a_slow_write_during_a_rebalance_neither_hangs_nor_duplicates(
    stream_env, postgres_env, synthetic_csv
):
    """A backlog is read in one long checkpoint whose 1,000-message parts each take 6 s to
    write; a second ingester joins; the first one's revoke flush waits on those writes, past
    the budget, and is abandoned while the service goes on."""
    env = {**stream_env, **postgres_env, "WAREHOUSE": "postgres",
           "INGEST_COMMIT_EVERY": "100000", "INGEST_COMMIT_INTERVAL_SECONDS": "60"}  # fmt: skip
    produce(env, synthetic_csv)
    init = postgres_writer()
    init.init()
    init.close()
    _make_writes_slow()
    first = start_ingester(env, until_idle=8)
    first_log: list[str] = []
    reader = threading.Thread(target=lambda: first_log.extend(first.stderr), daemon=True)
    reader.start()
    time.sleep(8)  # joined, and parts of the first checkpoint are being written slowly
    second = start_ingester(env, until_idle=8)  # joins the group: the first one is revoked
    # The warehouse stays slow until the first service has abandoned its revoke flush (a
    # fixed wait lost the race on a loaded machine, where the second one joined late).
    deadline = time.monotonic() + 120
    while not any(ABANDONED in line for line in first_log) and time.monotonic() < deadline:
        time.sleep(0.5)
    _execute("drop trigger slow_write on raw.loan_applications")
    first.wait(timeout=180)
    reader.join(timeout=10)
    _, second_log = second.communicate(timeout=180)
    for process, stderr in ((first, "".join(first_log)), (second, second_log)):
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr and "UnpicklingError" not in stderr, stderr
    assert ABANDONED in "".join(first_log)  # the revoke really was abandoned
    assert_every_event_exactly_once(LOANS)
