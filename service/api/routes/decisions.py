"""``/v1/decisions``: record a decision, list them, read one."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from service.api import idempotency
from service.api.actions import audit, decisions
from service.api.auth import READ, RECORD
from service.api.deps import Reader, Recorder, RuntimeDep
from service.api.errors import json_response
from service.api.models import DecisionPage, DecisionRecord, ProgramName, StatusName
from service.api.openapi import ALTERED, INVALID, NOT_FOUND, REQUEST_BODY, error, keyed
from service.contract.response import EvaluationResponse

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

IDEMPOTENCY_KEY = (
    "Optional, recommended (IETF httpapi draft). A key unique to this request, chosen by the"
    " client, at most 255 visible ASCII characters, as a quoted string; scoped to the API key."
    " Sent again with the same body (a retry after a lost answer, a timeout or a 503), it gives"
    " back the first answer (201, the same decision id and bytes, `Idempotent-Replayed: true`)"
    " and records nothing; with another body it is refused (422); while the first request is"
    " still being recorded, 409."
)
IDEMPOTENCY_CONFLICT = {
    409: error("a request with this Idempotency-Key is still being recorded: retry later")
}


@router.post(
    "",
    status_code=201,
    summary="Evaluate and record a decision",
    response_model=EvaluationResponse,
    responses={**keyed(RECORD), **INVALID, **IDEMPOTENCY_CONFLICT},
    openapi_extra=REQUEST_BODY,
)
async def record_decision(
    request: Request,
    runtime: RuntimeDep,
    principal: Recorder,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description=IDEMPOTENCY_KEY,
            examples=['"8e03978e-40d5-43e8-bc93-6894a57f9324"'],
        ),
    ] = None,
) -> Response:
    """Evaluates the request and appends it to the decision log; answers once committed. With
    an ``Idempotency-Key``, a retry gets the first answer back instead of a second record."""
    # Read raw, as the fast path does: an empty value or a repeated header is refused, not
    # taken as "no key" (the parameter above is for the documentation).
    key = idempotency.header_value(request.scope["headers"])
    recorded = await decisions.record(runtime, principal, await request.body(), key)
    request.state.decision_id = recorded.decision_id
    return decisions.created(recorded)


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
