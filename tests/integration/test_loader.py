"""The batch loader against real warehouses: DuckDB files and a real Postgres."""

from pathlib import Path

import duckdb
import orjson
import psycopg2
import pytest

from ingest.events import is_surrogate_loan_id
from ingest.files.loader import load_csv
from ingest.streaming.producer import file_events
from tests.landing import batch_at, duckdb_writer, postgres_writer
from tests.lendingclub_layouts import write_browse_notes, write_loan_csv, write_without_ids

GOOD_HEADER = "id,url,loan_amnt,term,issue_d,loan_status,last_pymnt_d,dti\n"
QUIRKY_ROWS = (
    "1,,1000.0, 36 months,Mar-2017,Fully Paid,Jul-2018,13.68\n"  # line 2
    ",https://lendingclub.com/browse/loanDetail.action?loan_id=2,2000.0, 60 months,Feb-19,Current,,999\n"
    "3,,3000.0, 36 months,Mar-2017\n"  # line 4: wrong column count
    "4x,,4000.0, 36 months,Mar-2017,Current,,1\n"  # line 5: a malformed id
    '5,,"5000.0"x, 36 months,Mar-2017,Current,,1\n'  # line 6: broken quoting
    "6,,6000.0, 36 months,sometime,Current,,1\n"  # line 7: issue_d is not a month
    "7,,7000.0, 36 months,18-Dec,Late (31-120 days),,236.68\n"
    "Total amount funded in policy code 1: 471701350\n"
)


@pytest.fixture
def quirky_csv(tmp_path) -> Path:
    path = tmp_path / "quirky.csv"
    path.write_text(GOOD_HEADER + QUIRKY_ROWS)
    return path


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        store = duckdb_writer(tmp_path / "w.duckdb")
        query = lambda sql: store.con.execute(sql).fetchall()  # noqa: E731
    else:
        request.getfixturevalue("postgres_env")
        store = postgres_writer()

        def query(sql):
            with psycopg2.connect("") as con, con.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()

    store.init()
    store.init()  # idempotent
    yield store, query
    store.close()


def test_load_lands_good_rows_and_quarantines_bad_ones(warehouse, quirky_csv):
    store, query = warehouse
    report = load_csv(quirky_csv, store, show_progress=False)
    assert (report.rows_read, report.applications_landed, report.performance_landed) == (7, 3, 3)
    assert report.quarantined == 4 and report.duplicates_skipped == 0
    assert query("select loan_id from raw.loan_applications order by source_offset") == [
        ("1",),
        ("2",),
        ("7",),
    ]
    quarantine = query(
        "select source_offset, error_field, reason from raw.ingest_quarantine order by source_offset"
    )
    assert [row[0] for row in quarantine] == [4, 5, 6, 7]
    assert "wrong column count" in quarantine[0][2]
    assert quarantine[1][1] == "id" and "line 5" in quarantine[1][2]
    assert "broken quoting" in quarantine[2][2]
    assert quarantine[3][1] == "issue_d" and "'sometime' is not a month" in quarantine[3][2]
    (batches,) = query(
        "select records_received, applications_landed, quarantined from raw.ingest_batches"
    )
    assert batches == (10, 3, 4)


def test_loading_the_same_file_twice_adds_nothing(warehouse, quirky_csv):
    store, query = warehouse
    load_csv(quirky_csv, store, show_progress=False)
    again = load_csv(quirky_csv, store, show_progress=False)
    assert (again.applications_landed, again.performance_landed, again.quarantined) == (0, 0, 0)
    assert again.duplicates_skipped == 10
    for table, expected in [
        ("loan_applications", 3),
        ("loan_performance", 3),
        ("ingest_quarantine", 4),
    ]:
        assert query(f"select count(*) from raw.{table}") == [(expected,)]


def test_small_batches_land_everything_once(warehouse, synthetic_csv):
    """3,000 rows, 700 per transaction: the last 200 join the transaction before them (a
    DuckDB transaction smaller than a row group commits the slow way)."""
    store, query = warehouse
    report = load_csv(synthetic_csv, store, batch_rows=700, show_progress=False)
    assert report.batches == 4
    assert query("select count(distinct loan_id), count(*) from raw.loan_applications") == [
        (3000, 3000)
    ]
    assert query("select records_received from raw.ingest_batches order by started_at") == [
        (1400,),
        (1400,),
        (1400,),
        (1800,),
    ]


