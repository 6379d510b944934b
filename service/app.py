"""The service as one application: ``create_app(settings)`` puts together the HTTP API
(:mod:`service.api`), the caseload's router (:mod:`service.caseload.http`) and the web console
(:mod:`service.console`), and ``eligibility serve`` runs it.

It stands above the three, so that none of them imports another's routes. Every endpoint of
the API speaks JSON and is in the OpenAPI document (``/openapi.json``, ``/docs``). Decision data
is served only to a valid API key of a role allowed to see it. The routes are in
:mod:`service.api.routes`, one module per resource; what they do, in :mod:`service.api.actions`.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from service.api import errors, openapi
from service.api.auth import CASELOAD
from service.api.deps import require
from service.api.fastpath import fast_routes
from service.api.logs import configure_logging, get_logger
from service.api.middleware import ServiceMiddleware
from service.api.routes import ROUTERS
from service.api.runtime import Runtime
from service.api.settings import Settings
from service.caseload.http import MAX_BYTES as CASELOAD_MAX_BYTES
from service.caseload.http import caseload_router
from service.console import router as console_router
from service.engine import ENGINE_VERSION, RuleBase

log = get_logger("app")

CASELOAD_PATH = "/v1/caseload/whatif"


def create_app(
    settings: Settings | None = None, *, log_stream: Any = None, rule_base: RuleBase | None = None
) -> FastAPI:
    """The FastAPI application for ``settings`` (default: from the environment).

    ``rule_base``: rules already loaded from ``settings.rules_dir`` (tests share one).
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, log_stream)
    runtime = Runtime(settings, rule_base=rule_base)
    app = _application()
    app.state.runtime = runtime
    # A caseload is many requests in one body: its own, larger limit (its router answers 413
    # itself, with its own message, above MAX_BYTES).
    body_limits = {CASELOAD_PATH: CASELOAD_MAX_BYTES + 1}
    app.add_middleware(
        ServiceMiddleware,
        max_body_bytes=settings.max_body_bytes,
        access_log_enabled=settings.access_log,
        fast_routes=fast_routes(runtime) if settings.fast_path else None,
        body_limits=body_limits,
    )
    errors.install_handlers(app, settings.retry_after_seconds)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(
        caseload_router(runtime.rule_base, require(CASELOAD)),
        responses={**openapi.keyed(CASELOAD), **openapi.INVALID},
        generate_unique_id_function=lambda route: f"caseload_{route.name}",
    )
    app.include_router(console_router)  # the web console, /console/ (no OpenAPI entries)
    openapi.install(app, runtime, body_limits)
    return app


def _application() -> FastAPI:
    # Swagger UI's script and style sheet come from the fastapi-offline package, served by the
    # service itself: government intranets have no internet, and a CDN page is blank there.
    # ReDoc is left out (its bundle loads its logo from its own CDN); the validator badge, Swagger
    # UI's one call to another host, is off.
    return FastAPIOffline(
        redoc_url=None,
        favicon_url=None,
        swagger_ui_parameters={"validatorUrl": None},
        title=openapi.TITLE,
        version=ENGINE_VERSION,
        description=openapi.DESCRIPTION,
        # Operation ids are the handlers' names (record_decision): a generated client's functions.
        generate_unique_id_function=lambda route: route.name,
        lifespan=lifespan,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    if not await run_in_threadpool(runtime.ensure_schema):
        log.warning("database not ready at start", extra={"problem": runtime.schema_problem})
    runtime.start_background()
    # Everything loaded so far (rules, models, code) lives as long as the process: keep the
    # cyclic garbage collector from scanning it again and again.
    gc.collect()
    gc.freeze()
    yield
    await runtime.writer.close()  # on the loop: the PostgreSQL writer's connection lives here
    await run_in_threadpool(runtime.close)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process builds its own app)."""
    # The decision writer thread holds the GIL in bursts; a shorter switch interval hands it
    # back to the event loop sooner (latency of the other requests), at a negligible cost.
    sys.setswitchinterval(0.001)
    return create_app(Settings.from_env())
