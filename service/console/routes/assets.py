"""The console's style sheet and script, served by the service (no CDN: intranets have no
internet), and the page for an unknown console address."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.console.assets import ASSETS
from service.console.web import PREFIX, ConsoleRoute, Page, lang_of

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    found = ASSETS.get(name)
    if found is None:
        return Response(status_code=404)
    body, media_type, _ = found
    return Response(
        body,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/{path:path}")
async def unknown(request: Request, path: str) -> Response:
    page = Page(request, lang_of(request))
    return page.render(
        "error.html", 404, title=page.t("error.404"), message=page.t("error.404.body"), problems=[]
    )