def test_payload_round_trips_raw_strings(tmp_path, quirky_csv):
    store = duckdb_writer(tmp_path / "w.duckdb")
    store.init()
    load_csv(quirky_csv, store, show_progress=False)
    row = store.con.execute(
        "select payload->>'term', payload->>'dti', payload->>'loan_status' from raw.loan_applications"
        " where loan_id = '2'"
    ).fetchone()
    assert row == (" 60 months", "999", None)  # outcome fields never reach applications
    store.close()
    assert duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True).execute(
        "select payload->>'loan_status' from raw.loan_performance where loan_id = '2'"
    ).fetchone() == ("Current",)


def test_awkward_characters_land_exactly(warehouse, tmp_path):
    """Tabs, backslashes, quotes and line breaks survive the bulk copy byte for byte."""
    store, query = warehouse
    awkward = 'said "hi"\\tback\\slash\ttab\nnew line'
    path = tmp_path / "awkward.csv"
    path.write_text(
        "id,url,issue_d,desc,loan_status\n"
        f'1,,Mar-2017,"{awkward.replace(chr(34), chr(34) * 2)}",Current\n'
        "2,,Mar-2017\tx\n"  # wrong column count: quarantined with its tab
    )
    load_csv(path, store, show_progress=False)
    assert query("select payload->>'desc' from raw.loan_applications") == [(awkward,)]
    (raw,) = query("select raw_record from raw.ingest_quarantine")[0]
    assert bytes(raw) == b"2,,Mar-2017\tx"


def test_ingesters_starting_together_create_the_raw_tables_once(postgres_env):
    """Two replicas of the service start at once; `create ... if not exists` alone can collide."""
    from concurrent.futures import ThreadPoolExecutor

    def start_one(_: int) -> None:
        store = postgres_writer()
        try:
            store.init()
        finally:
            store.close()

    for _ in range(3):  # each round races on a database without the tables
        with psycopg2.connect("") as con, con.cursor() as cur:
            cur.execute("drop schema if exists raw cascade")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(start_one, range(8)))


def test_an_ingester_starting_beside_an_open_landing_does_not_wait_for_it(postgres_env):
    """The tables exist: init only reads the catalog, so it takes no lock that would wait for
    another ingester's open transaction (a slow checkpoint would delay a new replica's start,
    and with it the rebalance that should relieve the slow one)."""
    busy = postgres_writer()
    busy.init()
    landing = busy.begin_landing()
    landing.write(batch_at([0, 1]))
    joining = postgres_writer()
    joining.session.execute("set lock_timeout = 2000")
    joining.init()  # would fail on the lock timeout if it took a table lock
    joining.close()
    landing.commit()
    busy.close()


def test_postgres_stores_the_payloads_with_lz4(postgres_env, synthetic_csv):
    """pglz, Postgres' default, halved the COPY throughput of ~2.5 KB payloads."""
    from tests.landing import land_csv

    land_csv(postgres_writer(), synthetic_csv)
    with psycopg2.connect("") as con, con.cursor() as cur:
        # Applications are big enough to be compressed (performance events are not).
        cur.execute(
            "select distinct pg_column_compression(payload) from raw.loan_applications "
            "where pg_column_compression(payload) is not null"
        )
        assert cur.fetchall() == [("lz4",)]
        cur.execute(
            "select attrelid::regclass::text, attname from pg_attribute "
            "where attrelid::regclass::text like 'raw.%' and attcompression = 'l' order by 1"
        )
        assert cur.fetchall() == [
            ("raw.ingest_quarantine", "raw_record"),
            ("raw.loan_applications", "payload"),
            ("raw.loan_performance", "payload"),
        ]


def test_a_batch_overlapping_landed_records_lands_only_the_new_ones(warehouse):
    """Postgres copies a batch straight in only when none of its source range has landed;
    here half of it has, so it goes through staging and skips those."""
    store, query = warehouse
    assert store.land(batch_at(list(range(0, 10)))).applications == 10
    result = store.land(batch_at(list(range(5, 15))))
    assert (result.applications, result.duplicates) == (5, 5)
    assert query("select count(*), count(distinct source_offset) from raw.loan_applications") == [
        (15, 15)
    ]


def test_other_records_at_landed_coordinates_land_as_new_facts(warehouse):
    """A topic recreated (or a broker that lost its data) starts its offsets over: other
    events at offsets already landed are new facts, counted as reused positions; the same
    events again are still duplicates."""
    store, query = warehouse
    assert store.land(batch_at(list(range(0, 10)))).applications == 10
    result = store.land(batch_at(list(range(0, 10)), first_loan=1000))
    assert (result.applications, result.duplicates, result.reused_positions) == (10, 0, 10)
    again = store.land(batch_at(list(range(0, 10)), first_loan=1000))
    assert (again.applications, again.duplicates) == (0, 10)
    assert query("select count(*), count(distinct loan_id) from raw.loan_applications") == [
        (20, 20)
    ]
    assert query("select reused_positions from raw.ingest_batches order by commit_seq") == [
        (0,),
        (10,),
        (0,),
    ]


