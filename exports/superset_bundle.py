"""The dashboards as code: exports/superset/*.yaml rendered into a Superset import bundle.

The YAML under exports/superset/ says what an analyst cares about (which table, which
metric, which filter, which row of the dashboard). Superset's own export format also needs
uuids, column lists, form data, a saved query context per chart and a grid layout; those
are derived here, so the files stay short and a chart is changed in one place. Pure: the
warehouse's columns and URI come in as arguments (exports/superset_provision.py reads them).
No table chart renders its cells as HTML (Superset's `allow_render_html` defaults to on, and
the cells hold payload text), whatever a chart's options say; SQL Lab is off for the database.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from exports.superset_charts import (
    TIMESERIES_VIZ,
    AssetError,
    chart_form_data,
    chart_metrics,
    chart_query,
)

ASSETS_DIR = Path(__file__).parent / "superset"
UUID_NAMESPACE = uuid.UUID("6f1b3c52-2d0e-4c55-9a57-2a9f3c8e0b17")
GRID_COLUMNS = 12
BUNDLE_ROOT = "credit_risk_ews_assets"
DATABASE_FILE = "databases/credit_risk_ews_warehouse.yaml"
PASSWORD_MASK = "XXXXXXXXXX"  # Superset's placeholder for a password given separately
SUPPORTED_VIZ = ("big_number_total", "table", "histogram_v2", "heatmap_v2", *TIMESERIES_VIZ)


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass
class Assets:
    database: dict[str, Any]
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)

    def dashboard_charts(self, dashboard: str) -> list[str]:
        return [name for row in self.dashboards[dashboard]["rows"] for name in row["charts"]]


def asset_uuid(kind: str, name: str) -> str:
    """Stable across runs and machines, so a second import overwrites instead of copying."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{kind}/{name}"))


def load_assets(root: Path = ASSETS_DIR) -> Assets:
    def folder(name: str) -> dict[str, dict[str, Any]]:
        return {path.stem: _read_yaml(path) for path in sorted((root / name).glob("*.yaml"))}

    assets = Assets(
        database=_read_yaml(root / "database.yaml"),
        datasets=folder("datasets"),
        charts=folder("charts"),
        dashboards=folder("dashboards"),
    )
    check_references(assets)
    return assets


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise AssetError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(content, dict):
        raise AssetError(f"{path}: expected a mapping at the top level")
    return content


def check_references(assets: Assets) -> None:
    """Every chart names a known dataset, viz type and metrics; every dashboard known charts."""
    for name, chart in assets.charts.items():
        where = f"charts/{name}.yaml"
        for key in ("slice_name", "dataset", "viz_type"):
            if key not in chart:
                raise AssetError(f"{where}: missing {key!r}")
        if chart["viz_type"] not in SUPPORTED_VIZ:
            raise AssetError(
                f"{where}: viz_type {chart['viz_type']!r} is not one of {', '.join(SUPPORTED_VIZ)}"
            )
        dataset = assets.datasets.get(chart["dataset"])
        if dataset is None:
            raise AssetError(f"{where}: dataset {chart['dataset']!r} has no datasets/ file")
        known = {metric["metric_name"] for metric in dataset.get("metrics", [])}
        for metric in chart_metrics(chart):
            if metric not in known:
                raise AssetError(
                    f"{where}: metric {metric!r} is not defined in datasets/{chart['dataset']}.yaml"
                )
    for name, dashboard in assets.dashboards.items():
        refresh = dashboard.get("refresh_frequency", 0)
        if type(refresh) is not int or refresh < 0:
            raise AssetError(
                f"dashboards/{name}.yaml: refresh_frequency {refresh!r} is not a whole number "
                "of seconds (0: no auto-refresh)"
            )
        seen: set[str] = set()
        for row in dashboard.get("rows", []):
            for chart in row["charts"]:
                if chart not in assets.charts:
                    raise AssetError(f"dashboards/{name}.yaml: chart {chart!r} has no charts/ file")
                if chart in seen:
                    raise AssetError(f"dashboards/{name}.yaml: chart {chart!r} appears twice")
                seen.add(chart)
            if GRID_COLUMNS % len(row["charts"]):
                raise AssetError(
                    f"dashboards/{name}.yaml: a row of {len(row['charts'])} charts cannot "
                    f"share {GRID_COLUMNS} grid columns equally"
                )


