"""The raw-event archive: incremental, re-runnable, crash-safe, and replayable."""

import json

import duckdb
import pytest

from exports import archive as archive_module
from exports.archive import ARCHIVE_RUNS, archive
from exports.lake import LocalLake
from ingest.archive_replay import replay_archive
from ingest.raw_tables import EVENT_COLUMNS
from ingest.settings import Settings
from ingest.warehouse import DuckDBWarehouse, PostgresWarehouse
from ml.store import DuckDBStore, PostgresStore
from tests.book_updates import split_book
from tests.landing import land_csv

RAW_ROWS = "select {columns} from raw.{table} order by source_kind, source_name, source_offset"


def raw_rows(path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            RAW_ROWS.format(columns=", ".join(EVENT_COLUMNS), table=table)
        ).fetchall()


def event_count(path) -> int:
    return sum(len(raw_rows(path, table)) for table in ("loan_applications", "loan_performance"))


def land(path, csv_path) -> None:
    land_csv(DuckDBWarehouse(path), csv_path)


def run_archive(path, lake) -> list:
    store = DuckDBStore(str(path))
    try:
        return archive(store, lake, Settings(duckdb_path=path), progress=lambda _: None)
    finally:
        store.close()


def test_archive_is_incremental_and_replays_to_the_same_raw_rows(tmp_path, synthetic_csv):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    split_book(synthetic_csv, first, second, 1_000)
    source, lake = tmp_path / "source.duckdb", LocalLake(tmp_path / "lake")
    land(source, first)
    [run] = run_archive(source, lake)
    assert run.rows == event_count(source) > 0
    assert run_archive(source, lake) == []  # nothing new: nothing added
    land(source, second)
    [second_run] = run_archive(source, lake)
    assert run.rows + second_run.rows == event_count(source) == 6_000
    manifest = json.loads(lake.get_bytes(second_run.manifest_key))
    assert manifest["batches"][0]["ranges"]  # the line ranges each batch covered
    files = lake.list_keys("raw/")
    assert any(k.startswith("raw/loan.applications/dt=") for k in files)
    assert any(k.startswith("raw/loan.performance/dt=") for k in files)

    replayed = tmp_path / "replayed.duckdb"
    store = DuckDBWarehouse(replayed)
    store.init()
    report = replay_archive(tmp_path / "lake" / "raw", store)
    again = replay_archive(tmp_path / "lake" / "raw", store)
    store.close()
    assert report.landed == 6_000 and again.landed == 0 and again.already_landed == 6_000
    for table in ("loan_applications", "loan_performance"):
        assert raw_rows(replayed, table) == raw_rows(source, table)


def test_an_interrupted_run_is_finished_by_the_next_with_the_same_files(
    tmp_path, synthetic_csv, monkeypatch
):
    source, lake = tmp_path / "source.duckdb", LocalLake(tmp_path / "lake")
    land(source, synthetic_csv)
    original = archive_module._export_run

    def crash(*args, **kwargs):
        raise ConnectionError("injected: the export died after recording its batches")

    monkeypatch.setattr(archive_module, "_export_run", crash)
    with pytest.raises(ConnectionError):
        run_archive(source, lake)
    monkeypatch.setattr(archive_module, "_export_run", original)
    [finished] = run_archive(source, lake)
    assert finished.rows == 6_000
    with duckdb.connect(str(source), read_only=True) as con:
        assert con.execute(
            f"select status, count(*) from {ARCHIVE_RUNS} group by 1"
        ).fetchall() == [("done", 1)]
    assert run_archive(source, lake) == []
    assert len([k for k in lake.list_keys("raw/") if k.endswith(".parquet")]) == 2


def test_archive_from_postgres_replays_into_duckdb(tmp_path, synthetic_csv, postgres_env):
    land_csv(PostgresWarehouse(), synthetic_csv)
    lake = LocalLake(tmp_path / "lake")
    ml_store = PostgresStore()
    try:
        [run] = archive(ml_store, lake, Settings(warehouse="postgres"), progress=lambda _: None)
        postgres_rows = ml_store.read(
            "select event_id, source_offset, payload from raw.loan_performance order by event_id"
        )
    finally:
        ml_store.close()
    assert run.rows == 6_000
    replayed = tmp_path / "replayed.duckdb"
    target = DuckDBWarehouse(replayed)
    target.init()
    replay_archive(tmp_path / "lake" / "raw", target)
    target.close()
    with duckdb.connect(str(replayed), read_only=True) as con:
        duckdb_rows = con.execute(
            "select event_id, source_offset, payload from raw.loan_performance order by event_id"
        ).fetchall()
    assert [(e, o) for e, o, _ in duckdb_rows] == list(
        zip(postgres_rows.event_id, postgres_rows.source_offset, strict=True)
    )
    assert [json.loads(p) for _, _, p in duckdb_rows] == list(postgres_rows.payload)


def test_archive_to_s3_is_incremental(tmp_path, synthetic_csv, s3_lake):
    source = tmp_path / "source.duckdb"
    land(source, synthetic_csv)
    [run] = run_archive(source, s3_lake)
    assert run_archive(source, s3_lake) == []
    keys = s3_lake.list_keys("raw/")
    assert len([k for k in keys if k.endswith(".parquet")]) == 2
    assert json.loads(s3_lake.get_bytes(run.manifest_key))["files"][0]["rows"] == 3_000
