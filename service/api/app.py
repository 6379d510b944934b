"""The HTTP service: ``create_app(settings)`` builds the FastAPI application.

Every endpoint speaks JSON and is in the OpenAPI document (``/openapi.json``, ``/docs``).
Decision data is served only to a valid API key of a role allowed to see it.
"""

from __future__ import annotations

import gc
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.api import core, metrics, openapi
from service.api.auth import (
    CASELOAD,
    EVALUATE,
    KEYS,
    READ,
    RECORD,
    RELOAD,
    REPLAY,
    RULES,
    VERIFY,
    Principal,
    presented_secret,
)
from service.api.errors import (
    ApiError,
    error_response,
    json_response,
    not_found,
    problems_from_request_validation,
    unavailable,
)
from service.api.fastpath import fast_routes
from service.api.logs import configure_logging, get_logger
from service.api.middleware import ServiceMiddleware
from service.api.openapi import INVALID, NOT_FOUND, REQUEST_BODY, keyed
from service.api.replay import decision_changes, diff_documents
from service.api.runtime import Runtime
from service.api.settings import Settings
from service.contract.errors import problem
from service.contract.request import PROGRAM_IDS, EvaluationRequest
from service.contract.response import EvaluationResponse
from service.engine import (
    ENGINE_VERSION,
    BeforeFirstVersion,
    Bundle,
    RequestRejected,
    RuleBase,
    RuleSetError,
    UnknownJurisdiction,
    diff_bundles,
    evaluate,
)
from service.store import ROLES, BundleIntegrityError, InvalidCursorError
from service.store.records import StoredDecision

log = get_logger("app")

ProgramName = Literal["tekun", "dibao", "marginal", "rigid_expenditure", "temporary"]
StatusName = Literal["eligible", "ineligible", "insufficient_data", "not_applicable"]
assert set(PROGRAM_IDS) == set(ProgramName.__args__)  # type: ignore[attr-defined]

_DECISION_ID = re.compile(r"[0-9a-f]{32}")
_SORT = orjson.OPT_SORT_KEYS


# --- documentation-only models ----------------------------------------------------------------


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class DecisionSummary(_Doc):
    decision_id: str
    seq: int
    created_at: str
    jurisdiction: str
    as_of: date
    actor: str
    bundle_sha256: str
    programs: dict[str, str] = Field(description="program → status")


