"""`python -m ml serve-api`: the scoring API (FastAPI on uvicorn).

`POST /score` decides one raw LendingClub application (the export's field names and string
formats), `POST /score/batch` a list, with the same code as the stream scorer
(ml/serving/decide.py). The request path reads only memory: the rule's thresholds (from
dbt_project.yml, at start) and the champion (ml/serving/champion.py, reloaded when
`<MODEL_DIR>/champion.json` changes). No warehouse, no secrets. `GET /metrics` serves
Prometheus figures (requests by endpoint and status, latency, decisions by tier); the alert
rules in exports/stack/alerts/ read them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from ml.serving.champion import ChampionWatcher
from ml.serving.coalescer import Coalescer
from ml.serving.decide import ApplicationDecision, decide_applications
from ml.serving.rules import Thresholds, project_thresholds

MAX_BATCH = 100_000
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


class FastJSONResponse(JSONResponse):
    """orjson: dates as ISO text, and several times faster than json on a batch's answer."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "score_api_requests", "Requests answered, by endpoint and HTTP status",
            ["endpoint", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "score_api_request_duration_seconds", "Time to answer a request, by endpoint",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.decisions = Counter(
            "score_api_decisions", "Applications decided, by risk tier", ["tier"],
            registry=self.registry,
        )  # fmt: skip


class _Measured:
    """Pure ASGI middleware: every request's status and time, by route (not raw path, so an
    unknown path is one series, 'unmatched'). Cheaper than BaseHTTPMiddleware."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_status(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(endpoint, str(status[0])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)


def decision_body(decision: ApplicationDecision) -> dict[str, Any]:
    """The answer for one application (the original API's shape, plus `unparseable`)."""
    model = decision.model
    return {
        "loan_id": decision.loan_id,
        "valid": decision.valid,
        "missing_required": list(decision.missing_required),
        "unparseable": list(decision.unparseable),
        "features": decision.features,
        "decision": {
            "dti_band": decision.rule.dti_band,
            "util_band": decision.rule.util_band,
            "rate_band": decision.rule.rate_band,
            "early_warning_flag": decision.rule.early_warning_flag,
            "risk_tier": decision.rule.risk_tier,
            "reasons": list(decision.rule.reasons),
        },
        "model": {
            "run_id": decision.model_run_id,
            "pd": model.pd if model else None,
            "risk_decile": model.risk_decile if model else None,
            "top_features": [
                {"feature": f.feature, "direction": f.direction, "contribution": f.contribution}
                for f in (model.top_features if model else ())
            ],
        },
    }


# /score reads its body itself (orjson, no validation model): FastAPI's parse and validation
# of a 150-field object was a tenth of the event loop's time per request here. The schema
# the docs show is declared by hand.
APPLICATION_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": True,
                "description": "One application: LendingClub export field names, raw values",
            }
        }
    },
}


def _body_error(kind: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": [{"type": kind, "loc": ["body"], "msg": message}]}, 422)


def _is_json(content_type: str | None) -> bool:
    """JSON as FastAPI decides it: no content type, application/json or application/*+json."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _application(body: bytes, content_type: str | None) -> dict[str, Any] | JSONResponse:
    """The request's JSON object, or the 422 FastAPI would answer for a bad body."""
    if not _is_json(content_type):
        return _body_error("dict_type", "Input should be a valid dictionary (send JSON)")
    if not body:
        return _body_error("missing", "Field required")
    try:
        application = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _body_error("json_invalid", f"JSON decode error: {exc}")
    if not isinstance(application, dict):
        return _body_error("dict_type", "Input should be a valid dictionary")
    return application


def _missing_answer(decisions: list[ApplicationDecision], batch: bool) -> JSONResponse | None:
    """422 naming each application's missing required fields, or None if none is missing."""
    errors = [
        {
            "loc": ["body", *([index] if batch else []), field],
            "msg": f"required field {field!r} is missing, empty or unreadable",
            "type": "missing_required",
        }
        for index, decision in enumerate(decisions)
        for field in decision.missing_required
    ]
    return JSONResponse({"detail": errors}, status_code=422) if errors else None


def create_app(
    model_dir: Path,
    thresholds: Thresholds | None = None,
    check_seconds: float = 1.0,
) -> FastAPI:
    thresholds = thresholds or project_thresholds()
    watcher = ChampionWatcher(model_dir, check_seconds)
    metrics = ApiMetrics()
    app = FastAPI(
        title="credit-risk-ews scoring API",
        description=__doc__,
        version="1.0",
    )

    def _decide_batch(
        applications: Sequence[Mapping[str, Any]], explain: bool
    ) -> list[ApplicationDecision]:
        year = datetime.now(UTC).year
        return decide_applications(applications, year, thresholds, watcher.current(), explain)

    coalescer: Coalescer[ApplicationDecision] = Coalescer(_decide_batch)

    def _answer(decisions: list[ApplicationDecision], reject: bool, batch: bool) -> Response:
        if reject and (refused := _missing_answer(decisions, batch)):
            return refused
        for decision in decisions:
            metrics.decisions.labels(decision.rule.risk_tier).inc()
        bodies = [decision_body(d) for d in decisions]
        return FastJSONResponse(bodies if batch else bodies[0])

    @app.post("/score", openapi_extra={"requestBody": APPLICATION_BODY})
    async def score(
        request: Request,
        reject_if_missing_required: bool = Query(
            True, description="422 when a required field is missing (else tier Rejected)"
        ),
        explain: bool = Query(True, description="top contributing features"),
    ) -> Response:
        application = _application(await request.body(), request.headers.get("content-type"))
        if isinstance(application, JSONResponse):
            return application
        decision = await coalescer.decide(application, explain)
        return _answer([decision], reject_if_missing_required, batch=False)

    @app.post("/score/batch")
    def score_batch(
        applications: list[dict[str, Any]] = Body(..., max_length=MAX_BATCH),  # noqa: B008
        reject_if_missing_required: bool = Query(True),
        explain: bool = Query(True),
    ) -> Response:
        decisions = _decide_batch(applications, explain)
        return _answer(decisions, reject_if_missing_required, batch=True)

    @app.get("/health")
    def health() -> dict[str, Any]:
        champion = watcher.current()
        return {
            "status": "ok",
            "model_run_id": champion.run_id if champion else None,
            "model_error": watcher.last_error,
        }

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(_Measured, metrics=metrics)
    return app


def serve(model_dir: Path, host: str, port: int) -> None:
    """One process: the model's native threads held to one (threadpoolctl), since requests
    already run side by side; letting each predict spread over every core made 16
    concurrent clients 4x slower here (tests/benchmarks/api_benchmark.py)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    uvicorn.run(create_app(model_dir), host=host, port=port, access_log=False)