def test_a_record_twice_in_one_batch_lands_once(warehouse):
    """A batch whose offsets do not increase may conflict with itself: it lands with conflicts
    skipped (Postgres: the straight copy is rolled back and it goes through staging)."""
    store, query = warehouse
    result = store.land(batch_at([0, 1, 2, 2, 3]))
    assert (result.applications, result.duplicates) == (4, 1)
    assert query("select count(*) from raw.loan_applications") == [(4,)]
    assert query("select records_received, applications_landed from raw.ingest_batches") == [(5, 4)]


def test_a_file_parsed_in_a_second_process_lands_the_same(warehouse, quirky_csv, monkeypatch):
    """Large files are parsed in a parser process; here every file is."""
    import ingest.files.loader

    store, query = warehouse
    monkeypatch.setattr(ingest.files.loader, "PARSER_PROCESS_MIN_BYTES", 0)
    report = load_csv(quirky_csv, store, batch_rows=1, show_progress=False)
    assert (report.rows_read, report.applications_landed, report.quarantined) == (7, 3, 4)
    assert report.batches == 5  # batch_rows=1 is two records: a loan, or two rejects
    assert query("select count(*) from raw.ingest_quarantine") == [(4,)]


def test_a_parser_process_error_reaches_the_caller(tmp_path, monkeypatch):
    import ingest.files.loader
    from ingest.files.lendingclub_csv import CsvFormatError

    monkeypatch.setattr(ingest.files.loader, "PARSER_PROCESS_MIN_BYTES", 0)
    path = tmp_path / "not-lendingclub.csv"
    path.write_text("name,amount\nx,1\n")
    store = duckdb_writer(tmp_path / "w.duckdb")
    with pytest.raises(CsvFormatError, match="expected a LendingClub header"):
        load_csv(path, store, show_progress=False)
    store.close()


def test_a_landing_in_parts_commits_them_together_with_one_audit_row(warehouse):
    """The streaming sink and the loader write a transaction in parts as they arrive."""
    store, query = warehouse
    landing = store.begin_landing()
    landing.write(batch_at(list(range(0, 5))))
    landing.write(batch_at(list(range(5, 10))))
    result = landing.commit(lag_at_commit=7)
    assert (result.applications, result.duplicates) == (10, 0)
    assert query(
        "select records_received, applications_landed, lag_at_commit, offset_ranges "
        "from raw.ingest_batches"
    ) == [(10, 10, 7, '{"t/0":[0,9]}')]

    aborted = store.begin_landing()
    aborted.write(batch_at(list(range(10, 15))))
    aborted.abort()
    assert query("select count(*) from raw.loan_applications") == [(10,)]


def test_a_failed_part_rolls_back_the_whole_landing(warehouse):
    store, query = warehouse
    landing = store.begin_landing()
    landing.write(batch_at(list(range(0, 5))))
    broken = batch_at([5])
    broken.tables["loan_applications"]["payload"][0] = "{not json"
    with pytest.raises(Exception, match=r"(?i)json"):
        landing.write(broken)
    with pytest.raises(RuntimeError, match="rolled back or committed"):
        landing.commit()
    assert query("select count(*) from raw.loan_applications") == [(0,)]
    assert store.land(batch_at(list(range(0, 5)))).applications == 5  # usable again


class _RecordingConnection:
    """A DuckDB connection that keeps the SQL of every insert it runs."""

    def __init__(self, con):
        self._con = con
        self.inserts: list[str] = []

    def execute(self, sql, *args):
        if sql.startswith("insert into raw.loan"):
            self.inserts.append(sql)
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_duckdb_checks_rows_for_conflicts_only_when_a_part_could_have_one(tmp_path, quirky_csv):
    """Checking each row costs a fifth of DuckDB's insert: a fresh load skips it, a reload or
    a part holding a record twice does not."""
    store = duckdb_writer(tmp_path / "w.duckdb")
    store.init()
    store.con = recording = _RecordingConnection(store.con)
    load_csv(quirky_csv, store, show_progress=False)
    assert recording.inserts and not any("on conflict" in sql for sql in recording.inserts)

    recording.inserts.clear()
    assert load_csv(quirky_csv, store, show_progress=False).applications_landed == 0
    assert recording.inserts and all("on conflict" in sql for sql in recording.inserts)

    recording.inserts.clear()
    assert store.land(batch_at([0, 1, 1])).applications == 2
    assert all("on conflict" in sql for sql in recording.inserts)
    store.close()


