"""``/v1/evaluate``: a decision, not recorded."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.api.actions import decisions
from service.api.auth import EVALUATE
from service.api.deps import Evaluator, RuntimeDep
from service.api.openapi import INVALID, REQUEST_BODY, keyed
from service.contract.response import EvaluationResponse

router = APIRouter(prefix="/v1/evaluate", tags=["decisions"])


@router.post(
    "",
    summary="Evaluate without recording",
    response_model=EvaluationResponse,
    responses={**keyed(EVALUATE), **INVALID},
    openapi_extra=REQUEST_BODY,
)
async def evaluate_only(request: Request, runtime: RuntimeDep, _principal: Evaluator) -> Response:
    """The same evaluation as ``POST /v1/decisions``; nothing is stored."""
    payload = decisions.evaluate_only(runtime, await request.body())
    return Response(payload, media_type="application/json")
