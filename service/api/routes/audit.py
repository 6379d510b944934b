"""Auditing: replay a recorded decision, verify the hash chain."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from service.api.actions import audit, replay
from service.api.auth import REPLAY, VERIFY
from service.api.deps import Replayer, RuntimeDep, Verifier
from service.api.errors import json_response
from service.api.models import ReplayReport, VerifyResult
from service.api.openapi import ALTERED, INVALID, NOT_FOUND, keyed

router = APIRouter(prefix="/v1", tags=["audit"])


@router.post(
    "/decisions/{decision_id}/replay",
    summary="Re-evaluate a stored decision",
    response_model=ReplayReport,
    responses={**keyed(REPLAY), **INVALID, **NOT_FOUND, **ALTERED},
)
async def replay_decision(
    runtime: RuntimeDep,
    principal: Replayer,
    decision_id: Annotated[str, Path(max_length=64)],
    rules: Annotated[
        Literal["stored", "current"],
        Query(
            description="stored: the bundle recorded with the decision (by hash);"
            " current: the rules in force today"
        ),
    ] = "stored",
    as_of: Annotated[
        date | None, Query(description="instead: the rules in force on this date")
    ] = None,
) -> Response:
    """With the stored bundle the result must be identical; otherwise the diff says what
    would change under other rules."""
    report = await replay.replay_decision(runtime, principal, decision_id, rules, as_of)
    return json_response(report)


@router.get(
    "/audit/verify",
    summary="Verify the hash chain",
    response_model=VerifyResult,
    responses={**keyed(VERIFY), **INVALID},
)
async def verify_chain(
    runtime: RuntimeDep,
    _principal: Verifier,
    seq_from: Annotated[
        int | None, Query(alias="from", ge=1, description="first record (seq)")
    ] = None,
    seq_to: Annotated[int | None, Query(alias="to", ge=1, description="last record (seq)")] = None,
) -> Response:
    """Walks the records in order and reports the first broken or missing link."""
    return json_response(await audit.verify_chain(runtime, seq_from, seq_to))