def _json(payload: str | dict) -> dict:
    """A payload as the driver returns it (psycopg2 parses Postgres json itself)."""
    return payload if isinstance(payload, dict) else orjson.loads(payload)


def test_the_browse_notes_layout_lands_every_row(warehouse, tmp_path):
    """2012-2014 'securev1' downloads: preamble, every field quoted, % rates, ISO dates and
    date-times, is_inc_v, accept_d / exp_d / list_d / addr_city, no zip_code, footer."""
    store, query = warehouse
    path = write_browse_notes(tmp_path / "LoanStats_securev1_2012.csv")
    report = load_csv(path, store, show_progress=False)
    assert (report.rows_read, report.applications_landed, report.quarantined) == (2, 2, 0)
    rows = query(
        "select loan_id, cast(occurred_at as varchar), payload from raw.loan_applications "
        "order by source_offset"
    )
    assert [(r[0], r[1][:10]) for r in rows] == [
        ("1077501", "2011-12-01"),
        ("1077430", "2011-12-01"),
    ]
    first = _json(rows[0][2])
    assert first["verification_status"] == "Verified" and "is_inc_v" not in first
    assert (first["int_rate"], first["earliest_cr_line"]) == (" 10.65%", "1985-01-01 05:00")
    assert first["accept_d"] == "2011-12-01 13:47" and first["addr_city"] == "Phoenix"
    assert _json(rows[1][2])["desc"] == "Plan to use this money\nfor a new bike"
    performance = query(
        "select loan_id, cast(occurred_at as varchar), payload from raw.loan_performance "
        "order by source_offset"
    )
    assert performance[0][1][:10] == "2016-09-01"  # the last credit pull, an ISO date-time
    assert _json(performance[1][2])["loan_status"] == "Issued"
    assert performance[1][1][:10] == "2011-12-01"  # issued, nothing paid yet: its issue month


def test_the_74_column_loan_csv_layout_lands(warehouse, tmp_path):
    store, query = warehouse
    report = load_csv(write_loan_csv(tmp_path / "loan.csv"), store, show_progress=False)
    assert (report.rows_read, report.applications_landed, report.quarantined) == (3, 3, 0)
    assert query("select count(distinct loan_id) from raw.loan_performance") == [(3,)]


def test_files_without_ids_land_every_row_under_stable_surrogate_ids(
    warehouse, tmp_path, monkeypatch
):
    """2018Q4 on: id, member_id and url blank on every row. Each row lands under a surrogate
    id; a repeated origination is another loan; two parser processes, parts of 7 rows (the
    repeats fall in parts the other process built), one process, and the producer all give
    every row the same id; loading again adds nothing."""
    import ingest.files.loader

    store, query = warehouse
    path = write_without_ids(tmp_path / "LoanStats_2019Q1.csv", loans=40)
    report = load_csv(path, store, show_progress=False)
    assert (report.rows_read, report.applications_landed, report.quarantined) == (42, 42, 0)
    landed = query("select source_offset, loan_id from raw.loan_applications order by 1")
    ids = [loan_id for _, loan_id in landed]
    assert len(set(ids)) == 42 and all(is_surrogate_loan_id(i) for i in ids)
    assert query(
        "select count(*) from raw.loan_applications a join raw.loan_performance p "
        "using (source_offset) where a.loan_id = p.loan_id"
    ) == [(42,)]

    produced = [events[0].loan_id for events in file_events(path, 1 << 20)]
    assert produced == ids

    monkeypatch.setattr(ingest.files.loader, "PARSER_PROCESS_MIN_BYTES", 0)
    other = duckdb_writer(tmp_path / "other.duckdb")
    other.init()
    load_csv(path, other, batch_rows=7, show_progress=False)
    assert other.session.rows(
        "select source_offset, loan_id from raw.loan_applications order by 1"
    ) == [tuple(row) for row in landed]
    other.close()
    again = load_csv(path, store, batch_rows=7, show_progress=False)
    assert (again.applications_landed, again.duplicates_skipped) == (0, 84)


