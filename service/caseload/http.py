"""``POST /v1/caseload/whatif``: a what-if on a caseload posted as JSONL, answered with the summary.

Mounted by the HTTP service::

    app.include_router(caseload_router(runtime.rule_base, require(CASELOAD)))

with ``CASELOAD`` a permission granted to the ``admin`` and ``auditor`` roles. Query parameters:
``jurisdiction`` and ``as_of`` (defaults for records that lack their own; with
``force_jurisdiction=true`` / ``force_as_of=true`` they replace the records' own values, and the
answer counts the records overridden), ``set`` (repeatable ``PARAM=VALUE``), ``compare_as_of``.
The body is one contract request per line (``application/x-ndjson``), at most ``max_households``
households (default 5,000) and ``max_bytes`` (default 8 MiB): larger caseloads go through
``eligibility caseload whatif``. The answer is the what-if report (gains and losses per program,
monthly and annual cost change, the bundles used per jurisdiction), the summaries before and
after, the records overridden or defaulted, and the refused lines (line number and problems).
Errors are raised as the contract's ``Refusal`` (413 too large, 422 a bad override, jurisdiction
or date); the HTTP service answers them with the contract's ``{"errors": [...]}`` body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.caseload.scenarios import RecordDefaults, Scenarios
from service.contract.errors import Refusal, problem
from service.engine import RuleBase

MAX_HOUSEHOLDS = 5_000
MAX_BYTES = 8 * 1024 * 1024
MAX_LISTED_ERRORS = 100


def _error(status: int, problems: list[dict[str, str]]) -> Refusal:
    return Refusal(status, problems)


def _too_large(max_households: int, max_bytes: int) -> Refusal:
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
        jurisdiction: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=64,
                description="jurisdiction for records without one (default: none; such records "
                "are refused)",
            ),
        ] = None,
        as_of: Annotated[
            date | None,
            Query(
                description="decision date for records without one (default: none; such "
                "records are refused)"
            ),
        ] = None,
        force_jurisdiction: Annotated[
            bool,
            Query(
                description="decide every record under `jurisdiction`, replacing its own; the "
                "answer counts the records overridden (default: false)"
            ),
        ] = False,
        force_as_of: Annotated[
            bool,
            Query(
                description="decide every record as of `as_of`, replacing its own date; the "
                "answer counts the records overridden (default: false)"
            ),
        ] = False,
        set_: Annotated[
            list[str],
            Query(
                alias="set",
                description="PARAMETER=VALUE set in each record's changed bundle (repeatable)",
            ),
        ] = [],  # noqa: B006 - FastAPI query list
        compare_as_of: Annotated[
            date | None,
            Query(
                description="compare with the rules in force on this date (default: the "
                "baseline rules, changed by `set` only)"
            ),
        ] = None,
    ) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(max_households, max_bytes)
        body = bytearray()
        async for piece in request.stream():
            body.extend(piece)
            if len(body) > max_bytes:
                raise _too_large(max_households, max_bytes)
        lines = [
            (number, line)
            for number, line in enumerate(bytes(body).split(b"\n"), start=1)
            if line.strip()
        ]
        if len(lines) > max_households:
            raise _too_large(max_households, max_bytes)
        for forced, value, name in (
            (force_jurisdiction, jurisdiction, "jurisdiction"),
            (force_as_of, as_of, "as_of"),
        ):
            if forced and value is None:
                raise _error(
                    422,
                    [
                        problem(
                            f"force_{name}",
                            f"force_{name}=true 需要同时给出 {name}",
                            f"force_{name}=true needs {name}",
                            "missing",
                        )
                    ],
                )
        settings: dict[str, Any] = {}
        for text in set_:
            path, sep, value = text.partition("=")
            if not sep or not path.strip():
                raise _error(
                    422,
                    [problem("set", "应为 参数=值", "expected PARAMETER=VALUE", "override_format")],
                )
            settings[path.strip()] = _value(value)
        base = current()
        scenarios = Scenarios(
            base,
            RecordDefaults(jurisdiction, as_of, force_jurisdiction, force_as_of),
            whatif=True,
            compare_as_of=compare_as_of,
            overrides=tuple(settings.items()),
            override_source="http whatif",
        )
        problems = scenarios.check()
        if problems:
            raise _error(422, problems)
        report = await run_in_threadpool(_whatif, lines, scenarios)
        return JSONResponse(report)

    return router


def _value(text: str) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, list | dict | bool) or parsed is None else text


def _whatif(lines: list[tuple[int, bytes]], scenarios: Scenarios) -> dict[str, Any]:
    from service.caseload.chunks import Chunk, decide_chunk
    from service.caseload.run import compare, describe_whatif, summarize

    chunk = Chunk(0, "jsonl", lines, [n for n, _ in lines])
    outcome = decide_chunk(chunk, scenarios)
    before, after = outcome.tables
    report, _ = compare(before, after)
    describe_whatif(report, scenarios, outcome.counts)
    report.update(
        before=summarize(before),
        after=summarize(after),
        refused=len(outcome.errors),
        errors=outcome.errors[:MAX_LISTED_ERRORS],
    )
    return report
