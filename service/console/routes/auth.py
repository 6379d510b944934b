"""Signing in with an API key (exchanged for a session cookie), signing out, the start page."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.api import access
from service.api.auth import EVALUATE, REPLAY
from service.console.web import (
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    ConsoleRoute,
    Page,
    form_pairs,
    lang_of,
    local_path,
    login_token,
    new_nonce,
    open_page,
    sessions_of,
)
from service.contract.errors import Refusal

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


@router.get("")
@router.get("/")
async def start(request: Request) -> Response:
    """The start page of the role: intake for clerks, the decisions for auditors, else rules."""
    page = await open_page(request, None)
    if page.may(EVALUATE):
        return page.redirect(page.url("/intake"))
    if page.may(REPLAY):
        return page.redirect(page.url("/decisions"))
    return page.redirect(page.url("/rules"))


def _login_form(page: Page, nonce: str, status: int = 200, **context: object) -> Response:
    page.cookies[LOGIN_COOKIE] = nonce
    return page.render("login.html", status, csrf_login=login_token(page.runtime, nonce), **context)


@router.get("/login")
async def login_page(
    request: Request,
    next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
    ended: Annotated[str | None, Query(max_length=2)] = None,
    out: Annotated[str | None, Query(max_length=2)] = None,
) -> Response:
    page = Page(request, lang_of(request))
    notice = "login.expired" if ended else ("login.signed_out" if out else None)
    return _login_form(page, new_nonce(), next=local_path(next_, ""), notice=notice, refused=False)


@router.post("/login")
async def login(request: Request) -> Response:
    """The key is checked as the API checks it; only the session's token goes back."""
    page = Page(request, lang_of(request))
    fields = dict(await form_pairs(request))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    sent = fields.get("csrf_token", "")
    if not nonce or not hmac.compare_digest(sent, login_token(page.runtime, nonce)):
        return page.render(
            "error.html",
            403,
            title=page.t("error.csrf"),
            message=page.t("error.csrf.body"),
            problems=[],
        )
    secret = fields.get("api_key", "").strip()
    principal = None
    if secret:
        try:  # the key is checked exactly as a request to the API presents it
            principal = await access.authenticate(
                page.runtime, [(b"x-api-key", secret.encode("utf-8", "replace"))]
            )
        except Refusal:
            principal = None
    target = local_path(fields.get("next"), PREFIX + "/")
    if principal is None:
        return _login_form(
            page, new_nonce(), 401, next=fields.get("next", ""), notice=None, refused=True
        )
    token = await run_in_threadpool(sessions_of(request).open, principal.key_id)
    request.state.principal = principal
    page.cookies[SESSION_COOKIE] = token
    response = page.redirect(target)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = await open_page(request, None)
    await page.form()  # a sign-out forged by another site is refused too
    assert page.token is not None
    await run_in_threadpool(sessions_of(request).close, page.token)
    response = page.redirect(page.url("/login", out="1"))
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