def test_a_spreadsheet_re_save_lands(warehouse, tmp_path):
    """A UTF-8 BOM, CRLF endings, months rewritten as '15-Dec' and 'Dec-15', floats as 45.0,
    an Issued loan."""
    store, query = warehouse
    path = tmp_path / "resaved.csv"
    rows = [
        "id,url,loan_amnt,term,issue_d,loan_status,last_pymnt_d,dti",
        "1,,1000.0, 36 months,15-Dec,Fully Paid,Jul-16,45.0",
        "2,,2000.0, 60 months,Dec-15,Issued,,13.0",
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    report = load_csv(path, store, show_progress=False)
    assert (report.applications_landed, report.quarantined) == (2, 0)
    rows = query(
        "select loan_id, cast(occurred_at as varchar), payload->>'dti' "
        "from raw.loan_applications order by 1"
    )
    assert [(r[0], r[1][:10], r[2]) for r in rows] == [
        ("1", "2015-12-01", "45.0"),
        ("2", "2015-12-01", "13.0"),
    ]


def test_a_cr_only_file_lands_with_its_line_numbers(warehouse, tmp_path):
    store, query = warehouse
    path = tmp_path / "mac.csv"
    path.write_bytes((GOOD_HEADER + QUIRKY_ROWS).replace("\n", "\r").encode())
    report = load_csv(path, store, show_progress=False)
    assert (report.rows_read, report.applications_landed, report.quarantined) == (7, 3, 4)
    assert query("select source_offset from raw.ingest_quarantine order by 1") == [
        (4,), (5,), (6,), (7,)
    ]  # fmt: skip


def test_a_record_over_the_limit_is_quarantined_with_its_head_and_size(warehouse, tmp_path):
    store, query = warehouse
    path = tmp_path / "long.csv"
    path.write_text(GOOD_HEADER + "9,," + "1" * 5000 + ",x\n" + QUIRKY_ROWS)
    report = load_csv(path, store, show_progress=False, max_record_bytes=2048)
    assert (report.applications_landed, report.quarantined) == (3, 5)
    ((offset, raw, reason),) = query(
        "select source_offset, raw_record, reason from raw.ingest_quarantine "
        "where reason like '%limit%'"
    )
    assert offset == 2 and bytes(raw) == (b"9,," + b"1" * 5000)[:1024]
    assert reason == (
        "line 2: a record of 5,005 bytes, over the 2,048-byte limit (INGEST_MAX_RECORD_BYTES); "
        "only its first 1,024 bytes are kept"
    )


@pytest.mark.parametrize("processes", [False, True], ids=["in process", "parser processes"])
def test_a_shifted_file_is_refused_once_and_nothing_lands(tmp_path, monkeypatch, processes):
    import ingest.files.loader
    from ingest.files.lendingclub_csv import CsvFormatError

    if processes:
        monkeypatch.setattr(ingest.files.loader, "PARSER_PROCESS_MIN_BYTES", 0)
    header = GOOD_HEADER.strip().split(",")
    rows = [f"{i},, 36 months,Mar-2017,Current,,13.68" for i in range(1, 11)]  # no loan_amnt
    path = tmp_path / "shifted.csv"
    path.write_text("\n".join([",".join(header), *rows]) + "\n")
    store = duckdb_writer(tmp_path / "w.duckdb")
    store.init()
    with pytest.raises(CsvFormatError, match=r"shifted\.csv: values are shifted"):
        load_csv(path, store, show_progress=False)
    assert store.session.rows("select count(*) from raw.ingest_batches") == [(0,)]
    store.close()


def test_a_postgres_write_that_cannot_finish_fails_within_the_statement_timeout(postgres_env):
    """A table locked by someone else (or a server that stopped answering) must not hold a
    writer forever: the write fails as WarehouseUnavailable, the service backs off and
    retries, and its health check reports the stall."""
    import time

    from ingest.warehouse.session import WarehouseUnavailable

    writer = postgres_writer(statement_timeout=1)
    writer.init()
    parameters = writer.con.get_dsn_parameters()
    assert (parameters["keepalives"], parameters["keepalives_idle"]) == ("1", "30")
    assert parameters["connect_timeout"] == "10" and parameters["tcp_user_timeout"] == "60000"
    with psycopg2.connect("") as locker, locker.cursor() as cur:
        cur.execute("lock table raw.loan_applications in access exclusive mode")
        started = time.monotonic()
        with pytest.raises(WarehouseUnavailable, match="statement timeout"):
            writer.land(batch_at([0, 1]))
        assert time.monotonic() - started < 5
    assert writer.land(batch_at([0, 1])).applications == 2  # usable again once it is free
    writer.close()
