"""``/v1/admin``: reload the rules, manage the API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from service.api.actions import keys, rulesets
from service.api.auth import KEYS, RELOAD
from service.api.deps import KeyAdmin, RuleReloader, RuntimeDep
from service.api.errors import json_response
from service.api.models import KeyCreate, KeyCreated, KeyInfo
from service.api.openapi import INVALID, NOT_FOUND, error, keyed

router = APIRouter(prefix="/v1/admin", tags=["admin"])

UNPARSABLE = {400: error("the body could not be parsed at all (not text, or nested too deep)")}


@router.post(
    "/rulesets/reload", summary="Reload rules/ atomically", responses={**keyed(RELOAD), **INVALID}
)
async def reload_rules(runtime: RuntimeDep, _principal: RuleReloader) -> Response:
    """An invalid rule set is refused with its problems; the previous rules keep serving."""
    return json_response(await rulesets.reload_rules(runtime))


@router.post(
    "/keys",
    status_code=201,
    summary="Create an API key (its secret is shown once)",
    response_model=KeyCreated,
    responses={**keyed(KEYS), **INVALID, **UNPARSABLE},
)
async def create_key(runtime: RuntimeDep, body: KeyCreate, _principal: KeyAdmin) -> Response:
    return json_response(await keys.create_key(runtime, body.role, body.name), 201)


@router.get(
    "/keys",
    summary="List API keys (never their secrets)",
    response_model=list[KeyInfo],
    responses=keyed(KEYS),
)
async def list_keys(runtime: RuntimeDep, _principal: KeyAdmin) -> Response:
    return json_response(await keys.list_keys(runtime))


@router.delete(
    "/keys/{key_id}",
    summary="Revoke an API key",
    response_model=KeyInfo,
    responses={**keyed(KEYS), **INVALID, **NOT_FOUND},
)
async def revoke_key(
    runtime: RuntimeDep,
    _principal: KeyAdmin,
    key_id: Annotated[str, Path(max_length=64)],
) -> Response:
    return json_response(await keys.revoke_key(runtime, key_id))
