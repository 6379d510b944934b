"""``POST /v1/caseload/whatif``: a what-if on a caseload posted as JSONL, answered with the summary.

Mounted by the HTTP service::

    app.include_router(caseload_router(lambda: runtime.engine.rule_base, require(CASELOAD)))

with ``CASELOAD`` a permission granted to the ``admin`` and ``auditor`` roles. Query parameters:
``jurisdiction``, ``as_of``, ``set`` (repeatable ``PARAM=VALUE``), ``compare_as_of``. The body is
one contract request per line (``application/x-ndjson``), at most ``max_households`` households
(default 5,000) and ``max_bytes`` (default 8 MiB): larger caseloads go through
``eligibility caseload whatif``. The answer is the what-if report (gains and losses per program,
monthly and annual cost change), the summaries before and after, and the refused lines (line
number and problems). Errors use the contract's ``{"errors": [...]}`` body: 413 too large, 422 a
bad override, jurisdiction or date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.contract.errors import problem
from service.engine import BeforeFirstVersion, RuleBase, RuleSetError, UnknownJurisdiction

MAX_HOUSEHOLDS = 5_000
MAX_BYTES = 8 * 1024 * 1024
MAX_LISTED_ERRORS = 100


def _error(status: int, problems: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse({"errors": problems}, status_code=status)


def _too_large(max_households: int, max_bytes: int) -> JSONResponse:
    return _error(
        413,
        [
            problem(
                "",
                f"个案过大（上限 {max_households} 户、{max_bytes} 字节），请使用命令行 eligibility caseload whatif",
                f"caseload too large (at most {max_households} households and {max_bytes} bytes): "
                "use the command line, eligibility caseload whatif",
                "caseload_too_large",
            )
        ],
    )


def caseload_router(
    rules: RuleBase | Callable[[], RuleBase],
    authorize: Callable[..., Any],
    *,
    max_households: int = MAX_HOUSEHOLDS,
    max_bytes: int = MAX_BYTES,
) -> APIRouter:
    """The router; ``authorize`` is the service's dependency admitting admin and auditor keys."""
    router = APIRouter(tags=["caseload"])
    current = rules if callable(rules) else (lambda: rules)

    @router.post(
        "/v1/caseload/whatif",
        dependencies=[Depends(authorize)],
        summary="What-if of a rule change on a caseload (JSONL body)",
        description=(
            "Roles: admin, auditor. Decides every household of the posted caseload under the rules"
            " in force on `as_of` and again with the overrides (`set=PARAM=VALUE`, repeatable) or"
            f" the rules of `compare_as_of`; records nothing. At most {max_households:,}"
            f" households and {max_bytes:,} bytes: larger caseloads go through"
            " `eligibility caseload whatif`. The answer: households gaining and losing each"
            " program, the monthly and annual cost change, the summaries before and after, and"
            " the refused lines (line number and problems)."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {
                        "schema": {
                            "type": "string",
                            "description": "one contract request (EvaluationRequest) per line",
                        }
                    },
                    # The same bytes: what client generators know how to post.
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def whatif(
        request: Request,
        jurisdiction: Annotated[str, Query(min_length=1, max_length=64)],
        as_of: Annotated[date, Query()],
        set_: Annotated[list[str], Query(alias="set")] = [],  # noqa: B006 - FastAPI query list
        compare_as_of: Annotated[date | None, Query()] = None,
    ) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return _too_large(max_households, max_bytes)
        body = bytearray()
        async for piece in request.stream():
            body.extend(piece)
            if len(body) > max_bytes:
                return _too_large(max_households, max_bytes)
        lines = [
            (number, line)
            for number, line in enumerate(bytes(body).split(b"\n"), start=1)
            if line.strip()
        ]
        if len(lines) > max_households:
            return _too_large(max_households, max_bytes)
        base = current()
        try:
            baseline = base.resolve(jurisdiction, as_of)
            changed = base.resolve(jurisdiction, compare_as_of) if compare_as_of else baseline
        except UnknownJurisdiction as error:
            return _error(
                422,
                [
                    problem(
                        "jurisdiction",
                        f"未知的辖区，可用：{', '.join(error.known)}",
                        f"unknown jurisdiction; known: {', '.join(error.known)}",
                        "unknown_jurisdiction",
                    )
                ],
            )
        except BeforeFirstVersion as error:
            first = error.first.isoformat()
            return _error(
                422,
                [
                    problem(
                        "as_of",
                        f"该日期早于本辖区最早的规则版本（{first}）",
                        f"before the first rule version of this jurisdiction ({first})",
                        "before_first_version",
                    )
                ],
            )
        settings: dict[str, Any] = {}
        for text in set_:
            path, sep, value = text.partition("=")
            if not sep or not path.strip():
                return _error(
                    422,
                    [problem("set", "应为 参数=值", "expected PARAMETER=VALUE", "override_format")],
                )
            settings[path.strip()] = _value(value)
        if settings:
            try:
                changed = changed.with_overrides(settings, source="http whatif")
            except RuleSetError as error:
                return _error(
                    422,
                    [
                        problem(
                            f"set:{p.path}",
                            f"参数覆盖无效：{p.reason_zh or p.reason}",
                            p.reason,
                            "override_invalid",
                        )
                        for p in error.problems
                    ],
                )
        report = await run_in_threadpool(_whatif, lines, baseline, changed, jurisdiction, as_of)
        report.update(
            jurisdiction=jurisdiction,
            as_of=as_of.isoformat(),
            baseline={"version": baseline.version.isoformat(), "sha256": baseline.sha256},
            changed={
                "version": changed.version.isoformat(),
                "sha256": changed.sha256,
                "compare_as_of": compare_as_of.isoformat() if compare_as_of else None,
                "overrides": settings,
            },
        )
        return JSONResponse(report)

    return router


def _value(text: str) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, list | dict | bool) or parsed is None else text


def _whatif(
    lines: list[tuple[int, bytes]], baseline: Any, changed: Any, jurisdiction: str, as_of: date
) -> dict[str, Any]:
    from service.caseload.chunks import Chunk, decide_chunk
    from service.caseload.run import compare, summarize

    chunk = Chunk(0, "jsonl", lines, [n for n, _ in lines])
    (before, after), errors = decide_chunk(chunk, [baseline, changed], jurisdiction, as_of)
    report, _ = compare(before, after)
    report.update(
        before=summarize(before),
        after=summarize(after),
        refused=len(errors),
        errors=errors[:MAX_LISTED_ERRORS],
    )
    return report