class DecisionPage(_Doc):
    items: list[DecisionSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: last")


class DecisionRecord(_Doc):
    decision_id: str
    seq: int
    created_at: str
    actor: str
    jurisdiction: str
    as_of: date
    engine_version: str
    bundle_sha256: str
    prev_hash: str
    record_hash: str
    request: dict[str, Any] = Field(description="the stored request, without names or ID numbers")
    personal: dict[str, dict[str, str]] = Field(
        description="member id → name/ID-number pseudonyms (HMAC) and masked forms"
    )
    response: EvaluationResponse


class DiffEntry(_Doc):
    path: str
    stored: Any
    replayed: Any


class BundleRef(_Doc):
    jurisdiction: str
    version: str
    sha256: str
    components: list[str]


class ReplayReport(_Doc):
    decision_id: str
    rules: Literal["stored", "current", "as_of"]
    stored_bundle: BundleRef
    bundle: BundleRef
    identical: bool = Field(description="the replayed response equals the stored one exactly")
    decision_identical: bool = Field(
        description="the same statuses, amounts, trace steps and values; any difference is in"
        " the wording of the explanation or the engine version only"
    )
    diff: list[DiffEntry]
    rule_changes: list[dict[str, Any]] = Field(
        default_factory=list, description="parameters that differ between the two bundles"
    )


class VerifyResult(_Doc):
    ok: bool
    checked: int
    first_broken: dict[str, Any] | None = Field(description="seq, decision_id and reason")
    head_seq: int


class ReadyReport(_Doc):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(description="database, schema, rules: ok, or what is wrong")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["intake", "integrator", "auditor", "admin"]
    name: str = Field(min_length=1, max_length=200)


class KeyInfo(_Doc):
    key_id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None


class KeyCreated(KeyInfo):
    key: str = Field(description="the secret: shown once, never stored")


assert set(KeyCreate.model_fields["role"].annotation.__args__) == set(ROLES)  # type: ignore[union-attr]

ALTERED = {409: openapi.error("the stored record or its rule bundle was altered or is unreadable")}

# --- authentication ---------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")


def require(permission: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        api_key: Annotated[str | None, Security(_api_key)],
    ) -> Principal:
        secret = presented_secret(bearer.credentials if bearer else None, api_key)
        principal = await core.authorize(_runtime(request), secret, permission)
        request.state.principal = principal
        core.check_role(principal, permission)
        return principal

    dependency.__name__ = f"require_{permission}"
    return dependency


# --- helpers ----------------------------------------------------------------------------------


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _bundle_ref(bundle: Bundle) -> dict[str, Any]:
    return {
        "jurisdiction": bundle.jurisdiction,
        "version": bundle.version.isoformat(),
        "sha256": bundle.sha256,
        "components": list(bundle.components),
    }


def _summary(decision: StoredDecision) -> dict[str, Any]:
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


def _stored_documents(decision: StoredDecision) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        stored_request = orjson.loads(decision.request_json)
        stored_response = orjson.loads(decision.response_json)
        stored_request["request"]  # noqa: B018 -- shape check
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ApiError(
            409,
            [
                problem(
                    "",
                    "存储的记录无法读取（已被改动？）",
                    "the stored record cannot be read (altered?)",
                    "record_unreadable",
                )
            ],
        ) from None
    return stored_request, stored_response


def _rules_problem(path: str, error: UnknownJurisdiction | BeforeFirstVersion) -> dict[str, str]:
    if isinstance(error, UnknownJurisdiction):
        known = ", ".join(error.known)
        return problem(
            path,
            f"未知的辖区，可用：{known}",
            f"unknown jurisdiction; known: {known}",
            "unknown_jurisdiction",
        )
    first = error.first.isoformat()
    return problem(
        path,
        f"该日期早于本辖区最早的规则版本（{first}）",
        f"before the first rule version of this jurisdiction ({first})",
        "before_first_version",
    )


def _resolve(
    base: RuleBase, jurisdiction: str, as_of: date, *, date_path: str, missing_status: int = 404
) -> Bundle:
    try:
        return base.resolve(jurisdiction, as_of)
    except UnknownJurisdiction as error:
        raise ApiError(missing_status, [_rules_problem("jurisdiction", error)]) from None
    except BeforeFirstVersion as error:
        raise ApiError(422, [_rules_problem(date_path, error)]) from None


# --- the application --------------------------------------------------------------------------


def create_app(
    settings: Settings | None = None, *, log_stream: Any = None, rule_base: RuleBase | None = None
) -> FastAPI:
    """The FastAPI application for ``settings`` (default: from the environment).

    ``rule_base``: rules already loaded from ``settings.rules_dir`` (tests share one).
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, log_stream)
    runtime = Runtime(settings, rule_base=rule_base)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not await run_in_threadpool(runtime.ensure_schema):
            log.warning("database not ready at start", extra={"problem": runtime.schema_problem})
        runtime.start_background()
        # Everything loaded so far (rules, models, code) lives as long as the process: keep
        # the cyclic garbage collector from scanning it again and again.
        gc.collect()
        gc.freeze()
        yield
        await runtime.writer.close()  # on the loop: the PostgreSQL writer's connection lives here
        await run_in_threadpool(runtime.close)

    # Swagger UI's script and style sheet come from the fastapi-offline package, served by the
    # service itself: government intranets have no internet, and a CDN page is blank there.
    # ReDoc is left out (its bundle loads its logo from its own CDN); the validator badge, Swagger
    # UI's one call to another host, is off.
    app = FastAPIOffline(
        redoc_url=None,
        favicon_url=None,
        swagger_ui_parameters={"validatorUrl": None},
        title=openapi.TITLE,
        version=ENGINE_VERSION,
        description=openapi.DESCRIPTION,
        # Operation ids are the handlers' names (record_decision): a generated client's functions.
        generate_unique_id_function=lambda route: route.name,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.add_middleware(
        ServiceMiddleware,
        max_body_bytes=settings.max_body_bytes,
        access_log_enabled=settings.access_log,
        fast_routes=fast_routes(runtime) if settings.fast_path else None,
        # A caseload is many requests in one body; it has its own, larger limit.
        body_limits={"/v1/caseload/whatif": _caseload_max_bytes()},
    )
    _install_error_handlers(app, settings)
    _install_routes(app)
    _install_caseload(app, runtime)
    _install_openapi(app, runtime, settings)
    return app


def _caseload_max_bytes() -> int:
    from service.caseload.http import MAX_BYTES

    return MAX_BYTES + 1  # the router answers 413 itself, with its own message, above this


def _install_caseload(app: FastAPI, runtime: Runtime) -> None:
    """``POST /v1/caseload/whatif`` (service.caseload), for admin and auditor keys."""
    from service.caseload.http import caseload_router

    app.include_router(
        caseload_router(runtime.rule_base, require(CASELOAD)),
        responses={**keyed(CASELOAD), **INVALID},
        generate_unique_id_function=lambda route: f"caseload_{route.name}",
    )


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process builds its own app)."""
    # The decision writer thread holds the GIL in bursts; a shorter switch interval hands it
    # back to the event loop sooner (latency of the other requests), at a negligible cost.
    sys.setswitchinterval(0.001)
    return create_app(Settings.from_env())


def _install_error_handlers(app: FastAPI, settings: Settings) -> None:
    async def api_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.problems, error.headers or None)

    async def validation_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return error_response(422, problems_from_request_validation(error.errors()))

    async def http_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404:
            body = [problem("", "未找到该地址", "no such endpoint", "not_found")]
        elif error.status_code == 405:
            body = [problem("", "不支持该请求方法", "method not allowed", "method_not_allowed")]
        else:
            text = str(error.detail)
            body = [problem("", text, text, "http_error")]
        return error_response(error.status_code, body, getattr(error, "headers", None))

    async def database_error(_request: Request, error: Exception) -> Response:
        log.warning("database unavailable", extra={"error": type(error).__name__})
        return unavailable(settings.retry_after_seconds)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for kind in core.DATABASE_ERRORS:
        app.add_exception_handler(kind, database_error)


