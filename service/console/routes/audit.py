"""Audit (auditors only): the decisions list with filters, pages and a CSV export; a decision
with its full trace by program; its replay under the stored rules or other ones; the log's
verification. Everything through the actions the API's audit endpoints use."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response, StreamingResponse

from service.api.actions import audit, decisions, keys, replay
from service.api.auth import REPLAY, VERIFY
from service.api.models import ProgramName, StatusName
from service.console.present import (
    citation_text,
    in_order,
    programs_view,
    provisional_names,
    trace_by_program,
)
from service.console.text import code_name, word
from service.console.web import PREFIX, ConsoleRoute, Page, open_page
from service.contract.errors import Refusal, problem
from service.contract.request import PROGRAM_IDS

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 50
EXPORT_PAGE = 500  # the store's largest page


async def key_names(page: Page) -> dict[str, dict[str, Any]]:
    """key id → the key's name and role (revoked keys included: they recorded decisions)."""
    return {k["key_id"]: k for k in await keys.list_keys(page.runtime)}


def _filter(
    jurisdiction: str | None,
    date_from: date | None,
    date_to: date | None,
    program: str | None,
    status: str | None,
    key: str | None,
) -> decisions.DecisionFilter:
    return decisions.DecisionFilter(
        jurisdiction or None, date_from, date_to, program or None, status or None, key or None
    )


# The list's query: every filter optional; an empty field of the filter form means "any".
Jurisdiction = Annotated[str | None, Query(max_length=64)]
From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]
Program = Annotated[ProgramName | Literal[""] | None, Query()]
Status = Annotated[StatusName | Literal[""] | None, Query()]
Key = Annotated[str | None, Query(max_length=64)]


