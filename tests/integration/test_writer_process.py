"""The streaming service's writer process: parts in, one commit, and a clear failure when it
is gone (the sink then rolls back and Quix Streams replays the checkpoint)."""

from __future__ import annotations

import os
import signal
from functools import partial

import duckdb
import pytest

from ingest.settings import Settings
from ingest.streaming.writer_process import WriterProcess
from ingest.warehouse.session import WarehouseUnavailable
from ingest.warehouse.writer import open_initialised_writer
from tests.landing import batch_at


@pytest.fixture
def duckdb_settings(tmp_path) -> Settings:
    return Settings(warehouse="duckdb", duckdb_path=tmp_path / "w.duckdb")


def _count(settings: Settings) -> int:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute("select count(*) from raw.loan_applications").fetchone()[0]


def test_parts_sent_ahead_land_in_one_commit(duckdb_settings):
    writer = WriterProcess(partial(open_initialised_writer, duckdb_settings))
    try:
        writer.send_write(batch_at(list(range(0, 4))))
        writer.send_write(batch_at(list(range(4, 8))))
        assert writer.pending == 2
        assert [writer.reply(), writer.reply()] == [None, None]
        result = writer.commit(0)
        assert (result.applications, result.duplicates) == (8, 0)
        writer.abort(close=True)  # closes the file for the reader below
    finally:
        writer.stop()
    assert _count(duckdb_settings) == 8


def test_a_write_error_comes_back_to_the_caller(duckdb_settings):
    writer = WriterProcess(partial(open_initialised_writer, duckdb_settings))
    broken = batch_at([0])
    broken.tables["loan_applications"]["payload"][0] = "{not json"
    try:
        writer.send_write(broken)
        with pytest.raises(Exception, match=r"(?i)json"):
            writer.reply()
        with pytest.raises(RuntimeError, match="commit without a written part"):
            writer.commit(0)
    finally:
        writer.stop()


def test_a_killed_writer_is_reported_as_warehouse_unavailable(duckdb_settings):
    writer = WriterProcess(partial(open_initialised_writer, duckdb_settings))
    writer.send_write(batch_at(list(range(0, 4))))
    writer.reply()
    os.kill(writer._process.pid, signal.SIGKILL)
    with pytest.raises(WarehouseUnavailable, match="writer process exited"):
        writer.commit(0)
    assert not writer.alive
    writer.stop()
    assert _count(duckdb_settings) == 0  # the open transaction died with it


def test_a_writer_dying_mid_checkpoint_fails_the_whole_checkpoint(duckdb_settings, monkeypatch):
    """A new writer must not commit the checkpoint's later parts without the earlier ones:
    the sink reports backpressure, Quix Streams replays the checkpoint, nothing is lost."""
    from quixstreams.sinks import SinkBackpressureError

    import ingest.streaming.sink
    from ingest.events import LoanEventBuilder
    from ingest.streaming.metrics import IngestMetrics
    from ingest.streaming.sink import WarehouseSink

    monkeypatch.setattr(ingest.streaming.sink, "PART_MESSAGES", 2)
    builder = LoanEventBuilder(["id", "issue_d", "loan_status"], "test", 2026)
    sink = WarehouseSink(
        partial(open_initialised_writer, duckdb_settings),
        {"t": "loan.application"}, 1 << 20, IngestMetrics(),
    )  # fmt: skip
    sink.setup()

    def add(offset: int) -> None:
        message = builder.build([str(offset), "Mar-2017", "Current"])[0].to_json()
        sink.add(message, None, 0, [], "t", 0, offset)

    for offset in range(4):  # two parts
        add(offset)
    checkpoint = sink._current
    sink._settle(checkpoint, 0)  # both written into the open transaction
    os.kill(checkpoint.writer._process.pid, signal.SIGKILL)
    checkpoint.writer._process.join()
    for offset in range(4, 6):
        add(offset)
    with pytest.raises(SinkBackpressureError):
        sink.flush()
    add(6)  # the next checkpoint gets a new writer
    sink.flush()
    sink.close()
    assert _count(duckdb_settings) == 1
