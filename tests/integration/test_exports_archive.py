"""The raw-event archive: incremental, re-runnable, crash-safe, and replayable; quarantined
records archived with their batches; one query per table per run, read in chunks."""

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from exports import archive as archive_module
from exports.archive import ARCHIVE_RUNS, archive
from exports.lake import LocalLake
from ingest.files.archive_replay import replay_archive
from ingest.files.loader import load_csv
from ingest.settings import Settings
from ingest.warehouse.raw_tables import EVENT_COLUMNS, QUARANTINE_COLUMNS
from ingest.warehouse.session import open_session
from tests.book_updates import split_book
from tests.landing import duckdb_writer, land_csv, postgres_writer

RAW_ROWS = "select {columns} from raw.{table} order by source_kind, source_name, source_offset"
BAD_ROWS = (
    "id,loan_amnt,term,issue_d,loan_status,dti\n"
    "900001,1000.0, 36 months,Mar-2017\n"  # wrong column count
    "L-2,4000.0, 36 months,Mar-2017,Current,1\n"  # a malformed id
    "900003,6000.0, 36 months,sometime,Current,1\n"  # issue_d is not a month
)


def raw_rows(path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            RAW_ROWS.format(columns=", ".join(EVENT_COLUMNS), table=table)
        ).fetchall()


def event_count(path) -> int:
    return sum(len(raw_rows(path, table)) for table in ("loan_applications", "loan_performance"))


def land(path, csv_path) -> None:
    land_csv(duckdb_writer(path), csv_path)


def run_archive(path, lake) -> list:
    store = open_session(Settings(duckdb_path=path))
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
    store = duckdb_writer(replayed)
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
    land_csv(postgres_writer(), synthetic_csv)
    lake = LocalLake(tmp_path / "lake")
    ml_store = open_session(Settings(warehouse="postgres"))
    try:
        [run] = archive(ml_store, lake, Settings(warehouse="postgres"), progress=lambda _: None)
        postgres_rows = ml_store.frame(
            "select event_id, source_offset, payload from raw.loan_performance order by event_id"
        )
    finally:
        ml_store.close()
    assert run.rows == 6_000
    replayed = tmp_path / "replayed.duckdb"
    target = duckdb_writer(replayed)
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


def _quarantine_rows(read) -> list[tuple]:
    columns = ", ".join(QUARANTINE_COLUMNS)
    frame = read(f"select {columns} from raw.ingest_quarantine order by source_name, source_offset")
    raw = QUARANTINE_COLUMNS.index("raw_record")
    return [
        tuple(bytes(value) if i == raw else value for i, value in enumerate(row))
        for row in frame.itertuples(index=False, name=None)
    ]


def _archived(lake: LocalLake, manifest_key: str, folder: str) -> list[dict]:
    manifest = json.loads(lake.get_bytes(manifest_key))
    keys = [f["key"] for f in manifest["files"] if f["key"].startswith(folder)]
    return [row for key in keys for row in pq.ParquetFile(lake.root / key).read().to_pylist()]


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_quarantined_records_are_archived_with_their_batches(
    tmp_path, synthetic_csv, warehouse, request
):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(BAD_ROWS)
    lake = LocalLake(tmp_path / "lake")
    if warehouse == "postgres":
        request.getfixturevalue("postgres_env")
        land_csv(postgres_writer(), bad_csv)
        store, settings = (
            open_session(Settings(warehouse="postgres")),
            Settings(warehouse="postgres"),
        )
    else:
        path = tmp_path / "w.duckdb"
        land_csv(duckdb_writer(path), bad_csv)
        store, settings = open_session(Settings(duckdb_path=path)), Settings(duckdb_path=path)
    try:
        expected = _quarantine_rows(store.frame)
        [run] = archive(store, lake, settings, progress=lambda _: None)
        assert archive(store, lake, settings, progress=lambda _: None) == []
    finally:
        store.close()
    assert len(expected) == 3
    manifest = json.loads(lake.get_bytes(run.manifest_key))
    [entry] = [f for f in manifest["files"] if f["key"].startswith("quarantine/")]
    assert entry["key"].endswith(f"/run={run.run_id}.parquet") and entry["rows"] == 3
    archived = sorted(
        _archived(lake, run.manifest_key, "quarantine/"),
        key=lambda row: (row["source_name"], row["source_offset"]),
    )
    assert [tuple(row[c] for c in QUARANTINE_COLUMNS) for row in archived] == expected
    # The replay of raw/ (python -m ingest load lake/raw) reads event files only.
    assert not any(key.startswith("raw/") for key in lake.list_keys("quarantine/"))


class CountingStore:
    """The real store, counting the statements the archive sends and the chunk sizes."""

    def __init__(self, store) -> None:
        self.store, self.queries, self.chunk_sizes = store, 0, []

    def frame(self, sql, params=None):
        self.queries += 1
        return self.store.frame(sql, params)

    def chunks(self, sql, rows, params=None):
        self.queries += 1
        for chunk in self.store.chunks(sql, rows, params):
            self.chunk_sizes.append(len(chunk))
            yield chunk

    def __getattr__(self, name):
        return getattr(self.store, name)


def _archive_book(tmp_path, csv_path, batch_rows: int, name: str) -> tuple:
    path = tmp_path / f"{name}.duckdb"
    warehouse = duckdb_writer(path)
    warehouse.init()
    load_csv(csv_path, warehouse, batch_rows=batch_rows, show_progress=False)
    warehouse.close()
    with duckdb.connect(str(path)) as con:  # columns the archive does not know are left out
        con.execute("alter table raw.loan_applications add column commit_seq bigint default 1")
    lake = LocalLake(tmp_path / f"{name}-lake")
    store = CountingStore(open_session(Settings(duckdb_path=path)))
    try:
        [run] = archive(store, lake, Settings(duckdb_path=path), progress=lambda _: None)
    finally:
        store.close()
    return path, lake, run, store


def test_a_run_reads_its_rows_in_a_fixed_number_of_chunked_queries(
    tmp_path, synthetic_csv, monkeypatch
):
    monkeypatch.setattr(archive_module, "FETCH_ROWS", 500)
    few = _archive_book(tmp_path, synthetic_csv, batch_rows=1_500, name="few")
    many = _archive_book(tmp_path, synthetic_csv, batch_rows=60, name="many")
    assert few[2].batches <= 3 and many[2].batches >= 25
    assert many[3].queries == few[3].queries <= 8, "queries grow with the batches"
    assert max(many[3].chunk_sizes) <= 500 and sum(many[3].chunk_sizes) >= 6_000
    for path, lake, run, _ in (few, many):
        assert run.rows == 6_000
        for topic, table in (("loan.applications", "loan_applications"),
                             ("loan.performance", "loan_performance")):  # fmt: skip
            rows = _archived(lake, run.manifest_key, f"raw/{topic}/")
            assert list(rows[0]) == [*EVENT_COLUMNS, "batch_id", "landed_at"]
            archived = sorted(tuple(row[c] for c in EVENT_COLUMNS) for row in rows)
            assert archived == sorted(raw_rows(path, table))