def _install_routes(app: FastAPI) -> None:  # noqa: C901 -- one place lists every endpoint
    # --- decisions ----------------------------------------------------------------------------

    @app.post(
        "/v1/decisions",
        status_code=201,
        tags=["decisions"],
        summary="Evaluate and record a decision",
        response_model=EvaluationResponse,
        responses={**keyed(RECORD), **INVALID},
        openapi_extra=REQUEST_BODY,
    )
    async def record_decision(
        request: Request, principal: Annotated[Principal, Depends(require(RECORD))]
    ) -> Response:
        """Evaluates the request and appends it to the decision log; answers once committed."""
        decision_id, payload = await core.record(_runtime(request), principal, await request.body())
        request.state.decision_id = decision_id
        return Response(
            payload,
            status_code=201,
            media_type="application/json",
            headers={"Location": f"/v1/decisions/{decision_id}"},
        )

    @app.post(
        "/v1/evaluate",
        tags=["decisions"],
        summary="Evaluate without recording",
        response_model=EvaluationResponse,
        responses={**keyed(EVALUATE), **INVALID},
        openapi_extra=REQUEST_BODY,
    )
    async def evaluate_only(
        request: Request, _principal: Annotated[Principal, Depends(require(EVALUATE))]
    ) -> Response:
        """The same evaluation as ``POST /v1/decisions``; nothing is stored."""
        payload = core.evaluate_only(_runtime(request), await request.body())
        return Response(payload, media_type="application/json")

    @app.get(
        "/v1/decisions",
        tags=["decisions"],
        summary="List decisions (cursor-paginated, newest first)",
        response_model=DecisionPage,
        responses={**keyed(READ), **INVALID},
    )
    async def list_decisions(
        request: Request,
        principal: Annotated[Principal, Depends(require(READ))],
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
        store = _runtime(request).store
        try:
            page, next_cursor = await run_in_threadpool(
                lambda: store.list(
                    jurisdiction=jurisdiction,
                    date_from=date_from,
                    date_to=date_to,
                    program=program,
                    status=status,
                    actor=None if principal.reads_all else principal.key_id,
                    cursor=cursor,
                    limit=limit,
                )
            )
        except InvalidCursorError as error:
            raise ApiError(
                422,
                [problem("query.cursor", "无效的分页游标", str(error), "invalid_cursor")],
            ) from None
        return json_response({"items": [_summary(d) for d in page], "next_cursor": next_cursor})

    async def _load_decision(request: Request, principal: Principal, decision_id: str):
        if not _DECISION_ID.fullmatch(decision_id):
            raise not_found("该决定", "decision", "decision_id")
        decision = await run_in_threadpool(_runtime(request).store.get, decision_id)
        if decision is None or not (principal.reads_all or decision.actor == principal.key_id):
            # Someone else's decision is as unknown to this key as a missing one.
            raise not_found("该决定", "decision", "decision_id")
        return decision

    @app.get(
        "/v1/decisions/{decision_id}",
        tags=["decisions"],
        summary="One recorded decision",
        response_model=DecisionRecord,
        responses={**keyed(READ), **INVALID, **NOT_FOUND, **ALTERED},
    )
    async def get_decision(
        request: Request,
        principal: Annotated[Principal, Depends(require(READ))],
        decision_id: Annotated[str, Path(max_length=64)],
    ) -> Response:
        """The stored request (pseudonymised), the response and the record's chain hashes."""
        decision = await _load_decision(request, principal, decision_id)
        stored_request, stored_response = _stored_documents(decision)
        return json_response(
            {
                **_summary(decision),
                "engine_version": decision.engine_version,
                "prev_hash": decision.prev_hash,
                "record_hash": decision.record_hash,
                "request": stored_request["request"],
                "personal": stored_request.get("personal", {}),
                "response": {"decision_id": decision.id, **stored_response},
            }
        )

    @app.post(
        "/v1/decisions/{decision_id}/replay",
        tags=["audit"],
        summary="Re-evaluate a stored decision",
        response_model=ReplayReport,
        responses={**keyed(REPLAY), **INVALID, **NOT_FOUND, **ALTERED},
    )
    async def replay_decision(
        request: Request,
        principal: Annotated[Principal, Depends(require(REPLAY))],
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
        runtime = _runtime(request)
        if as_of is not None and rules == "current":
            raise ApiError(
                422,
                [
                    problem(
                        "query.as_of",
                        "rules=current 与 as_of 不能同时使用",
                        "give either rules=current or as_of, not both",
                        "conflicting_parameters",
                    )
                ],
            )
        decision = await _load_decision(request, principal, decision_id)
        stored_request, stored_response = _stored_documents(decision)
        try:
            bundle_text = await run_in_threadpool(runtime.store.get_bundle, decision.bundle_sha256)
        except BundleIntegrityError:
            bundle_text = None
        if bundle_text is None:
            raise ApiError(
                409,
                [
                    problem(
                        "",
                        "存储的规则包缺失或已被改动",
                        "the stored rule bundle is missing or was altered",
                        "bundle_integrity",
                    )
                ],
            )
        try:
            stored_bundle = Bundle.from_canonical(bundle_text)
            parsed = runtime.decider.parse(stored_request["request"])
        except (RuleSetError, RequestRejected, ValueError, KeyError):
            raise ApiError(
                409,
                [
                    problem(
                        "",
                        "存储的记录无法重新评估",
                        "the stored record can no longer be evaluated",
                        "record_unreadable",
                    )
                ],
            ) from None
        mode = "stored"
        target = stored_bundle
        if rules == "current" or as_of is not None:
            mode = "current" if as_of is None else "as_of"
            on = as_of or date.today()
            target = _resolve(
                runtime.rule_base(),
                decision.jurisdiction,
                on,
                date_path="query.as_of",
                missing_status=409,
            )
        replayed = orjson.loads(orjson.dumps(evaluate(parsed, target)))
        diff = diff_documents(stored_response, replayed)
        return json_response(
            {
                "decision_id": decision.id,
                "rules": mode,
                "stored_bundle": _bundle_ref(stored_bundle),
                "bundle": _bundle_ref(target),
                "identical": not diff,
                "decision_identical": not decision_changes(diff),
                "diff": diff,
                "rule_changes": diff_bundles(stored_bundle, target) if mode != "stored" else [],
            }
        )

    # --- audit --------------------------------------------------------------------------------

    @app.get(
        "/v1/audit/verify",
        tags=["audit"],
        summary="Verify the hash chain",
        response_model=VerifyResult,
        responses={**keyed(VERIFY), **INVALID},
    )
    async def verify_chain(
        request: Request,
        _principal: Annotated[Principal, Depends(require(VERIFY))],
        seq_from: Annotated[
            int | None, Query(alias="from", ge=1, description="first record (seq)")
        ] = None,
        seq_to: Annotated[
            int | None, Query(alias="to", ge=1, description="last record (seq)")
        ] = None,
    ) -> Response:
        """Walks the records in order and reports the first broken or missing link."""
        store = _runtime(request).store
        report = await run_in_threadpool(lambda: store.verify(seq_from=seq_from, seq_to=seq_to))
        head = await run_in_threadpool(store.head)
        broken = None
        if not report.ok:
            broken = {
                "seq": report.first_broken_seq,
                "decision_id": report.first_broken_id,
                "reason": report.reason,
            }
        return json_response(
            {
                "ok": report.ok,
                "checked": report.checked,
                "first_broken": broken,
                "head_seq": head.seq,
            }
        )

    # --- rule sets ----------------------------------------------------------------------------

    @app.get(
        "/v1/rulesets",
        tags=["rules"],
        summary="Jurisdictions and their versions",
        responses=keyed(RULES),
    )
    async def list_rulesets(
        request: Request, _principal: Annotated[Principal, Depends(require(RULES))]
    ) -> Response:
        rows = _runtime(request).rule_base().describe()
        return json_response({"jurisdictions": rows})

    @app.get(
        "/v1/rulesets/{jurisdiction:path}/diff",
        tags=["rules"],
        summary="Parameters changed between the bundles in force on two dates",
        responses={**keyed(RULES), **INVALID, **NOT_FOUND},
    )
    async def diff_ruleset(
        request: Request,
        _principal: Annotated[Principal, Depends(require(RULES))],
        jurisdiction: str,
        date_from: Annotated[date, Query(alias="from")],
        date_to: Annotated[date, Query(alias="to")],
    ) -> Response:
        base = _runtime(request).rule_base()
        old = _resolve(base, jurisdiction, date_from, date_path="query.from")
        new = _resolve(base, jurisdiction, date_to, date_path="query.to")
        return json_response(
            {
                "jurisdiction": jurisdiction,
                "from": {"date": date_from.isoformat(), **_bundle_ref(old)},
                "to": {"date": date_to.isoformat(), **_bundle_ref(new)},
                "changes": diff_bundles(old, new),
            }
        )

    @app.get(
        "/v1/rulesets/{jurisdiction:path}",
        tags=["rules"],
        summary="The resolved bundle, its hash and the provenance of each parameter",
        responses={**keyed(RULES), **INVALID, **NOT_FOUND},
    )
    async def show_ruleset(
        request: Request,
        _principal: Annotated[Principal, Depends(require(RULES))],
        jurisdiction: str,
        as_of: Annotated[date | None, Query(description="default: today")] = None,
    ) -> Response:
        base = _runtime(request).rule_base()
        on = as_of or date.today()
        bundle = _resolve(base, jurisdiction, on, date_path="query.as_of")
        data = bundle.canonical()
        data["as_of"] = on.isoformat()
        data["sha256"] = bundle.sha256
        data["origins"] = dict(sorted(bundle.origins.items()))
        return json_response(data)

    # --- administration -----------------------------------------------------------------------

    @app.post(
        "/v1/admin/rulesets/reload",
        tags=["admin"],
        summary="Reload rules/ atomically",
        responses={**keyed(RELOAD), **INVALID},
    )
    async def reload_rules(
        request: Request, _principal: Annotated[Principal, Depends(require(RELOAD))]
    ) -> Response:
        """An invalid rule set is refused with its problems; the previous rules keep serving."""
        runtime = _runtime(request)
        try:
            base = await run_in_threadpool(runtime.reload_rules)
        except RuleSetError as error:
            raise ApiError(
                422,
                [
                    {
                        **problem(
                            f"{p.file}: {p.path}" if p.path else p.file,
                            f"规则文件无效：{p.reason_zh or p.reason}",
                            p.reason,
                            "rule_set_invalid",
                        ),
                        "file": p.file,
                    }
                    for p in error.problems
                ],
            ) from None
        log.info("rules reloaded", extra={"jurisdictions": len(base.known())})
        return json_response(
            {
                "reloaded": True,
                "jurisdictions": {
                    j: [v.effective_from.isoformat() for v in base.versions[j]]
                    for j in base.known()
                },
            }
        )

    def _key_info(key: Any) -> dict[str, Any]:
        return {
            "key_id": key.id,
            "name": key.name,
            "role": key.role,
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        }

    @app.post(
        "/v1/admin/keys",
        status_code=201,
        tags=["admin"],
        summary="Create an API key (its secret is shown once)",
        response_model=KeyCreated,
        responses={**keyed(KEYS), **INVALID},
    )
    async def create_key(
        request: Request,
        body: KeyCreate,
        _principal: Annotated[Principal, Depends(require(KEYS))],
    ) -> Response:
        store = _runtime(request).store
        key_id, secret = await run_in_threadpool(store.create_key, body.role, body.name)
        key = await run_in_threadpool(store.get_key, key_id)
        return json_response({**_key_info(key), "key": secret}, 201)

    @app.get(
        "/v1/admin/keys",
        tags=["admin"],
        summary="List API keys (never their secrets)",
        response_model=list[KeyInfo],
        responses=keyed(KEYS),
    )
    async def list_keys(
        request: Request, _principal: Annotated[Principal, Depends(require(KEYS))]
    ) -> Response:
        keys = await run_in_threadpool(_runtime(request).store.list_keys)
        return json_response([_key_info(k) for k in keys])

    @app.delete(
        "/v1/admin/keys/{key_id}",
        tags=["admin"],
        summary="Revoke an API key",
        response_model=KeyInfo,
        responses={**keyed(KEYS), **INVALID, **NOT_FOUND},
    )
    async def revoke_key(
        request: Request,
        _principal: Annotated[Principal, Depends(require(KEYS))],
        key_id: Annotated[str, Path(max_length=64)],
    ) -> Response:
        runtime = _runtime(request)
        if not await run_in_threadpool(runtime.store.revoke, key_id):
            raise not_found("该有效密钥", "active key", "key_id")
        runtime.auth.forget(key_id)
        key = await run_in_threadpool(runtime.store.get_key, key_id)
        return json_response(_key_info(key))

    # --- operations ---------------------------------------------------------------------------

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Database reachable and rules loaded",
        response_model=ReadyReport,
        responses={503: {"model": ReadyReport, "description": "not ready (Retry-After)"}},
    )
    async def readyz(request: Request) -> Response:
        runtime = _runtime(request)
        database = await run_in_threadpool(runtime.store.ping)
        schema = database and await run_in_threadpool(runtime.ensure_schema)
        base = runtime.rule_base()
        rules = bool(base.known())
        ready = database and schema and rules
        checks = {
            "database": "ok" if database else "unreachable",
            "schema": "ok" if schema else (runtime.schema_problem or "unknown"),
            "rules": f"{len(base.known())} jurisdictions" if rules else "none loaded",
        }
        headers = None if ready else {"Retry-After": str(runtime.settings.retry_after_seconds)}
        return json_response(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            200 if ready else 503,
            headers,
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        responses={200: {"content": {"text/plain": {}}}},
    )
    async def prometheus_metrics() -> Response:
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=metrics.CONTENT_TYPE)


