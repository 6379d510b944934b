"""The dependencies of the routes: the process's runtime, and the principal of a permission.

async def list_keys(runtime: RuntimeDep, _admin: KeyAdmin) -> Response: ...
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.api import access
from service.api.auth import (
    EVALUATE,
    KEYS,
    READ,
    RECORD,
    RELOAD,
    REPLAY,
    RULES,
    VERIFY,
    Principal,
)
from service.api.runtime import Runtime

# The two ways of presenting a key, declared for the OpenAPI document; the key itself is read
# from the headers by service.api.auth.secret_from_headers, as on the fast path.
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI would run a plain function in its thread pool, a hand-off per request
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def require(permission: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """The dependency admitting a key whose role may do ``permission`` (401, 403 otherwise)."""

    async def dependency(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
        _api_key: Annotated[str | None, Security(API_KEY)],
    ) -> Principal:
        principal = await access.authenticate(await get_runtime(request), request.scope["headers"])
        request.state.principal = principal  # the access log names the key, even when refused
        access.check_role(principal, permission)
        return principal

    dependency.__name__ = f"require_{permission}"
    return dependency


Recorder = Annotated[Principal, Depends(require(RECORD))]
Evaluator = Annotated[Principal, Depends(require(EVALUATE))]
Reader = Annotated[Principal, Depends(require(READ))]
Replayer = Annotated[Principal, Depends(require(REPLAY))]
Verifier = Annotated[Principal, Depends(require(VERIFY))]
RuleReader = Annotated[Principal, Depends(require(RULES))]
RuleReloader = Annotated[Principal, Depends(require(RELOAD))]
KeyAdmin = Annotated[Principal, Depends(require(KEYS))]
