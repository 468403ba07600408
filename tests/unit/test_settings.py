from pathlib import Path

import pytest

from ingest.settings import ConfigError, Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.warehouse == "duckdb"
    assert settings.duckdb_path == Path("warehouse.duckdb")
    assert settings.lake_url == "file://./lake"
    assert settings.model_dir == Path("lake/models")


def test_environment_overrides():
    settings = Settings.from_env(
        {"WAREHOUSE": "Postgres", "DUCKDB_PATH": "/x/y.duckdb", "ML_MODEL_DIR": "/m"}
    )
    assert settings.warehouse == "postgres"
    assert settings.duckdb_path == Path("/x/y.duckdb")
    assert settings.model_dir == Path("/m")


def test_unknown_warehouse_is_a_clear_error():
    with pytest.raises(ConfigError, match="WAREHOUSE='mysql'"):
        Settings.from_env({"WAREHOUSE": "mysql"})


def test_the_checkpoint_size_defaults_per_warehouse_and_can_be_set():
    assert Settings.from_env({}).checkpoint_messages == 20_000
    assert Settings.from_env({"WAREHOUSE": "postgres"}).checkpoint_messages == 10_000
    assert Settings.from_env({"INGEST_COMMIT_EVERY": "500"}).checkpoint_messages == 500


def test_the_metrics_endpoint_binds_loopback_unless_told():
    assert Settings.from_env({}).metrics_host == "127.0.0.1"
    assert Settings.from_env({"INGEST_METRICS_HOST": "0.0.0.0"}).metrics_host == "0.0.0.0"


def test_the_csv_record_limit_defaults_to_1_mib_and_must_be_positive():
    assert Settings.from_env({}).max_record_bytes == 1 << 20
    assert Settings.from_env({"INGEST_MAX_RECORD_BYTES": "4096"}).max_record_bytes == 4096
    with pytest.raises(ConfigError, match="INGEST_MAX_RECORD_BYTES='0' must be above 0"):
        Settings.from_env({"INGEST_MAX_RECORD_BYTES": "0"})
