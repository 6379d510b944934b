"""``/v1/decisions``: record a decision, list them, read one."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from service.api.actions import audit, decisions
from service.api.auth import READ, RECORD
from service.api.deps import Reader, Recorder, RuntimeDep
from service.api.errors import json_response
from service.api.models import DecisionPage, DecisionRecord, ProgramName, StatusName
from service.api.openapi import ALTERED, INVALID, NOT_FOUND, REQUEST_BODY, keyed
from service.contract.response import EvaluationResponse

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])


@router.post(
    "",
    status_code=201,
    summary="Evaluate and record a decision",
    response_model=EvaluationResponse,
    responses={**keyed(RECORD), **INVALID},
    openapi_extra=REQUEST_BODY,
)
async def record_decision(request: Request, runtime: RuntimeDep, principal: Recorder) -> Response:
    """Evaluates the request and appends it to the decision log; answers once committed."""
    decision_id, payload = await decisions.record(runtime, principal, await request.body())
    request.state.decision_id = decision_id
    return Response(
        payload,
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/v1/decisions/{decision_id}"},
    )


@router.get(
    "",
    summary="List decisions (cursor-paginated, newest first)",
    response_model=DecisionPage,
    responses={**keyed(READ), **INVALID},
)
async def list_decisions(
    runtime: RuntimeDep,
    principal: Reader,
    jurisdiction: Annotated[str | None, Query(max_length=100)] = None,
    date_from: Annotated[
        date | None, Query(alias="from", description="as_of on or after (YYYY-MM-DD)")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="as_of on or before (YYYY-MM-DD)")
    ] = None,
    program: ProgramName | None = None,
    status: Annotated[
        StatusName | None,
        Query(description="with program: that program's status; alone: any program's"),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Intake and integrator keys see the decisions they recorded; auditors see all."""
    where = decisions.DecisionFilter(jurisdiction, date_from, date_to, program, status)
    page = await decisions.list_decisions(runtime, principal, where, cursor, limit)
    return json_response(page)


@router.get(
    "/{decision_id}",
    summary="One recorded decision",
    response_model=DecisionRecord,
    responses={**keyed(READ), **INVALID, **NOT_FOUND, **ALTERED},
)
async def get_decision(
    runtime: RuntimeDep,
    principal: Reader,
    decision_id: Annotated[str, Path(max_length=64)],
    proof: Annotated[
        bool,
        Query(description="add the record's inclusion proof against the latest checkpoint"),
    ] = False,
) -> Response:
    """The stored request (pseudonymised), the response and the record's chain hashes; with
    ``proof=true`` its inclusion proof and the signed checkpoint it leads to."""
    record = await decisions.get_decision(runtime, principal, decision_id)
    if proof:
        record["proof"] = await audit.decision_proof(runtime, decision_id)
    return json_response(record)
