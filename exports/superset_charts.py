"""A chart of the dashboards as code (exports/superset/charts/*.yaml) as Superset needs it:
its form data (what the explore view shows and the dashboard renders) and the query context
the chart-data API answers from. Pure: a chart's spec and its dataset in, dicts out.
"""

from __future__ import annotations

import json
from typing import Any

TIMESERIES_VIZ = ("echarts_timeseries_line", "echarts_timeseries_bar")


class AssetError(ValueError):
    """An asset file is inconsistent: names the file and the problem."""


def chart_metrics(chart: dict[str, Any]) -> list[str]:
    return [chart["metric"]] if "metric" in chart else list(chart.get("metrics", []))


def _metric_format(dataset: dict[str, Any], metric: str) -> str | None:
    for candidate in dataset.get("metrics", []):
        if candidate["metric_name"] == metric:
            return candidate.get("d3format")
    return None


def _order_terms(spec: dict[str, Any]) -> list[tuple[str, bool]]:
    """`order_by: [severity desc, pd desc]` -> [(expression, ascending)]."""
    terms = []
    for term in spec.get("order_by", []):
        expression, _, direction = term.rpartition(" ")
        if direction.lower() not in ("asc", "desc") or not expression:
            raise AssetError(f"order_by term {term!r}: write '<expression> asc|desc'")
        terms.append((expression, direction.lower() == "asc"))
    return terms


def chart_form_data(spec: dict[str, Any], dataset: dict[str, Any]) -> dict[str, Any]:
    """What Superset's explore view saves for the chart (its `params`)."""
    viz = spec["viz_type"]
    form: dict[str, Any] = {
        "viz_type": viz,
        "datasource": "0__table",  # replaced by the dataset's id on import
        "adhoc_filters": _adhoc_filters(spec),
        "row_limit": spec.get("row_limit", 10000),
    }
    metrics = chart_metrics(spec)
    if viz == "big_number_total":
        form |= {
            "metric": spec["metric"],
            "header_font_size": 0.4,
            "subheader_font_size": 0.15,
            "y_axis_format": _metric_format(dataset, spec["metric"]) or "SMART_NUMBER",
        }
    elif viz == "table":
        order = _order_terms(spec)
        if "columns" in spec:
            form |= {
                "query_mode": "raw",
                "all_columns": spec["columns"],
                "order_by_cols": [json.dumps([col, asc]) for col, asc in order],
            }
        else:
            form |= {"query_mode": "aggregate", "groupby": spec["groupby"], "metrics": metrics}
            if order:
                (expression, ascending), *_ = order
                form |= {
                    "timeseries_limit_metric": _sql_metric(expression),
                    "order_desc": not ascending,
                }
        form |= {"show_cell_bars": False, "table_timestamp_format": "%Y-%m-%d %H:%M"}
    elif viz == "heatmap_v2":
        form |= {
            "x_axis": spec["x_axis"],
            "groupby": spec["groupby"],
            "metric": spec["metric"],
            "sort_x_axis": "alpha_asc",
            "sort_y_axis": "alpha_asc",
            "normalize_across": "heatmap",
            "legend_type": "continuous",
            "linear_color_scheme": "superset_seq_1",
            "show_legend": True,
            "show_values": True,
            "show_percentage": False,
            "normalized": False,
            "xscale_interval": -1,
            "yscale_interval": -1,
            "left_margin": "auto",
            "bottom_margin": "auto",
            "value_bounds": [None, None],
            "y_axis_format": _metric_format(dataset, spec["metric"]) or "SMART_NUMBER",
        }
    elif viz == "histogram_v2":
        form |= {"column": spec["column"], "groupby": [], "bins": spec.get("bins", 20)}
        form |= {"normalize": False, "cumulative": False, "x_axis_title": spec["column"]}
    else:
        form |= {
            "x_axis": spec["x_axis"],
            "time_grain_sqla": spec.get("time_grain"),
            "metrics": metrics,
            "groupby": spec.get("groupby", []),
            "x_axis_sort_asc": True,
            "show_legend": True,
            "legendType": "scroll",
            "legendOrientation": "top",
            "rich_tooltip": True,
            "truncate_metric": True,
            "y_axis_format": _metric_format(dataset, metrics[0]) or "SMART_NUMBER",
        }
        if viz == "echarts_timeseries_bar":
            form |= {"orientation": "vertical", "show_value": False}
        else:  # markers, so a series with one point (a first day of data) still shows
            form |= {"markerEnabled": True, "markerSize": 6}
    form |= spec.get("options", {})
    if viz == "table":  # cells are data (payload text among them), never markup
        form["allow_render_html"] = False
    return form


def _adhoc_filters(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if not spec.get("where"):
        return []
    return [
        {
            "expressionType": "SQL",
            "sqlExpression": spec["where"],
            "clause": "WHERE",
            "filterOptionName": "where",
        }
    ]


def _sql_metric(expression: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": expression, "label": expression}


def chart_query(spec: dict[str, Any]) -> dict[str, Any]:
    """The one query the chart-data API runs for the chart (its saved query context)."""
    viz = spec["viz_type"]
    query: dict[str, Any] = {
        "filters": [],
        "extras": {"where": f"({spec['where']})"} if spec.get("where") else {},
        "row_limit": spec.get("row_limit", 10000),
        "metrics": chart_metrics(spec),
        "columns": [],
        "orderby": [],
    }
    order = _order_terms(spec)
    if viz == "table" and "columns" in spec:
        query |= {"columns": spec["columns"], "orderby": [[c, asc] for c, asc in order]}
    elif viz == "table":
        orderby = [[_sql_metric(e), asc] for e, asc in order[:1]]
        query |= {"columns": spec["groupby"], "orderby": orderby}
    elif viz == "histogram_v2":
        query |= {"columns": [spec["column"]]}
    elif viz == "heatmap_v2":
        axes = [spec["x_axis"], *spec["groupby"]]
        query |= {"columns": axes, "orderby": [[axis, True] for axis in axes]}
    elif viz in TIMESERIES_VIZ:
        axis: str | dict[str, Any] = spec["x_axis"]
        if spec.get("time_grain"):
            axis = {
                "columnType": "BASE_AXIS",
                "sqlExpression": spec["x_axis"],
                "label": spec["x_axis"],
                "expressionType": "SQL",
                "timeGrain": spec["time_grain"],
            }
        query |= {"columns": [axis, *spec.get("groupby", [])], "orderby": [[spec["x_axis"], True]]}
    return query
