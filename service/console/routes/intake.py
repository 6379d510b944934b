"""Intake (一门受理): the household form, 试算 (evaluated, nothing recorded) and 提交认定
(recorded), through the same actions as ``POST /v1/evaluate`` and ``POST /v1/decisions``; a saved
household as contract JSON, and back; the printable decision notice (告知书)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from service.api.actions import decisions
from service.api.auth import EVALUATE, READ, RECORD
from service.console import form as form_view
from service.console import household
from service.console.fields import LISTS
from service.console.present import missing_view, programs_view, provisional_names
from service.console.web import PREFIX, ConsoleRoute, Page, PageExit, forbidden_page, open_page
from service.contract.errors import Refusal, problem

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)

_ITEM = re.compile(r"(household(?:\.assets)?\.[a-z_]+)\[([0-9]{1,4})\]")


def render_intake(
    page: Page,
    values: dict[str, str],
    status: int = 200,
    *,
    problems: list[dict[str, str]] | None = None,
    response: dict[str, Any] | None = None,
    decision_id: str | None = None,
    notice: str | None = None,
    unknown: list[str] | None = None,
) -> Response:
    form = form_view.build_form(values, page.lang, page.jurisdictions())
    summary = form_view.place_problems(form, problems or [], page.lang)
    result = None
    if response is not None:
        result = {
            "response": response,
            "programs": programs_view(response, page.lang),
            "missing": missing_view(response, page.lang),
            "provisional": provisional_names(response, page.lang),
            "place": page.place(response["ruleset"]["id"]),
            "decision_id": decision_id,
        }
    return page.render(
        "intake.html",
        status,
        form=form,
        summary=summary,
        result=result,
        notice=notice,
        unknown=unknown or [],
    )


@router.get("/intake")
async def intake_form(
    request: Request,
    jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    page = await open_page(request, EVALUATE)
    known = [j for j, _ in page.jurisdictions()]
    chosen = jurisdiction if jurisdiction in known else (known[0] if known else "")
    return render_intake(page, household.blank_household(chosen, date.today().isoformat()))


@router.post("/intake")
async def intake_action(request: Request) -> Response:
    """One form, several buttons (``action``): evaluate, record, save, load, add or remove an
    item (the script does the last two in place; without it the server does)."""
    page = await open_page(request, EVALUATE)
    pairs = await page.form()
    action = next((v for k, v in pairs if k == "action"), "evaluate")
    values = {k: v for k, v in pairs if k not in ("action", "contract_json")}
    if action.startswith("add:") and action[4:] in LISTS:
        return render_intake(page, household.add_item(values, action[4:]))
    if action.startswith("remove:"):
        match = _ITEM.fullmatch(action[7:])
        if match and match.group(1) in LISTS:
            return render_intake(
                page, household.remove_item(values, match.group(1), int(match.group(2)))
            )
    if action == "load":
        return load_household(page, next((v for k, v in pairs if k == "contract_json"), ""))
    request_document = household.to_contract(values)
    if action == "save":
        return save_household(page, request_document)
    body = orjson.dumps(request_document)
    try:
        if action == "record":
            if not page.may(RECORD):
                raise PageExit(forbidden_page(page, RECORD))
            recorded = await decisions.record(page.runtime, page.principal, body)
            decision_id = recorded.decision_id
            request.state.decision_id = decision_id
            response = orjson.loads(recorded.payload)
            return render_intake(page, values, 201, response=response, decision_id=decision_id)
        response = orjson.loads(decisions.evaluate_only(page.runtime, body))
    except Refusal as refusal:
        if refusal.status != 422:
            raise
        return render_intake(page, values, 422, problems=refusal.problems)
    return render_intake(page, values, response=response)


def save_household(page: Page, document: dict[str, Any]) -> Response:
    """The household as the contract's JSON, for the clerk's computer (ID numbers included:
    it is the applicant's own record, not a page)."""
    name = "household-{}-{}.json".format(
        re.sub(r"[^a-z0-9]+", "-", str(document.get("jurisdiction", "")))[:40] or "new",
        re.sub(r"[^0-9-]", "", str(document.get("as_of", "")))[:10] or "undated",
    )
    return page.finish(
        Response(
            orjson.dumps(document, option=orjson.OPT_INDENT_2),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    )


def load_household(page: Page, text: str) -> Response:
    """A household saved as contract JSON, shown in the form (not yet checked: 试算 checks it)."""
    try:
        data = orjson.loads(text)
        if not isinstance(data, dict):
            raise ValueError
    except (orjson.JSONDecodeError, ValueError):
        values = household.blank_household("", date.today().isoformat())
        refused = problem(
            "contract_json",
            "文件不是合同格式的 JSON 对象",
            "the file is not a JSON object of the contract",
            "invalid_json",
        )
        return render_intake(page, values, 422, problems=[refused])
    values, unknown = household.flatten(data)
    return render_intake(page, values, notice="intake.loaded", unknown=unknown)


@router.get("/decisions/{decision_id}/notice")
async def decision_notice(
    request: Request, decision_id: Annotated[str, Path(max_length=64)]
) -> Response:
    """The decision notice (告知书) to print for the applicant: who may read the decision (its
    recorder, an auditor) may print it."""
    page = await open_page(request, READ)
    assert page.principal is not None
    record = await decisions.get_decision(page.runtime, page.principal, decision_id)
    response = record["response"]
    return page.render(
        "notice.html",
        record=record,
        response=response,
        programs=programs_view(response, page.lang),
        missing=missing_view(response, page.lang),
        provisional=provisional_names(response, page.lang),
        place=page.place(record["jurisdiction"]),
        applicant=applicant_shown(record),
    )


def applicant_shown(record: dict[str, Any]) -> str:
    """The applicant as stored: masked name and ID number (the clear ones were never kept)."""
    members = record["request"].get("household", {}).get("members", [])
    applicant = next((m for m in members if m.get("relation") == "applicant"), None)
    if applicant is None:
        return ""
    entry = record.get("personal", {}).get(applicant.get("id"), {})
    return " ".join(v for v in (entry.get("name_masked"), entry.get("id_number_masked")) if v)