@router.get("/decisions")
async def decision_list(
    request: Request,
    jurisdiction: Jurisdiction = None,
    date_from: From = None,
    date_to: To = None,
    program: Program = None,
    status: Status = None,
    key: Key = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = await open_page(request, REPLAY)
    assert page.principal is not None
    where = _filter(jurisdiction, date_from, date_to, program, status, key)
    listing = await decisions.list_decisions(page.runtime, page.principal, where, cursor, PAGE_SIZE)
    names = await key_names(page)
    query = {
        "jurisdiction": where.jurisdiction,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "program": where.program,
        "status": where.status,
        "key": where.actor,
    }
    return page.render(
        "decisions.html",
        items=listing["items"],
        next_url=page.url("/decisions", **query, cursor=listing["next_cursor"])
        if listing["next_cursor"]
        else None,
        first_url=page.url("/decisions", **query) if cursor else None,
        csv_url=page.url("/decisions.csv", **query),
        query=query,
        names=names,
        places=dict(page.jurisdictions()),
        jurisdictions=page.jurisdictions(),
        programs=PROGRAM_IDS,
        statuses=("eligible", "ineligible", "insufficient_data", "not_applicable"),
    )


@router.get("/decisions.csv")
async def decision_export(
    request: Request,
    jurisdiction: Jurisdiction = None,
    date_from: From = None,
    date_to: To = None,
    program: Program = None,
    status: Status = None,
    key: Key = None,
) -> Response:
    """Every decision the filters select, newest first, as CSV: UTF-8 with a byte-order mark,
    so Excel shows the Chinese, page by page from the store (never all in memory)."""
    page = await open_page(request, REPLAY)
    principal = page.principal
    assert principal is not None
    where = _filter(jurisdiction, date_from, date_to, program, status, key)
    names = await key_names(page)
    places = dict(page.jurisdictions())
    lang = page.lang
    header = [
        word(k, lang)
        for k in (
            "csv.decision_id",
            "csv.seq",
            "csv.created_at",
            "csv.as_of",
            "csv.jurisdiction",
            "csv.jurisdiction_name",
            "csv.key_id",
            "csv.key_name",
            "csv.bundle_sha256",
        )
    ] + [code_name("program", p, lang) for p in PROGRAM_IDS]

    def line(row: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(row)
        return buffer.getvalue()

    async def rows() -> AsyncIterator[bytes]:
        yield ("\ufeff" + line(header)).encode("utf-8")
        cursor = None
        while True:
            listing = await decisions.list_decisions(
                page.runtime, principal, where, cursor, EXPORT_PAGE
            )
            chunk = []
            for item in listing["items"]:
                statuses = item["programs"]
                chunk.append(
                    line(
                        [
                            item["decision_id"],
                            str(item["seq"]),
                            item["created_at"],
                            item["as_of"],
                            item["jurisdiction"],
                            places.get(item["jurisdiction"], ""),
                            item["actor"],
                            names.get(item["actor"], {}).get("name", ""),
                            item["bundle_sha256"],
                        ]
                        + [
                            code_name("status", statuses[p], lang) if p in statuses else ""
                            for p in PROGRAM_IDS
                        ]
                    )
                )
            yield "".join(chunk).encode("utf-8")
            cursor = listing["next_cursor"]
            if cursor is None:
                return

    stamp = date.today().isoformat()
    return page.finish(
        StreamingResponse(
            rows(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="decisions-{stamp}.csv"'},
        )
    )


def side_by_side(stored: dict[str, Any], replayed: dict[str, Any], lang: Any) -> list[Any]:
    """Per program: the stored and the replayed result, and whether they differ."""
    before = {p.program: p for p in programs_view(stored, lang)}
    after = {p.program: p for p in programs_view(replayed, lang)}
    rows = []
    for program in in_order({**stored["programs"], **replayed["programs"]}):
        old, new = before.get(program), after.get(program)
        changed = (old.status, old.amount) != (new.status, new.amount) if old and new else True
        rows.append({"program": program, "old": old, "new": new, "changed": changed})
    return rows


async def render_detail(
    page: Page, decision_id: str, report: dict[str, Any] | None = None, status: int = 200
) -> Response:
    assert page.principal is not None
    record = await decisions.get_decision(page.runtime, page.principal, decision_id)
    response = record["response"]
    names = await key_names(page)
    compared = None
    if report is not None:
        compared = side_by_side(response, report["replayed"], page.lang)
    return page.render(
        "decision.html",
        status,
        record=record,
        response=response,
        programs=programs_view(response, page.lang),
        trace=trace_by_program(response),
        provisional=provisional_names(response, page.lang),
        place=page.place(record["jurisdiction"]),
        key=names.get(record["actor"], {}),
        report=report,
        compared=compared,
        citation=citation_text,
        today=date.today().isoformat(),
    )


DecisionId = Annotated[str, Path(max_length=64)]


@router.get("/decisions/{decision_id}")
async def decision_detail(request: Request, decision_id: DecisionId) -> Response:
    page = await open_page(request, REPLAY)
    return await render_detail(page, decision_id)


@router.post("/decisions/{decision_id}/replay")
async def decision_replay(request: Request, decision_id: DecisionId) -> Response:
    """Replay under the stored rules (``rules=stored``), today's (``current``) or those of a
    date (``as_of`` with a date): the same action as ``POST /v1/decisions/{id}/replay``."""
    page = await open_page(request, REPLAY)
    assert page.principal is not None
    fields = dict(await page.form())
    choice = fields.get("rules", "stored")
    as_of = None
    if choice == "as_of":
        try:
            as_of = date.fromisoformat(fields.get("as_of", ""))
        except ValueError:
            problem_ = problem(
                "as_of", "日期格式应为 YYYY-MM-DD", "date must be written YYYY-MM-DD", "date_format"
            )
            raise Refusal(422, [problem_]) from None
    rules: Literal["stored", "current"] = "current" if choice == "current" else "stored"
    report = await replay.replay_decision(
        page.runtime, page.principal, decision_id, rules, as_of, with_response=True
    )
    return await render_detail(page, decision_id, report)


@router.get("/audit/verify")
async def verify_form(request: Request) -> Response:
    page = await open_page(request, VERIFY)
    return page.render("verify.html", result=None, seq_from="", seq_to="")


@router.post("/audit/verify")
async def verify_log(request: Request) -> Response:
    """Walks the hash chain (all of it, or the records ``from``–``to``): the same action as
    ``GET /v1/audit/verify``."""
    page = await open_page(request, VERIFY)
    fields = dict(await page.form())
    bounds = []
    for name in ("from", "to"):
        text = fields.get(name, "").strip()
        if text and not (text.isdigit() and int(text) >= 1):
            problem_ = problem(
                name,
                "应为正整数（记录序号）",
                "must be a positive whole number (a record number)",
                "int_type",
            )
            raise Refusal(422, [problem_])
        bounds.append(int(text) if text else None)
    result = await audit.verify_chain(page.runtime, bounds[0], bounds[1])
    return page.render(
        "verify.html", result=result, seq_from=fields.get("from", ""), seq_to=fields.get("to", "")
    )
