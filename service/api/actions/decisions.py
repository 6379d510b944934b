"""Deciding, recording and reading decisions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.api import errors, idempotency, metrics
from service.api.auth import Principal
from service.api.logs import get_logger
from service.api.runtime import Runtime
from service.contract.errors import CONTROL_CHARACTERS, Refusal, control_characters
from service.contract.request import EvaluationRequest
from service.engine import Bundle, RequestRejected, evaluate
from service.engine.dates import CalendarOverflow
from service.store import InvalidCursorError
from service.store.errors import DamagedRecordError, IdempotencyKeyTaken
from service.store.records import StoredDecision

_SORT = orjson.OPT_SORT_KEYS
JSON = "application/json"
_DECISION_ID = re.compile(r"[0-9a-f]{32}")
log = get_logger("decisions")


def decide(runtime: Runtime, body: bytes) -> tuple[EvaluationRequest, Bundle, dict[str, Any]]:
    """Parse once (pydantic from bytes), resolve, evaluate; 422 with the contract's problems."""
    base = runtime.rule_base()  # one rule base for the whole request, even during a reload
    try:
        parsed = runtime.decider.parse(body)
        bundle = runtime.decider.bundle_for(parsed, base)
        response = evaluate(parsed, bundle)
    except RequestRejected as rejected:
        raise Refusal(422, rejected.problems) from None
    except CalendarOverflow as overflow:  # a date too late for the rules to count forward from
        raise Refusal(422, [overflow.problem(parsed)]) from None
    return parsed, bundle, response


@dataclass(frozen=True)
class Recorded:
    """The answer to ``POST /v1/decisions``: the decision, its response JSON, and whether it was
    recorded by an earlier request with the same idempotency key (``replayed``)."""

    decision_id: str
    payload: bytes
    replayed: bool = False


def _payload(decision_id: str, response_json: bytes) -> bytes:
    # The stored (sorted) serialisation, with decision_id first: the very bytes of the first
    # answer, whether just recorded or read back for a retry.
    return b'{"decision_id":"' + decision_id.encode() + b'",' + response_json[1:]


async def record(
    runtime: Runtime, principal: Principal, body: bytes, idempotency_key: str | None = None
) -> Recorded:
    """Decide and append to the log; answers once the record is committed.

    With an ``Idempotency-Key`` (the header's value, as sent) a request is recorded at most
    once per API key: a retry of the same body gets the first answer back; another body under
    the same key is refused (422); a retry while the first is still being recorded in this
    process is refused (409)."""
    if idempotency_key is None:
        for _ in range(idempotency.MAX_ATTEMPTS):
            try:
                return await _record(runtime, principal, body, None)
            except IdempotencyKeyTaken:  # rolled back with a batch that held a taken key
                continue
        raise errors.unavailable(runtime.settings.retry_after_seconds)
    key = idempotency.Key.parse(idempotency_key, principal.key_id, runtime.pseudonymizer, body)
    with idempotency.in_flight(runtime, key):
        for _ in range(idempotency.MAX_ATTEMPTS):
            earlier = await _recorded_under(runtime, key)
            if earlier is not None:
                return earlier
            try:
                return await _record(runtime, principal, body, key)
            except IdempotencyKeyTaken:
                # Another request with this key (another worker) committed first, or one in
                # the same batch did and ours was rolled back with it: look again.
                continue
        raise errors.unavailable(runtime.settings.retry_after_seconds)


async def _recorded_under(runtime: Runtime, key: idempotency.Key) -> Recorded | None:
    """The first answer recorded under ``key``; 422 if it was recorded for another body."""
    found = await run_in_threadpool(runtime.store.find_idempotency, key.actor, key.key_hash)
    if found is None:
        return None
    request_hash, decision_id = found
    if request_hash != key.request_hash:
        raise errors.idempotency_key_reused()
    try:
        decision = await run_in_threadpool(runtime.store.get, decision_id)
    except DamagedRecordError as error:
        raise errors.record_damaged(error.seq, error.decision_id) from None
    if decision is None or not decision.response_json.startswith("{"):
        raise errors.record_damaged(decision.seq if decision else None, decision_id)
    return Recorded(decision.id, _payload(decision.id, decision.response_json.encode()), True)


async def _record(
    runtime: Runtime, principal: Principal, body: bytes, key: idempotency.Key | None
) -> Recorded:
    parsed, bundle, response = decide(runtime, body)
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
    if key is not None:
        item["idempotency"] = (key.key_hash, key.request_hash)
    stored = await runtime.writer.write(item)
    metrics.count_decisions(metrics.DECISIONS, bundle.jurisdiction, programs)
    return Recorded(stored.id, _payload(stored.id, response_bytes))


def created(recorded: Recorded) -> Response:
    """The 201 of a recorded decision (the first answer again for a replayed one)."""
    headers = {"Location": f"/v1/decisions/{recorded.decision_id}"}
    if recorded.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(recorded.payload, status_code=201, media_type=JSON, headers=headers)


