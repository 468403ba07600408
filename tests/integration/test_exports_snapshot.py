"""Snapshots of the marts to a local folder and to a real HTTP S3 endpoint (moto_server)."""

import json
import threading
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from exports.dbt_artifacts import load_manifest
from exports.lake import LakeError, LocalLake, open_lake
from exports.manifests import ORPHAN_GRACE, sweep_orphans
from exports.snapshots import (
    MANIFEST,
    exported_models,
    marts_model_run_id,
    read_snapshot,
    snapshot_all,
    snapshot_model,
    snapshot_prefix,
)
from ingest.settings import Settings
from tests.dbt_runner import run_dbt
from tests.landing import duckdb_writer, land_csv, postgres_writer

DAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def built(tmp_path_factory, synthetic_csv) -> tuple[Settings, dict]:
    path = tmp_path_factory.mktemp("snap") / "w.duckdb"
    land_csv(duckdb_writer(path), synthetic_csv)
    run_dbt("run", target="duckdb", env={"DUCKDB_PATH": str(path)})  # tables: no tests needed
    return Settings(duckdb_path=path), load_manifest(tmp_path_factory.mktemp("manifest"))


def warehouse_rows(settings: Settings, model: str):
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(f"select * from marts.{model}").arrow().read_all()


def sorted_rows(table, key):
    return table.sort_by([(key, "ascending")]).to_pylist()


def test_the_export_list_comes_from_dbt_meta(built):
    models = [name for _, name in exported_models(built[1])]
    assert {"fct_loans", "kpi_summary", "early_warning_watchlist", "vintage_default_rates"} <= set(
        models
    )
    assert "ml_features" not in models


@pytest.mark.parametrize("lake_kind", ["local", "s3"])
def test_round_trip_and_idempotent_rerun(built, lake_kind, tmp_path, request):
    settings, manifest = built
    lake = (
        LocalLake(tmp_path / "lake") if lake_kind == "local" else request.getfixturevalue("s3_lake")
    )
    results = snapshot_all(
        settings, lake, manifest, DAY, {"dbt_invocation_id": "x"}, progress=lambda _: None
    )
    assert len(results) == len(exported_models(manifest))
    snapshot = read_snapshot(lake, "fct_loans", DAY)
    assert sorted_rows(snapshot, "loan_id") == sorted_rows(
        warehouse_rows(settings, "fct_loans"), "loan_id"
    )
    written = json.loads(lake.get_bytes(snapshot_prefix("fct_loans", DAY) + MANIFEST))
    assert written["row_count"] == 3_000 and written["dbt_invocation_id"] == "x"
    assert {c["name"] for c in written["columns"]} >= {"loan_id", "pd", "risk_tier"}

    other_day = date(2026, 11, 23)
    snapshot_all(settings, lake, manifest, other_day, {}, progress=lambda _: None)
    before_other = lake.list_keys(snapshot_prefix("fct_loans", other_day))
    snapshot_all(settings, lake, manifest, DAY, {}, progress=lambda _: None)
    day_keys = lake.list_keys(snapshot_prefix("fct_loans", DAY))
    assert len(day_keys) == 2  # the manifest and the one data file it names
    assert lake.list_keys(snapshot_prefix("fct_loans", other_day)) == before_other
    assert read_snapshot(lake, "fct_loans", DAY).num_rows == 3_000


class FailingUploads:
    """A lake whose data uploads fail after `allowed` of them: a crash mid-export."""

    def __init__(self, lake, allowed: int) -> None:
        self.lake, self.allowed = lake, allowed
        self.url = lake.url

    def put_file(self, local, key):
        if self.allowed == 0:
            raise ConnectionError("injected: connection reset during upload")
        self.allowed -= 1
        self.lake.put_file(local, key)

    def __getattr__(self, name):
        return getattr(self.lake, name)


def test_a_failed_upload_leaves_the_previous_snapshot_whole(built, s3_lake):
    settings, manifest = built
    snapshot_all(settings, s3_lake, manifest, DAY, {}, progress=lambda _: None)
    models = [name for _, name in exported_models(manifest)]
    broken = models[2]  # the first two models upload again, the third dies mid-upload
    broken_manifest = s3_lake.get_bytes(snapshot_prefix(broken, DAY) + MANIFEST)
    with pytest.raises(ConnectionError):
        snapshot_all(
            settings, FailingUploads(s3_lake, allowed=2), manifest, DAY, {}, progress=lambda _: None
        )
    # The broken model keeps its previous manifest byte for byte, and no manifest names a
    # file that is missing or differs from its checksum.
    assert s3_lake.get_bytes(snapshot_prefix(broken, DAY) + MANIFEST) == broken_manifest
    for model in models:
        assert read_snapshot(s3_lake, model, DAY).num_rows >= 0
    assert read_snapshot(s3_lake, "fct_loans", DAY).num_rows == 3_000


def test_missing_bucket_and_missing_credentials_are_clear_errors(s3_endpoint, monkeypatch):
    with pytest.raises(LakeError, match="bucket 'no-such-bucket' does not exist"):
        open_lake("s3://no-such-bucket/x")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(LakeError, match="no AWS credentials"):
        open_lake("s3://any-bucket/x")
    with pytest.raises(LakeError, match="use file://PATH or s3://BUCKET/PREFIX"):
        open_lake("ftp://x")


