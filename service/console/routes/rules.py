"""Rules, for everyone signed in: the jurisdictions, the bundle in force on a date with each
parameter's source, confidence and provisional mark, and what changed between two dates."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from service.api.actions import rulesets
from service.api.auth import RULES
from service.console.web import PREFIX, ConsoleRoute, open_page

router = APIRouter(prefix=PREFIX + "/rules", route_class=ConsoleRoute, include_in_schema=False)

# what the confidence letters of the rule files mean (rules/README.md)
CONFIDENCE = {
    "S": ("种子数据", "seed figure"),
    "H": ("官方文件", "official text"),
    "M": ("二手来源", "secondary source"),
    "L": ("来源较弱", "weak source"),
    "P": ("暂定", "provisional"),
}


@router.get("")
async def jurisdictions(request: Request) -> Response:
    page = await open_page(request, RULES)
    rows = rulesets.list_rulesets(page.runtime)["jurisdictions"]
    return page.render("rules_index.html", rows=rows, today=date.today().isoformat())


@router.get("/diff")
async def diff(
    request: Request,
    jurisdiction: Annotated[str, Query(max_length=64)],
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
) -> Response:
    page = await open_page(request, RULES)
    report = rulesets.diff_ruleset(page.runtime, jurisdiction, date_from, date_to)
    return page.render("rules_diff.html", report=report, place=page.place(jurisdiction))


@router.get("/bundle")
async def bundle(
    request: Request,
    jurisdiction: Annotated[str, Query(max_length=64)],
    as_of: Annotated[date | None, Query()] = None,
) -> Response:
    page = await open_page(request, RULES)
    data = rulesets.show_ruleset(page.runtime, jurisdiction, as_of)
    parameters = [
        {
            "path": path,
            "value": entry.get("value"),
            "source": entry.get("source"),
            "confidence": entry.get("confidence"),
            "provisional": entry.get("provisional"),
            "note": entry.get("note"),
            "file": data["origins"].get(path),
        }
        for path, entry in sorted(data["parameters"].items())
    ]
    return page.render(
        "rules_bundle.html",
        data=data,
        parameters=parameters,
        place=page.place(jurisdiction),
        confidence=CONFIDENCE,
    )