def evaluate_only(runtime: Runtime, body: bytes) -> bytes:
    """The same decision as :func:`record`, not recorded; the response's JSON."""
    _, bundle, response = decide(runtime, body)
    metrics.count_decisions(metrics.EVALUATIONS, bundle.jurisdiction, response["programs"])
    return orjson.dumps(response)


@dataclass(frozen=True)
class DecisionFilter:
    """Which decisions to list (each field: None for any)."""

    jurisdiction: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    program: str | None = None
    status: str | None = None
    actor: str | None = None  # the key id that recorded them (an auditor's filter)


async def list_decisions(
    runtime: Runtime, principal: Principal, where: DecisionFilter, cursor: str | None, limit: int
) -> dict[str, Any]:
    """One page, newest first: the principal's own decisions, or all of them for an auditor.

    A damaged row (changed outside the service, no longer readable) is not shown: the page
    counts it in ``skipped_damaged`` and the log names it, so one bad row never hides the
    others."""
    if where.jurisdiction is not None and CONTROL_CHARACTERS.search(where.jurisdiction):
        raise Refusal(422, [control_characters("query.jurisdiction")])
    damaged: list[DamagedRecordError] = []
    actor = where.actor if principal.reads_all else principal.key_id
    if where.actor is not None and where.actor != actor:
        # another key's, asked by a non-auditor
        return {"items": [], "next_cursor": None, "skipped_damaged": 0}
    try:
        page, next_cursor = await run_in_threadpool(
            lambda: runtime.store.list(
                jurisdiction=where.jurisdiction,
                date_from=where.date_from,
                date_to=where.date_to,
                program=where.program,
                status=where.status,
                actor=actor,
                cursor=cursor,
                limit=limit,
                damaged=damaged,
            )
        )
    except InvalidCursorError as error:
        raise errors.invalid_cursor(str(error)) from None
    for error in damaged:
        log.warning(
            "damaged record skipped",
            extra={"seq": error.seq, "decision_id": error.decision_id, "field": error.field},
        )
    return {
        "items": [summary(d) for d in page],
        "next_cursor": next_cursor,
        "skipped_damaged": len(damaged),
    }


async def load_decision(runtime: Runtime, principal: Principal, decision_id: str) -> StoredDecision:
    """The stored decision if the principal may see it; someone else's is as unknown as a
    missing one (404); a damaged one is named (409)."""
    if not _DECISION_ID.fullmatch(decision_id):
        raise errors.not_found("该决定", "decision", "decision_id")
    try:
        decision = await run_in_threadpool(runtime.store.get, decision_id)
    except DamagedRecordError as error:
        # Whose it is cannot be trusted either: only a reader of every record learns of it.
        if not principal.reads_all:
            raise errors.not_found("该决定", "decision", "decision_id") from None
        raise errors.record_damaged(error.seq, error.decision_id) from None
    if decision is None or not (principal.reads_all or decision.actor == principal.key_id):
        raise errors.not_found("该决定", "decision", "decision_id")
    return decision


async def get_decision(runtime: Runtime, principal: Principal, decision_id: str) -> dict[str, Any]:
    """The stored request (pseudonymised), the response and the record's chain hashes."""
    decision = await load_decision(runtime, principal, decision_id)
    stored_request, stored_response = stored_documents(decision)
    return {
        **summary(decision),
        "engine_version": decision.engine_version,
        "prev_hash": decision.prev_hash,
        "record_hash": decision.record_hash,
        "request": stored_request["request"],
        "personal": stored_request.get("personal", {}),
        "response": {"decision_id": decision.id, **stored_response},
    }


def summary(decision: StoredDecision) -> dict[str, Any]:
    return {
        "decision_id": decision.id,
        "seq": decision.seq,
        "created_at": decision.created_at.isoformat(),
        "jurisdiction": decision.jurisdiction,
        "as_of": decision.as_of.isoformat(),
        "actor": decision.actor,
        "bundle_sha256": decision.bundle_sha256,
        "programs": dict(decision.programs_summary),
    }


def stored_documents(decision: StoredDecision) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored request document and response; 409 naming the record if they no longer read
    as such (JSON objects, the request under ``request``)."""
    try:
        stored_request = orjson.loads(decision.request_json)
        stored_response = orjson.loads(decision.response_json)
    except orjson.JSONDecodeError:
        raise errors.record_damaged(decision.seq, decision.id) from None
    if (
        not isinstance(stored_request, dict)
        or not isinstance(stored_request.get("request"), dict)
        or not isinstance(stored_request.get("personal", {}), dict)
        or not isinstance(stored_response, dict)
    ):
        raise errors.record_damaged(decision.seq, decision.id)
    return stored_request, stored_response