def test_snapshot_from_postgres(synthetic_csv, postgres_env, built, tmp_path):
    land_csv(postgres_writer(), synthetic_csv)
    run_dbt("run", target="postgres", env=postgres_env)
    lake = LocalLake(tmp_path / "lake")
    snapshot_all(Settings(warehouse="postgres"), lake, built[1], DAY, {}, progress=lambda _: None)
    from_postgres = read_snapshot(lake, "fct_loans", DAY)
    from_duckdb = warehouse_rows(built[0], "fct_loans")
    assert from_postgres.num_rows == from_duckdb.num_rows == 3_000
    assert from_postgres.schema.names == from_duckdb.schema.names
    assert sorted(from_postgres.column("loan_id").to_pylist()) == sorted(
        from_duckdb.column("loan_id").to_pylist()
    )


def test_the_manifest_names_the_model_run_behind_the_marts(built, tmp_path):
    settings, _ = built
    assert marts_model_run_id(settings) is None  # no model has scored this book
    copy = tmp_path / "scored.duckdb"
    copy.write_bytes(settings.duckdb_path.read_bytes())
    with duckdb.connect(str(copy)) as con:
        con.execute("update marts.fct_loans set model_run_id = 'run-1' where loan_id % 2 = 0")
    assert marts_model_run_id(Settings(duckdb_path=copy)) == "run-1"


class SteppedLake:
    """One run's view of a shared lake, for racing two runs in a fixed order: before its first
    call of a method (or of any method, "*") it waits for an event; after each call of a
    method it sets one."""

    def __init__(self, lake, wait_before: dict, signal_after: dict) -> None:
        self.lake, self.url = lake, lake.url
        self.wait_before, self.signal_after = dict(wait_before), signal_after

    def __getattr__(self, name):
        method = getattr(self.lake, name)

        def call(*args, **kwargs):
            gate = self.wait_before.pop(name, None) or self.wait_before.pop("*", None)
            if gate is not None:
                assert gate.wait(timeout=60), f"the other run never opened the gate before {name}"
            result = method(*args, **kwargs)
            if name in self.signal_after:
                self.signal_after[name].set()
            return result

        return call


def _race(settings, lake) -> None:
    """Run B starts once A's data is up, writes its manifest while A waits to write its own,
    and goes on (deleting what it deletes) only after A's manifest replaced B's. The old code
    then deleted A's data, which the surviving manifest names."""
    a_data, a_manifest, b_manifest = threading.Event(), threading.Event(), threading.Event()
    run_a = SteppedLake(
        lake, {"put_bytes": b_manifest}, {"put_file": a_data, "put_bytes": a_manifest}
    )
    run_b = SteppedLake(lake, {"*": a_data, "delete_keys": a_manifest}, {"put_bytes": b_manifest})
    errors: list[BaseException] = []

    def run(view) -> None:
        try:
            snapshot_model(settings, view, "marts", "fct_loans", DAY, {})
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(view,)) for view in (run_a, run_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@pytest.mark.parametrize("previous", [False, True], ids=["first-of-the-day", "replacing"])
@pytest.mark.parametrize("lake_kind", ["local", "s3"])
def test_racing_runs_never_delete_what_the_surviving_manifest_names(
    built, lake_kind, previous, tmp_path, request
):
    settings, _ = built
    lake = (
        LocalLake(tmp_path / "lake") if lake_kind == "local" else request.getfixturevalue("s3_lake")
    )
    prefix = snapshot_prefix("fct_loans", DAY)
    if previous:
        snapshot_model(settings, lake, "marts", "fct_loans", DAY, {})
    before = set(lake.list_keys(prefix)) - {prefix + MANIFEST}

    _race(settings, lake)

    manifest = json.loads(lake.get_bytes(prefix + MANIFEST))
    named = {file["key"] for file in manifest["files"]}
    assert named <= set(lake.list_keys(prefix))
    assert read_snapshot(lake, "fct_loans", DAY).num_rows == 3_000
    assert not before & set(lake.list_keys(prefix)), "the replaced run's files are gone"
    # The loser's data is an orphan: kept while young (it could be a run still uploading),
    # swept once older than the grace period; the manifest's files never are.
    assert len(lake.list_keys(prefix)) == 3
    sweep_orphans(lake, "snapshots/fct_loans/", datetime.now(UTC))
    assert len(lake.list_keys(prefix)) == 3
    sweep_orphans(lake, "snapshots/fct_loans/", datetime.now(UTC) + ORPHAN_GRACE * 2)
    assert set(lake.list_keys(prefix)) == named | {prefix + MANIFEST}
    assert read_snapshot(lake, "fct_loans", DAY).num_rows == 3_000


def test_a_run_that_died_before_its_manifest_is_swept_after_the_grace_period(built, tmp_path):
    settings, _ = built
    lake = LocalLake(tmp_path / "lake")
    snapshot_model(settings, lake, "marts", "fct_loans", DAY, {})
    other_day = snapshot_prefix("fct_loans", date(2026, 11, 20))
    lake.put_bytes(b"dead run", f"{other_day}run=dead/part-0.parquet")  # no manifest there
    sweep_orphans(lake, "snapshots/fct_loans/", datetime.now(UTC) + timedelta(hours=1))
    assert lake.list_keys(other_day) == [f"{other_day}run=dead/part-0.parquet"]
    sweep_orphans(lake, "snapshots/fct_loans/", datetime.now(UTC) + ORPHAN_GRACE * 2)
    assert lake.list_keys(other_day) == []
    assert read_snapshot(lake, "fct_loans", DAY).num_rows == 3_000
