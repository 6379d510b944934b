"""Operations, without a key: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.api import metrics
from service.api.actions.health import readiness
from service.api.deps import RuntimeDep
from service.api.errors import json_response
from service.api.models import ReadyReport

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    summary="Database reachable and rules loaded",
    response_model=ReadyReport,
    responses={503: {"model": ReadyReport, "description": "not ready (Retry-After)"}},
)
async def readyz(runtime: RuntimeDep) -> Response:
    ready, report = await readiness(runtime)
    if ready:
        return json_response(report)
    return json_response(report, 503, {"Retry-After": str(runtime.settings.retry_after_seconds)})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {}}}},
)
async def prometheus_metrics() -> Response:
    body = await run_in_threadpool(metrics.render)
    return Response(body, media_type=metrics.CONTENT_TYPE)
