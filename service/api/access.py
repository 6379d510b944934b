"""Who is asking, and may they: the one check behind every keyed endpoint.

The FastAPI dependency (:mod:`service.api.deps`) and the fast path (:mod:`service.api.fastpath`)
both call :func:`authenticate` then :func:`check_role`, so they admit and refuse alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool

from service.api.auth import PERMISSIONS, Principal, secret_from_headers
from service.api.errors import DatabaseUnavailable, forbidden, unauthorized
from service.api.runtime import Runtime


async def authenticate(runtime: Runtime, headers: Iterable[tuple[bytes, bytes]]) -> Principal:
    """The principal of the key in ``headers``; refuses 401 (no key, or an unknown or revoked
    one), raises the database's errors (503) when the key must be looked up and cannot be."""
    secret = secret_from_headers(headers)
    if not secret:
        raise unauthorized()
    principal = await runtime.auth.cached(secret)
    if principal is None:
        if not runtime.schema_ok and not await run_in_threadpool(runtime.ensure_schema):
            raise DatabaseUnavailable(runtime.schema_problem)
        principal = await run_in_threadpool(runtime.auth.authenticate, secret)
        if principal is None:
            raise unauthorized()
    return principal


def check_role(principal: Principal, permission: str) -> None:
    """Refuses 403 unless the principal's role may do ``permission``."""
    allowed = PERMISSIONS[permission]
    if principal.role not in allowed:
        raise forbidden(principal.role, allowed)
