"""`python -m exports superset`: import the dashboards as code into a running Superset.

Creates the live tables Pipeline Health reads if the stream scorer has not yet (with the
scorer's own DDL, ml/serving/decisions_table.py; a write session, so on DuckDB no other process
may hold the file), reads the warehouse's columns for each dataset, renders the bundle
(superset_bundle.py) and imports it through Superset's assets API with overwrite: every asset
has a fixed uuid, so running it again updates the same database, datasets, charts and
dashboards in place.
Credentials never enter the bundle: the warehouse password goes in the import's separate
`passwords` field. Superset reaches Postgres as a read-only role of its own
(exports/superset_role.py, created here) and DuckDB read-only with no file or external access
and its configuration locked, both set at connect time, before Superset runs anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from exports.superset_bundle import (
    DATABASE_FILE,
    PASSWORD_MASK,
    Assets,
    Column,
    load_assets,
    render_bundle,
    zip_bundle,
)
from exports.superset_role import ensure_reader_role
from ingest.settings import ConfigError, Settings
from ingest.warehouse.session import ReaderConnection, engine_module, open_session, read_frame
from ml.serving.decisions_table import ensure_tables as ensure_live_tables


class ProvisionError(RuntimeError):
    """Superset refused or could not be reached; the message says which and why."""


@dataclass(frozen=True)
class SupersetLogin:
    url: str
    username: str
    password: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SupersetLogin:
        env = os.environ if env is None else env
        password = env.get("SUPERSET_PASSWORD", "")
        if not password:
            raise ProvisionError("SUPERSET_PASSWORD is not set (the Superset admin's password)")
        return cls(
            url=(env.get("SUPERSET_URL") or "http://127.0.0.1:8088").rstrip("/"),
            username=env.get("SUPERSET_USERNAME") or "admin",
            password=password,
        )


def warehouse_connection(
    settings: Settings, env: Mapping[str, str] | None = None
) -> ReaderConnection:
    """How Superset reaches the warehouse: as the engine module says a read-only reader does
    (the PG* server as the read-only role SUPERSET_PG_USER, or dbt's DuckDB file, locked
    down), the password masked as Superset's bundles mask it."""
    env = os.environ if env is None else env
    try:
        return engine_module(settings).reader_connection(settings, env, PASSWORD_MASK)
    except ConfigError as exc:
        raise ProvisionError(str(exc)) from None


def warehouse_columns(settings: Settings, assets: Assets) -> dict[str, list[Column]]:
    tables = {name: (spec["schema"], spec["table_name"]) for name, spec in assets.datasets.items()}
    wanted = " or ".join(
        f"(table_schema = '{schema}' and table_name = '{table}')"
        for schema, table in tables.values()
    )
    frame = read_frame(
        settings,
        "select table_schema, table_name, column_name, data_type "
        f"from information_schema.columns where {wanted} "
        "order by table_schema, table_name, ordinal_position",
    )
    by_table: dict[tuple[str, str], list[Column]] = {}
    for row in frame.itertuples(index=False):
        key = (row.table_schema, row.table_name)
        by_table.setdefault(key, []).append(Column(row.column_name, str(row.data_type).upper()))
    return {name: by_table[key] for name, key in tables.items() if key in by_table}


class SupersetApi:
    """A logged-in session (supersetapiclient: token and CSRF) plus the calls we need."""

    def __init__(self, login: SupersetLogin) -> None:
        from supersetapiclient.client import SupersetClient

        self.url = login.url
        if login.url.startswith("http://"):
            # The client's OAuth2 session refuses plain http unless told; a local or in-network
            # Superset (make superset, docker compose) is served over http.
            os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
        self.client = SupersetClient(
            host=login.url, username=login.username, password=login.password
        )
        try:
            self.session = self.client.session
        except requests.ConnectionError as exc:
            raise ProvisionError(f"cannot reach Superset at {login.url}: {exc}") from exc
        except requests.HTTPError as exc:
            raise ProvisionError(
                f"Superset at {login.url} refused the login of {login.username!r}: {exc}"
            ) from exc
        self.session.headers["Accept"] = "application/json"

    def import_assets(self, bundle: bytes, passwords: dict[str, str]) -> None:
        response = self.session.post(
            f"{self.url}/api/v1/assets/import/",
            files={"bundle": ("credit_risk_ews_assets.zip", bundle, "application/zip")},
            data={"passwords": json.dumps(passwords), "overwrite": "true"},
        )
        if response.status_code != 200:
            raise ProvisionError(
                f"Superset refused the import ({response.status_code}): {response.text[:2000]}"
            )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.session.get(f"{self.url}{path}", params=params)
        if response.status_code != 200:
            raise ProvisionError(
                f"GET {path} answered {response.status_code}: {response.text[:500]}"
            )
        return response.json()

    def list_all(self, resource: str, page_size: int = 100) -> list[dict[str, Any]]:
        """Every item, page by page (a shared Superset holds more than one page)."""
        items: list[dict[str, Any]] = []
        while True:
            query = f"(page:{len(items) // page_size},page_size:{page_size})"
            page = self.get(f"/api/v1/{resource}/", q=query)["result"]
            items += page
            if len(page) < page_size:
                return items


def provision(
    settings: Settings,
    login: SupersetLogin,
    assets: Assets | None = None,
    warn: Callable[[str], None] = print,
) -> dict[str, str]:
    """Import everything; returns dashboard title -> URL."""
    assets = assets or load_assets()
    connection = warehouse_connection(settings)
    with open_session(settings) as session, session.transaction():
        ensure_live_tables(session)
    if connection.role and connection.password:
        ensure_reader_role(connection.role, connection.password)
    columns = warehouse_columns(settings, assets)
    for name, spec in assets.datasets.items():
        if name not in columns:
            warn(
                f"warning: {spec['schema']}.{spec['table_name']} is not in the warehouse yet; "
                "its charts stay empty until it is (the ingest creates the raw tables, dbt build "
                "the marts, `python -m exports drift` the monitoring table): provision again "
                "afterwards."
            )
    files = render_bundle(assets, connection.uri, columns, connection.engine_params)
    passwords = {DATABASE_FILE: connection.password} if connection.password else {}
    api = SupersetApi(login)
    api.import_assets(zip_bundle(files), passwords)
    slugs = {spec["slug"]: spec["dashboard_title"] for spec in assets.dashboards.values()}
    return {
        slugs[dashboard["slug"]]: f"{login.url}/superset/dashboard/{dashboard['slug']}/"
        for dashboard in api.list_all("dashboard")
        if dashboard.get("slug") in slugs
    }