def _install_openapi(app: FastAPI, runtime: Runtime, settings: Settings) -> None:
    """The document FastAPI builds, completed by :func:`service.api.openapi.complete`."""

    def evaluate_example(body: bytes) -> dict[str, Any] | None:
        try:  # the code the endpoints run
            _, _, response = core.evaluate_body(runtime, body)
        except ApiError:
            return None  # the rules loaded do not cover this example
        return orjson.loads(orjson.dumps(response))  # type: ignore[no-any-return]

    def invalid_request() -> list[dict[str, Any]]:
        try:  # a member without a birth date, a negative income: what the parser answers
            runtime.decider.parse(
                {
                    "jurisdiction": "wuhan",
                    "household": {
                        "members": [{"id": "m1", "relation": "applicant"}],
                        "income": [{"member": "m1", "type": "wage", "monthly": "-1"}],
                    },
                }
            )
        except RequestRejected as rejected:
            return list(rejected.problems)
        raise AssertionError("the refused example was accepted")

    def openapi_document() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        app.openapi_schema = openapi.complete(
            schema,
            request_schema=EvaluationRequest.model_json_schema(
                ref_template="#/components/schemas/{model}"
            ),
            evaluate=evaluate_example,
            invalid_request=invalid_request(),
            body_limit=lambda path: (
                _caseload_max_bytes() if path == "/v1/caseload/whatif" else settings.max_body_bytes
            ),
        )
        return app.openapi_schema

    app.openapi = openapi_document  # type: ignore[method-assign]