def render_bundle(
    assets: Assets,
    database_uri: str,
    columns: dict[str, list[Column]],
    engine_params: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Superset's import files (path -> content) for the whole set of assets."""
    database_uuid = asset_uuid("database", "warehouse")
    files: dict[str, dict[str, Any]] = {
        "metadata.yaml": {
            "version": "1.0.0",
            "type": "assets",
            "timestamp": datetime.now(UTC).isoformat(),
        },
        DATABASE_FILE: _database(assets.database, database_uri, database_uuid, engine_params),
    }
    for name, spec in assets.datasets.items():
        # A table not built yet gets a dataset without columns; its charts fill in later.
        files[f"datasets/{name}.yaml"] = _dataset(name, spec, columns.get(name, []), database_uuid)
    for name, spec in assets.charts.items():
        dataset = assets.datasets[spec["dataset"]]
        files[f"charts/{name}.yaml"] = _chart(name, spec, dataset)
    for name, spec in assets.dashboards.items():
        files[f"dashboards/{name}.yaml"] = _dashboard(name, spec, assets.charts)
    return files


def zip_bundle(files: dict[str, dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path, content in files.items():
            bundle.writestr(f"{BUNDLE_ROOT}/{path}", yaml.safe_dump(content, sort_keys=False))
    return buffer.getvalue()


def _database(
    spec: dict[str, Any], uri: str, database_uuid: str, engine_params: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "database_name": spec["database_name"],
        "sqlalchemy_uri": uri,
        "cache_timeout": None,
        "expose_in_sqllab": spec.get("expose_in_sqllab", False),
        "allow_run_async": spec.get("allow_run_async", False),
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": spec.get("allow_dml", False),
        "allow_csv_upload": False,
        "extra": {"allows_virtual_table_explore": True, "engine_params": engine_params or {}},
        "uuid": database_uuid,
        "version": "1.0.0",
    }


def is_temporal(type_name: str) -> bool:
    lowered = type_name.lower()
    return "date" in lowered or "timestamp" in lowered


def _dataset(
    name: str, spec: dict[str, Any], columns: list[Column], database_uuid: str
) -> dict[str, Any]:
    physical = [
        {
            "column_name": column.name,
            "type": column.type,
            "is_dttm": is_temporal(column.type),
            "groupby": True,
            "filterable": True,
            "expression": None,
            "description": None,
            "verbose_name": None,
            "python_date_format": None,
        }
        for column in columns
    ]
    calculated = [
        {
            "column_name": column["column_name"],
            "type": column.get("type"),
            "is_dttm": is_temporal(column.get("type") or ""),
            "groupby": True,
            "filterable": True,
            "expression": column["expression"],
            "description": column.get("description"),
            "verbose_name": None,
            "python_date_format": None,
        }
        for column in spec.get("calculated_columns", [])
    ]
    metrics = [
        {
            "metric_name": metric["metric_name"],
            "verbose_name": metric.get("verbose_name"),
            "metric_type": None,
            "expression": metric["expression"],
            "description": metric.get("description"),
            "d3format": metric.get("d3format"),
            "extra": None,
            "warning_text": None,
        }
        for metric in spec.get("metrics", [])
    ]
    return {
        "table_name": spec["table_name"],
        "schema": spec["schema"],
        "description": spec.get("description"),
        "main_dttm_col": spec.get("main_dttm_col"),
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "uuid": asset_uuid("dataset", name),
        "metrics": metrics,
        "columns": physical + calculated,
        "version": "1.0.0",
        "database_uuid": database_uuid,
    }


def _chart(name: str, spec: dict[str, Any], dataset: dict[str, Any]) -> dict[str, Any]:
    form_data = chart_form_data(spec, dataset)
    query_context = {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [chart_query(spec)],
        "form_data": form_data,
        "result_format": "json",
        "result_type": "full",
    }
    return {
        "slice_name": spec["slice_name"],
        "description": spec.get("description"),
        "certified_by": None,
        "certification_details": None,
        "viz_type": spec["viz_type"],
        "params": form_data,
        "query_context": json.dumps(query_context),
        "cache_timeout": None,
        "uuid": asset_uuid("chart", name),
        "version": "1.0.0",
        "dataset_uuid": asset_uuid("dataset", spec["dataset"]),
    }


def dashboard_position(spec: dict[str, Any], charts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Superset's grid: a ROW per spec row, a CHART per chart, widths shared equally."""
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {
            "type": "HEADER",
            "id": "HEADER_ID",
            "meta": {"text": spec["dashboard_title"]},
        },
    }
    for row_number, row in enumerate(spec["rows"], start=1):
        row_id = f"ROW-{row_number}"
        width = GRID_COLUMNS // len(row["charts"])
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for chart in row["charts"]:
            chart_id = f"CHART-{chart}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "width": width,
                    "height": row.get("height", 50),
                    "chartId": 0,  # replaced by the chart's id on import (found by uuid)
                    "uuid": asset_uuid("chart", chart),
                    "sliceName": charts[chart]["slice_name"],
                },
            }
    return position


def _dashboard(
    name: str, spec: dict[str, Any], charts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "dashboard_title": spec["dashboard_title"],
        "description": spec.get("description"),
        "css": "",
        "slug": spec["slug"],
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": asset_uuid("dashboard", name),
        "position": dashboard_position(spec, charts),
        "metadata": {
            # The dashboard's scheme overrides its charts' own.
            "color_scheme": spec.get("color_scheme", "supersetColors"),
            "refresh_frequency": spec.get("refresh_frequency", 0),  # seconds; 0: never
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "native_filter_configuration": [],
            "shared_label_colors": [],
        },
        "version": "1.0.0",
    }
