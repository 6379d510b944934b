"""Readiness: the database reachable and at the code's schema, rules loaded."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from service.api.runtime import Runtime


async def readiness(runtime: Runtime) -> tuple[bool, dict[str, Any]]:
    """Whether the process can serve, and the report of each check."""
    database = await run_in_threadpool(runtime.store.ping)
    schema = database and await run_in_threadpool(runtime.ensure_schema)
    base = runtime.rule_base()
    rules = bool(base.known())
    ready = database and schema and rules
    checks = {
        "database": "ok" if database else "unreachable",
        "schema": "ok" if schema else (runtime.schema_problem or "unknown"),
        "rules": f"{len(base.known())} jurisdictions" if rules else "none loaded",
    }
    return ready, {"status": "ready" if ready else "unavailable", "checks": checks}
