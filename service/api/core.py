"""The work behind the hot endpoints, shared by the FastAPI routes and the ASGI fast path."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool

from service.api import metrics
from service.api.auth import PERMISSIONS, Principal
from service.api.errors import ApiError, forbidden, unauthorized
from service.api.runtime import Runtime
from service.contract.request import EvaluationRequest
from service.engine import Bundle, RequestRejected, evaluate
from service.store import StoreBusyError
from service.store.errors import StoreUnavailableError

_SORT = orjson.OPT_SORT_KEYS


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or its schema is not the one this code needs."""


# Every error that means "the database is not answering": 503 with Retry-After.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    DBAPIError,
    PoolTimeoutError,
    StoreBusyError,
    StoreUnavailableError,
    DatabaseUnavailable,
)


async def authorize(runtime: Runtime, secret: str | None, permission: str) -> Principal:
    """The key's principal if it may do ``permission``; raises 401/403 (or the database's)."""
    if not secret:
        raise unauthorized()
    principal = runtime.auth.cached(secret)
    if principal is None:
        if not runtime.schema_ok and not await run_in_threadpool(runtime.ensure_schema):
            raise DatabaseUnavailable(runtime.schema_problem)
        principal = await run_in_threadpool(runtime.auth.authenticate, secret)
        if principal is None:
            raise unauthorized()
    return principal


def check_role(principal: Principal, permission: str) -> None:
    allowed = PERMISSIONS[permission]
    if principal.role not in allowed:
        raise forbidden(principal.role, allowed)


def evaluate_body(
    runtime: Runtime, body: bytes
) -> tuple[EvaluationRequest, Bundle, dict[str, Any]]:
    """Parse once (pydantic from bytes), resolve, evaluate; 422 with the contract's problems."""
    base = runtime.rule_base()  # one rule base for the whole request, even during a reload
    try:
        parsed = runtime.decider.parse(body)
        bundle = runtime.decider.bundle_for(parsed, base)
    except RequestRejected as rejected:
        raise ApiError(422, rejected.problems) from None
    return parsed, bundle, evaluate(parsed, bundle)


async def record(runtime: Runtime, principal: Principal, body: bytes) -> tuple[str, bytes]:
    """Evaluate and append to the log; returns once the record is committed."""
    parsed, bundle, response = evaluate_body(runtime, body)
    programs = response["programs"]
    response_bytes = orjson.dumps(response, option=_SORT)
    item = {
        "jurisdiction": bundle.jurisdiction,
        "as_of": parsed.as_of,
        "bundle_sha256": bundle.sha256,
        "bundle_version": bundle.version.isoformat(),
        "bundle_canonical_json": bundle.canonical_json,
        "engine_version": response["engine_version"],
        "request_json": orjson.dumps(
            runtime.pseudonymizer.stored_document(parsed), option=_SORT
        ).decode(),
        "response_json": response_bytes.decode(),
        "actor": principal.key_id,
        "programs_summary": {p: r["status"] for p, r in programs.items()},
    }
    stored = await runtime.writer.write(item)
    metrics.count_decisions(metrics.DECISIONS, bundle.jurisdiction, programs)
    # The stored (sorted) serialisation, with decision_id first: serialised once, not twice.
    return stored.id, b'{"decision_id":"' + stored.id.encode() + b'",' + response_bytes[1:]


def evaluate_only(runtime: Runtime, body: bytes) -> bytes:
    _, bundle, response = evaluate_body(runtime, body)
    metrics.count_decisions(metrics.EVALUATIONS, bundle.jurisdiction, response["programs"])
    return orjson.dumps(response)
