"""Auditing: replay a recorded decision, verify the log, its signed checkpoints and proofs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from service.api.actions import audit, replay
from service.api.auth import REPLAY, VERIFY
from service.api.deps import Replayer, RuntimeDep, Verifier
from service.api.errors import json_response
from service.api.models import (
    CheckpointJson,
    ConsistencyProofJson,
    InclusionProofJson,
    ReplayReport,
    VerifyResult,
)
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
    summary="Verify the decision log against its signed checkpoint",
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
    """Recomputes every record's hash and the Merkle tree from the records, checks the stored
    tree, the per-program index and the latest checkpoint's signature and root (over the whole
    log; a range checks its records only). Reports the first broken record."""
    return json_response(await audit.verify_chain(runtime, seq_from, seq_to))


# --- the transparency log -------------------------------------------------------------------

NOTE_EXAMPLE = (
    "eligibility/decisions\n42\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
    "— eligibility/decisions G1QiQAmfTlmg...\n"
)


@router.get(
    "/audit/checkpoint",
    summary="The latest signed checkpoint",
    response_model=CheckpointJson,
    responses={
        200: {
            "description": "the signed note (text/plain, Go sumdb / C2SP tlog-checkpoint), or"
            " JSON when Accept asks for application/json",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": NOTE_EXAMPLE}},
        },
        **keyed(VERIFY),
        **NOT_FOUND,
    },
)
async def get_checkpoint(request: Request, runtime: RuntimeDep, _principal: Verifier) -> Response:
    """The tree size and root of the whole log, signed with the log's Ed25519 key. Keep it: an
    exported log, or a later checkpoint, is checked against it (consistency)."""
    latest = await audit.latest_checkpoint(runtime)
    if "application/json" in request.headers.get("accept", ""):
        return json_response(audit.checkpoint_json(latest, runtime.log_key.origin))
    return Response(latest.note, media_type="text/plain; charset=utf-8")


@router.get(
    "/audit/proof/inclusion",
    summary="Inclusion proof of a decision",
    response_model=InclusionProofJson,
    responses={**keyed(VERIFY), **INVALID, **NOT_FOUND},
)
async def get_inclusion_proof(
    runtime: RuntimeDep,
    _principal: Verifier,
    decision_id: Annotated[
        str, Query(pattern="^[0-9a-f]{32}$", description="the decision's id (32 hex digits)")
    ],
    tree_size: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="a tree size up to the latest checkpoint's (default)"),
    ] = None,
) -> Response:
    """RFC 9162 §2.1.3: the hashes that lead from the decision's leaf to the root of the tree of
    ``tree_size`` records. Verify it against a checkpoint of that size."""
    return json_response(await audit.inclusion_proof(runtime, decision_id, tree_size))


@router.get(
    "/audit/proof/consistency",
    summary="Consistency proof between two tree sizes",
    response_model=ConsistencyProofJson,
    responses={**keyed(VERIFY), **INVALID},
)
async def get_consistency_proof(
    runtime: RuntimeDep,
    _principal: Verifier,
    first: Annotated[int, Query(ge=1, le=2**62, description="the older tree size (one you kept)")],
    second: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="the newer tree size (default: the latest checkpoint)"),
    ] = None,
) -> Response:
    """RFC 9162 §2.1.4: proves that the tree of ``second`` records extends the tree of
    ``first``: nothing kept earlier was changed, removed or reordered."""
    return json_response(await audit.consistency_proof(runtime, first, second))
