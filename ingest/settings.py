"""One configuration, read from the environment, shared with dbt's profiles/profiles.yml.

Postgres connections use libpq's own PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE), so psycopg2, psql and dbt all see the same server without a second config file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Warehouse = Literal["duckdb", "postgres"]
WAREHOUSES: tuple[Warehouse, ...] = ("duckdb", "postgres")


class ConfigError(ValueError):
    """A setting in the environment is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    warehouse: Warehouse = "duckdb"
    duckdb_path: Path = Path("warehouse.duckdb")
    kafka_bootstrap: str = "127.0.0.1:19092"
    lake_url: str = "file://./lake"

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
        )
