"""Every error the HTTP service answers: built here, in the contract's body
``{"errors": [{path, reason_zh, reason_en, type}]}``.

Handlers raise a :class:`~service.contract.errors.Refusal` made by one of the functions below;
the exception handlers (:func:`install_handlers`), the fast path and the middleware turn it into
a response with :func:`response_for`. Messages never repeat a submitted value (it may be a name
or an ID number).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from service.api.logs import get_logger
from service.contract.errors import Refusal, problem, problems_from_errors
from service.engine import BeforeFirstVersion, RuleSetError, UnknownJurisdiction, rules_problem
from service.store import StoreBusyError
from service.store.errors import LogDamagedError, StoreUnavailableError

JSON = "application/json"
log = get_logger("app")


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or its schema is not the one this code needs."""


# Every error that means "the database is not answering": 503 with Retry-After.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    DBAPIError,
    PoolTimeoutError,
    StoreBusyError,
    StoreUnavailableError,
    DatabaseUnavailable,
)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(data, default=str), status_code=status, media_type=JSON, headers=headers
    )


def error_body(problems: Iterable[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """The contract's error body (``schemas/error.schema.json``)."""
    return {"errors": list(problems)}


def response_for(refusal: Refusal) -> Response:
    """The error body of a refusal, with its status and headers."""
    return json_response(error_body(refusal.problems), refusal.status, refusal.headers or None)


def _one(status: int, path: str, zh: str, en: str, type_: str, **headers: str) -> Refusal:
    return Refusal(status, [problem(path, zh, en, type_)], headers)


# --- keys and roles ---------------------------------------------------------------------------


def unauthorized() -> Refusal:
    refusal = _one(
        401, "Authorization", "缺少或无效的 API 密钥", "missing or invalid API key", "unauthorized"
    )
    refusal.headers["WWW-Authenticate"] = 'Bearer realm="eligibility"'
    return refusal


def forbidden(role: str, allowed: Iterable[str]) -> Refusal:
    allowed_text = ", ".join(sorted(allowed))
    return _one(
        403,
        "",
        f"角色 {role} 无权执行此操作（允许：{allowed_text}）",
        f"the role {role} may not do this (allowed: {allowed_text})",
        "forbidden",
    )


# --- what the request asks for ----------------------------------------------------------------


def not_found(what_zh: str, what_en: str, path: str = "") -> Refusal:
    return _one(404, path, f"未找到{what_zh}", f"no such {what_en}", "not_found")


def no_rules(
    error: UnknownJurisdiction | BeforeFirstVersion, date_path: str, unknown_status: int = 404
) -> Refusal:
    """No rules for that jurisdiction (``unknown_status``), or none yet on that date (422)."""
    status = unknown_status if isinstance(error, UnknownJurisdiction) else 422
    return Refusal(status, [rules_problem(error, date_path)])


def invalid_cursor(reason_en: str) -> Refusal:
    return _one(422, "query.cursor", "无效的分页游标", reason_en, "invalid_cursor")


def conflicting_rules_choice() -> Refusal:
    return _one(
        422,
        "query.as_of",
        "rules=current 与 as_of 不能同时使用",
        "give either rules=current or as_of, not both",
        "conflicting_parameters",
    )


def rule_set_invalid(error: RuleSetError) -> Refusal:
    """The rule files a reload was refused for: each problem with its file."""
    return Refusal(
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
    )


def beyond_log(path: str, asked: int, signed: int) -> Refusal:
    """A tree size (or a decision) past the latest signed checkpoint of the decision log."""
    return _one(
        422,
        path,
        f"超出已签名的日志：{asked} 不在 1 到最新检查点的大小 {signed} 之间",
        f"beyond the signed log: {asked} is not between 1 and the latest checkpoint's size"
        f" {signed}",
        "beyond_log",
    )


# --- idempotency keys ----------------------------------------------------------------------------


def idempotency_key_invalid(max_length: int) -> Refusal:
    return _one(
        422,
        "Idempotency-Key",
        f"Idempotency-Key 格式无效：应为 1 至 {max_length} 个可见 ASCII 字符，"
        '写作带引号的字符串（如 "8e03978e-40d5"），只给一次',
        f"Idempotency-Key is malformed: 1 to {max_length} visible ASCII characters, sent once,"
        ' as a quoted string (like "8e03978e-40d5")',
        "idempotency_key_invalid",
    )


def idempotency_key_reused() -> Refusal:
    return _one(
        422,
        "Idempotency-Key",
        "该 Idempotency-Key 已用于另一个请求（请求体不同）：新的请求请使用新的键",
        "this Idempotency-Key was used for another request (a different body):"
        " use a new key for a new request",
        "idempotency_key_reused",
    )


def idempotency_key_in_flight() -> Refusal:
    return _one(
        409,
        "Idempotency-Key",
        "使用该 Idempotency-Key 的请求正在处理中，请稍后重试",
        "a request with this Idempotency-Key is still being processed; retry later",
        "idempotency_key_in_flight",
        **{"Retry-After": "1"},
    )


# --- stored records -----------------------------------------------------------------------------


def record_damaged(seq: int | None, decision_id: str) -> Refusal:
    """A stored row that no longer reads as a record (changed outside the service): named, so
    that an auditor can find it (``eligibility audit verify`` names it too)."""
    where_zh = f"第 {seq} 条，" if seq is not None else ""
    where_en = f"seq {seq}, " if seq is not None else ""
    return _one(
        409,
        "decision_id",
        f"存储的记录（{where_zh}编号 {decision_id}）已损坏，无法读取：它在服务之外被改动过",
        f"the stored record ({where_en}id {decision_id}) is damaged and cannot be read:"
        " it was changed outside the service",
        "record_damaged",
    )


def record_not_replayable(seq: int, decision_id: str) -> Refusal:
    return _one(
        409,
        "decision_id",
        f"存储的记录（第 {seq} 条，编号 {decision_id}）无法重新评估",
        f"the stored record (seq {seq}, id {decision_id}) can no longer be evaluated",
        "record_unreadable",
    )


def bundle_altered() -> Refusal:
    return _one(
        409,
        "",
        "存储的规则包缺失或已被改动",
        "the stored rule bundle is missing or was altered",
        "bundle_integrity",
    )


# --- the service itself -------------------------------------------------------------------------


def unavailable(retry_after: int) -> Refusal:
    return _one(
        503,
        "",
        "数据库暂不可用，请稍后重试",
        "the database is unavailable; retry later",
        "database_unavailable",
        **{"Retry-After": str(retry_after)},
    )


def log_damaged() -> Refusal:
    """The decision log's stored tree is not the one its checkpoints signed (changed outside
    the service): no retry cures it, so no Retry-After; an operator must look first."""
    return _one(
        503,
        "",
        "决策日志已在服务之外被改动（存储的哈希树与已签名的检查点不符），在运维人员核查"
        "（eligibility audit verify）之前不再记录任何决定",
        "the decision log was changed outside the service (its stored tree differs from its"
        " signed checkpoint): nothing is recorded until an operator has checked it"
        " (eligibility audit verify)",
        "log_damaged",
    )


def store_failure(error: BaseException, retry_after: int) -> Refusal:
    """The answer to one of ``DATABASE_ERRORS``, logged here: a damaged log is named (an
    error: the log was tampered with or lost rows; the reason holds sizes and positions, no
    personal data), anything else is the database not answering (a warning)."""
    if isinstance(error, LogDamagedError):
        log.error(
            "decision log damaged", extra={"error": type(error).__name__, "reason": str(error)}
        )
        return log_damaged()
    log.warning("database unavailable", extra={"error": type(error).__name__})
    return unavailable(retry_after)


def too_large(limit: int) -> Refusal:
    return _one(
        413,
        "",
        f"请求体过大（上限 {limit} 字节）",
        f"the request body is larger than the limit of {limit} bytes",
        "body_too_large",
    )


def internal_error() -> Refusal:
    return _one(500, "", "服务器内部错误", "internal server error", "internal_error")


def http_error(status: int, detail: str, headers: Mapping[str, str] | None) -> Refusal:
    """Starlette's own errors: no such path (404), a method the path has not (405), others."""
    if status == 404:
        refusal = _one(404, "", "未找到该地址", "no such endpoint", "not_found")
    elif status == 405:
        refusal = _one(405, "", "不支持该请求方法", "method not allowed", "method_not_allowed")
    else:
        # Starlette's and FastAPI's detail is English only (and could quote a value): each
        # status is worded in both languages here instead.
        zh, en = _HTTP_WORDS.get(status, ("请求无法处理", "the request cannot be handled"))
        refusal = _one(status, "", zh, en, "http_error")
    refusal.headers.update(headers or {})
    return refusal


_HTTP_WORDS: dict[int, tuple[str, str]] = {
    # FastAPI's "There was an error parsing the body" (a body nested too deep to read, say).
    400: ("无法解析请求体", "the request body could not be parsed"),
    406: ("无法以所要求的格式作答", "no answer in the requested format"),
    411: ("缺少 Content-Length", "Content-Length is required"),
    415: ("不支持该请求体格式", "unsupported request body format"),
    429: ("请求过多，请稍后重试", "too many requests; retry later"),
}


def problems_from_request_validation(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """FastAPI's query/path/body validation errors → contract problems (``query.from``), in the
    same words as the contract's own (``service.contract.errors``), never pydantic's English."""
    return problems_from_errors(errors)


def _allowed_methods(request: Request, starlettes: str) -> str:
    """The methods of every operation the OpenAPI document has at the request's path (the
    routes are matched on their documented templates); Starlette's own list otherwise."""
    paths: dict[str, Any] = request.app.openapi().get("paths", {})
    methods = {
        method.upper()
        for template, operations in paths.items()
        if re.fullmatch(_template_pattern(template), request.url.path)
        for method in operations
        if method in _HTTP_METHODS
    }
    return ", ".join(sorted(methods)) if methods else starlettes


def _template_pattern(template: str) -> str:
    """``/v1/decisions/{decision_id}`` → a pattern that matches its paths."""
    return "[^/]+".join(re.escape(part) for part in re.split(r"\{[^/]+?\}", template))


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def install_handlers(app: FastAPI, retry_after: int) -> None:
    """Refusals, FastAPI's validation errors, Starlette's HTTP errors and an unreachable
    database, all answered with the contract's error body."""

    async def refused(_request: Request, error: Exception) -> Response:
        assert isinstance(error, Refusal)
        return response_for(error)

    async def invalid(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return response_for(Refusal(422, problems_from_request_validation(error.errors())))

    async def starlette_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if isinstance(error.__cause__, ClientDisconnect):
            # FastAPI's 400 for a body it could not read, because the client went away: told
            # as what it is by the middleware (nobody is there to read an answer).
            raise error.__cause__
        headers = getattr(error, "headers", None)
        if error.status_code == 405:
            # Starlette names the methods of the first route of the path only (GET and POST
            # /v1/decisions are two routes): every method the path answers is allowed.
            allow = _allowed_methods(request, (headers or {}).get("Allow", ""))
            headers = {**(headers or {}), "Allow": allow}
        return response_for(http_error(error.status_code, str(error.detail), headers))

    async def database_error(_request: Request, error: Exception) -> Response:
        return response_for(store_failure(error, retry_after))

    app.add_exception_handler(Refusal, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, starlette_error)
    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, database_error)
