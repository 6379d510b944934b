"""``/v1/rulesets``: the jurisdictions, the bundle in force on a date, changes between dates."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from service.api.actions import rulesets
from service.api.auth import RULES
from service.api.deps import RuleReader, RuntimeDep
from service.api.errors import json_response
from service.api.openapi import INVALID, NOT_FOUND, keyed

router = APIRouter(prefix="/v1/rulesets", tags=["rules"])


@router.get("", summary="Jurisdictions and their versions", responses=keyed(RULES))
async def list_rulesets(runtime: RuntimeDep, _principal: RuleReader) -> Response:
    return json_response(rulesets.list_rulesets(runtime))


@router.get(
    "/{jurisdiction:path}/diff",
    summary="Parameters changed between the bundles in force on two dates",
    responses={**keyed(RULES), **INVALID, **NOT_FOUND},
)
async def diff_ruleset(
    runtime: RuntimeDep,
    _principal: RuleReader,
    jurisdiction: str,
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
) -> Response:
    return json_response(rulesets.diff_ruleset(runtime, jurisdiction, date_from, date_to))


@router.get(
    "/{jurisdiction:path}",
    summary="The resolved bundle, its hash and the provenance of each parameter",
    responses={**keyed(RULES), **INVALID, **NOT_FOUND},
)
async def show_ruleset(
    runtime: RuntimeDep,
    _principal: RuleReader,
    jurisdiction: str,
    as_of: Annotated[date | None, Query(description="default: today")] = None,
) -> Response:
    return json_response(rulesets.show_ruleset(runtime, jurisdiction, as_of))
