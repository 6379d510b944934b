"""Error bodies: always the contract's ``{"errors": [{path, reason_zh, reason_en, type}]}``.

Messages never repeat a submitted value (it may be a name or an ID number).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from starlette.responses import Response

from service.contract.errors import problem, problems_from_errors

JSON = "application/json"


class ApiError(Exception):
    """Raised by handlers; rendered as the contract's error body with ``status``."""

    def __init__(
        self,
        status: int,
        problems: Sequence[dict[str, Any]],
        headers: dict[str, str] | None = None,
    ):
        self.status = status
        self.problems = list(problems)
        self.headers = headers or {}
        super().__init__(f"{status}: {[p.get('type') for p in self.problems]}")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, default=str), status_code=status, media_type=JSON, headers=headers
    )


def error_response(
    status: int, problems: Sequence[dict[str, Any]], headers: dict[str, str] | None = None
) -> Response:
    return json_response({"errors": list(problems)}, status, headers)


def unauthorized() -> ApiError:
    return ApiError(
        401,
        [
            problem(
                "Authorization",
                "缺少或无效的 API 密钥",
                "missing or invalid API key",
                "unauthorized",
            )
        ],
        {"WWW-Authenticate": 'Bearer realm="eligibility"'},
    )


def forbidden(role: str, allowed: Iterable[str]) -> ApiError:
    allowed_text = ", ".join(sorted(allowed))
    return ApiError(
        403,
        [
            problem(
                "",
                f"角色 {role} 无权执行此操作（允许：{allowed_text}）",
                f"the role {role} may not do this (allowed: {allowed_text})",
                "forbidden",
            )
        ],
    )


def not_found(what_zh: str, what_en: str, path: str = "") -> ApiError:
    return ApiError(404, [problem(path, f"未找到{what_zh}", f"no such {what_en}", "not_found")])


def unavailable(retry_after: int) -> Response:
    return error_response(
        503,
        [
            problem(
                "",
                "数据库暂不可用，请稍后重试",
                "the database is unavailable; retry later",
                "database_unavailable",
            )
        ],
        {"Retry-After": str(retry_after)},
    )


def too_large(limit: int) -> Response:
    return error_response(
        413,
        [
            problem(
                "",
                f"请求体过大（上限 {limit} 字节）",
                f"the request body is larger than the limit of {limit} bytes",
                "body_too_large",
            )
        ],
    )


def problems_from_request_validation(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """FastAPI's query/path/body validation errors → contract problems (``query.from``), in the
    same words as the contract's own (``service.contract.errors``), never pydantic's English."""
    return problems_from_errors(errors)
