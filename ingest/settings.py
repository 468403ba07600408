"""One configuration, read from the environment, shared with dbt's profiles/profiles.yml.

Postgres connections use libpq's own PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE), so psycopg2, psql and dbt all see the same server without a second config file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

RawWriter = Literal["duckdb", "postgres"]
WAREHOUSES: tuple[RawWriter, ...] = ("duckdb", "postgres")
# Messages per checkpoint when INGEST_COMMIT_EVERY is unset. Postgres writes a message about
# 3x slower than DuckDB, so it gets half the batch: its p95 batch write stays under a second
# (measured 0.60 s at 10,000, 1.25 s at 20,000; the same throughput) while DuckDB keeps the
# larger batch it needs for throughput (22.6k events/s at 20,000, 17.6k at 10,000).
DEFAULT_COMMIT_EVERY: dict[RawWriter, int] = {"duckdb": 20_000, "postgres": 10_000}


Number = TypeVar("Number", int, float)


class ConfigError(ValueError):
    """A setting in the environment is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    warehouse: RawWriter = "duckdb"
    duckdb_path: Path = Path("warehouse.duckdb")
    kafka_bootstrap: str = "127.0.0.1:19092"
    lake_url: str = "file://./lake"
    applications_topic: str = "loan.applications"
    performance_topic: str = "loan.performance"
    consumer_group: str = "credit-risk-ews-ingest"
    metrics_port: int = 9108
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container, for Prometheus on its network
    max_event_bytes: int = 1_048_576
    max_record_bytes: int = 1_048_576  # a CSV record over this is quarantined, its head kept
    commit_every: int = 0  # 0: DEFAULT_COMMIT_EVERY for the warehouse
    commit_interval: float = 1.0  # seconds: a checkpoint at least this often
    stall_seconds: float = 60.0  # /health turns 503 when events wait this long uncommitted
    statement_timeout: float = 300.0  # seconds a Postgres write may take before it fails
    # Fault injection for the exactly-once tests: the service dies (as kill -9 would) right
    # after this many checkpoints' database commits, before their offsets are committed.
    fault_exit_after_batches: int = 0
    model_dir: Path = Path("lake/models")
    # Features the PD models never see (ml/features.py, PROXY_FEATURES: likely proxies for
    # protected characteristics); ML_EXCLUDED_FEATURES="" lets them all in.
    ml_excluded_features: tuple[str, ...] = ("addr_state",)
    scorer_group: str = "credit-risk-ews-scorer"  # the stream scorer's own consumer group
    scorer_metrics_port: int = 9109
    scorer_top_features: int = 1  # 0: the stream scorer skips top features (PD and decile only)
    # The scorer checkpoints more often than the landing service: an event waits for its
    # checkpoint to close, so this bounds decision latency (p95 at 1,000 applications/s,
    # tests/benchmarks/decision_latency_benchmark.py: 3.8 s at 1 s, 1.45 s at 0.4 s).
    scorer_commit_interval: float = 0.4

    @property
    def checkpoint_messages(self) -> int:
        return self.commit_every or DEFAULT_COMMIT_EVERY[self.warehouse]

    @property
    def topics(self) -> dict[str, str]:
        """Event type -> the topic that carries it."""
        return {
            "loan.application": self.applications_topic,
            "loan.performance": self.performance_topic,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        warehouse = env.get("WAREHOUSE", "duckdb").strip().lower() or "duckdb"
        if warehouse not in WAREHOUSES:
            raise ConfigError(
                f"WAREHOUSE={warehouse!r} is not supported: use one of {', '.join(WAREHOUSES)}"
            )
        return cls(
            warehouse=warehouse,  # type: ignore[arg-type]
            duckdb_path=Path(env.get("DUCKDB_PATH") or cls.duckdb_path),
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP") or cls.kafka_bootstrap,
            lake_url=env.get("LAKE_URL") or cls.lake_url,
            applications_topic=env.get("INGEST_APPLICATIONS_TOPIC") or cls.applications_topic,
            performance_topic=env.get("INGEST_PERFORMANCE_TOPIC") or cls.performance_topic,
            consumer_group=env.get("INGEST_CONSUMER_GROUP") or cls.consumer_group,
            metrics_port=_int(env, "INGEST_METRICS_PORT", cls.metrics_port),
            metrics_host=env.get("INGEST_METRICS_HOST") or cls.metrics_host,
            max_event_bytes=_int(env, "INGEST_MAX_EVENT_BYTES", cls.max_event_bytes),
            max_record_bytes=_positive(env, "INGEST_MAX_RECORD_BYTES", cls.max_record_bytes),
            commit_every=_int(env, "INGEST_COMMIT_EVERY", cls.commit_every),
            commit_interval=_seconds(env, "INGEST_COMMIT_INTERVAL_SECONDS", cls.commit_interval),
            stall_seconds=_seconds(env, "INGEST_STALL_SECONDS", cls.stall_seconds),
            statement_timeout=_seconds(
                env, "INGEST_STATEMENT_TIMEOUT_SECONDS", cls.statement_timeout
            ),
            model_dir=Path(env.get("ML_MODEL_DIR") or cls.model_dir),
            ml_excluded_features=(
                tuple(
                    name.strip() for name in env["ML_EXCLUDED_FEATURES"].split(",") if name.strip()
                )
                if "ML_EXCLUDED_FEATURES" in env
                else cls.ml_excluded_features
            ),
            scorer_group=env.get("SCORER_CONSUMER_GROUP") or cls.scorer_group,
            scorer_metrics_port=_int(env, "SCORER_METRICS_PORT", cls.scorer_metrics_port),
            scorer_top_features=_int(env, "SCORER_TOP_FEATURES", cls.scorer_top_features),
            scorer_commit_interval=_seconds(
                env, "SCORER_COMMIT_INTERVAL_SECONDS", cls.scorer_commit_interval
            ),
            fault_exit_after_batches=_int(
                env, "INGEST_FAULT_EXIT_AFTER_BATCHES", cls.fault_exit_after_batches
            ),
        )


def _number(
    env: Mapping[str, str], name: str, default: Number, kind: type[Number], positive: bool = False
) -> Number:
    """The variable as a `kind` (default when unset): never negative, and above 0 when
    `positive`."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(
            f"{name}={text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{name}={text!r} must be {'above 0' if positive else 'at least 0'}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, positive=True)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, positive=True)
