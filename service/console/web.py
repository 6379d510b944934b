"""What every console page shares: the session behind it, its language, its CSRF token, the
templates, and the pages of a refusal (403, 404, 422, the CSRF refusal, 503).

A page handler starts with ``page = await open_page(request, PERMISSION)``: no live session
sends the browser to the sign-in page; a role without the permission gets the 403 page, as the
API answers 403 (the same table, :data:`service.api.auth.PERMISSIONS`). A POST handler then calls
``await page.form()``, which refuses a body without the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.api import access
from service.api.actions import rulesets
from service.api.auth import EVALUATE as INTAKE
from service.api.auth import PERMISSIONS, RECORD, REPLAY, VERIFY, Principal
from service.api.auth import RULES as RULES_PERMISSION
from service.api.errors import (
    DATABASE_ERRORS,
    DatabaseUnavailable,
    problems_from_request_validation,
    store_failure,
)
from service.api.runtime import Runtime
from service.console.assets import asset_url
from service.console.text import LANGS, Lang, code_name, word
from service.contract.errors import Refusal
from service.store.errors import LogDamagedError
from service.store.sessions import ConsoleSessions

PREFIX = "/console"
SESSION_COOKIE = "elig_console"
LOGIN_COOKIE = "elig_console_login"
LANG_COOKIE = "elig_console_lang"
CSRF_FIELD = "csrf_token"

# Every page and asset comes from this service: no other host is ever asked for anything.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none';"
        " base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # pages carry decisions and masked personal data: never kept by a shared browser's cache
    "Cache-Control": "no-store",
}

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.globals["asset"] = asset_url


def shown_value(value: Any) -> str:
    """A rule parameter's or trace value as compact JSON text (Chinese kept as it is)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


TEMPLATES.filters["value"] = shown_value


class PageExit(Exception):
    """Leave the handler with this response (a redirect, a refusal page)."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def sessions_of(request: Request) -> ConsoleSessions:
    """The process's session table (made on first use, with the idle time of the settings)."""
    state = request.app.state
    found: ConsoleSessions | None = getattr(state, "console_sessions", None)
    if found is None:
        runtime = runtime_of(request)
        idle = timedelta(seconds=runtime.settings.console_session_idle_seconds)
        found = ConsoleSessions(runtime.db, idle)
        state.console_sessions = found
    return found


def lang_of(request: Request) -> Lang:
    """``?lang=`` first, then the remembered choice, then Chinese."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGS:
            return candidate  # type: ignore[return-value]
    return "zh"


def csrf_token(session_token: str) -> str:
    """The session's form token: a MAC of its cookie, which only the browser holding it and
    this service know (the cookie is HttpOnly: no script reads it)."""
    return hmac.new(session_token.encode(), b"console-csrf", hashlib.sha256).hexdigest()


def login_token(runtime: Runtime, nonce: str) -> str:
    """The sign-in form's token: a MAC, with the service's secret, of the nonce in its cookie."""
    return runtime.pseudonymizer.pseudonym("console_login_csrf", nonce)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, **extra: Any) -> None:
    response.set_cookie(
        name,
        value,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        **extra,
    )


def local_path(target: str | None, default: str) -> str:
    """``target`` if it is a path of the console (never another host), else ``default``."""
    if target and target.startswith(PREFIX + "/") and "\\" not in target and "//" not in target:
        return target
    return default


@dataclass
class Page:
    """One request to a console page: who, in which language, and the session's form token."""

    request: Request
    lang: Lang
    principal: Principal | None = None
    token: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> Runtime:
        return runtime_of(self.request)

    @property
    def csrf(self) -> str:
        return csrf_token(self.token) if self.token else ""

    def t(self, key: str, **values: Any) -> str:
        text = word(key, self.lang)
        return text.format(**values) if values else text

    def jurisdictions(self) -> list[tuple[str, str]]:
        """(code, name in the page's language) of every loaded jurisdiction."""
        rows = rulesets.list_rulesets(self.runtime)["jurisdictions"]
        return [(r["id"], r["name_zh"] if self.lang == "zh" else r["name_en"]) for r in rows]

    def place(self, jurisdiction: str) -> str:
        """A jurisdiction's name (its code if the rules no longer have it)."""
        return dict(self.jurisdictions()).get(jurisdiction, jurisdiction)

    def may(self, permission: str) -> bool:
        return self.principal is not None and self.principal.role in PERMISSIONS[permission]

    def url(self, path: str, **query: Any) -> str:
        """A console URL; empty query values are left out."""
        shown = {k: v for k, v in query.items() if v not in (None, "")}
        return PREFIX + path + ("?" + urlencode(shown) if shown else "")

    def lang_switch_url(self) -> str:
        other = "en" if self.lang == "zh" else "zh"
        query = [(k, v) for k, v in self.request.query_params.multi_items() if k != "lang"]
        return self.request.url.path + "?" + urlencode([*query, ("lang", other)])

    def render(
        self,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = TEMPLATES.get_template(template).render(
            page=self,
            t=self.t,
            name=lambda kind, code: code_name(kind, code, self.lang),
            lang=self.lang,
            INTAKE=INTAKE,
            RECORD=RECORD,
            REPLAY=REPLAY,
            VERIFY=VERIFY,
            RULES=RULES_PERMISSION,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        return self.finish(response)

    def finish(self, response: Response) -> Response:
        """Security headers, and the language remembered when ``?lang=`` chose it."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        chosen = self.request.query_params.get("lang")
        if chosen in LANGS and chosen != self.request.cookies.get(LANG_COOKIE):
            set_cookie(self.request, response, LANG_COOKIE, chosen, max_age=365 * 86400)
        for name, value in self.cookies.items():
            set_cookie(self.request, response, name, value)
        return response

    def redirect(self, target: str) -> Response:
        return self.finish(RedirectResponse(target, status_code=303))

    async def form(self) -> list[tuple[str, str]]:
        """The posted form's fields in order; refuses (403 page) a form without the session's
        CSRF token. Only ``application/x-www-form-urlencoded`` is taken."""
        pairs = await form_pairs(self.request)
        sent = next((v for k, v in pairs if k == CSRF_FIELD), "")
        if not self.token or not hmac.compare_digest(sent.encode(), self.csrf.encode()):
            raise PageExit(self.render("error.html", 403, **csrf_refusal(self)))
        return [(k, v) for k, v in pairs if k != CSRF_FIELD]


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return []
    body = await request.body()
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def csrf_refusal(page: Page) -> dict[str, Any]:
    return {"title": page.t("error.csrf"), "message": page.t("error.csrf.body"), "problems": []}


async def open_page(request: Request, permission: str | None) -> Page:
    """The page of a signed-in user whose role may do ``permission`` (None: anyone signed in).

    Not signed in (or the session ended): a redirect to the sign-in page, back here after it.
    """
    page = Page(request, lang_of(request))
    runtime = page.runtime
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        if not runtime.schema_ok and not await run_in_threadpool(runtime.ensure_schema):
            raise DatabaseUnavailable(runtime.schema_problem)
        session = await run_in_threadpool(sessions_of(request).get, token)
    if session is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = {"next": back} if request.method == "GET" else {}
        if token:
            query["ended"] = "1"
        response = page.redirect(page.url("/login", **query))
        if token:
            response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        raise PageExit(response)
    key = session.key
    page.principal = Principal(key.id, key.name, key.role)
    page.token = token
    request.state.principal = page.principal  # the access log names the key
    if permission is not None:
        try:
            access.check_role(page.principal, permission)
        except Refusal:
            raise PageExit(forbidden_page(page, permission)) from None
    return page


def forbidden_page(page: Page, permission: str) -> Response:
    """The 403 page, in both languages whatever the choice: the reader may need the other."""
    assert page.principal is not None
    role = page.principal.role
    allowed = sorted(PERMISSIONS[permission])

    def sentence(lang: Lang) -> str:
        roles = ("、" if lang == "zh" else ", ").join(word(f"role.{r}", lang) for r in allowed)
        return word("error.403.body", lang).format(role=word(f"role.{role}", lang), allowed=roles)

    return page.render(
        "error.html",
        403,
        title=page.t("error.403"),
        message="",
        both=[(word("error.403", lang), sentence(lang)) for lang in LANGS],
        problems=[],
    )


def refusal_page(page: Page, refusal: Refusal) -> Response:
    """A refusal of an action (404, 409, 422 …) with its problems, in the page's language."""
    titles = {404: "error.404", 503: "error.503"}
    title = page.t(titles.get(refusal.status, "error.title"))
    problems = [
        (p.get("path", ""), p["reason_zh"] if page.lang == "zh" else p["reason_en"])
        for p in refusal.problems
    ]
    return page.render(
        "error.html", refusal.status, refusal.headers, title=title, message="", problems=problems
    )


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A console route: what would be a JSON error on the API is a page here."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except PageExit as leave:
                return leave.response
            except Refusal as refusal:
                return refusal_page(Page(request, lang_of(request)), refusal)
            except RequestValidationError as invalid:
                problems = problems_from_request_validation(invalid.errors())
                return refusal_page(Page(request, lang_of(request)), Refusal(422, problems))
            except LogDamagedError as damaged:
                # Named, as on the API: no retry cures it, an operator must look.
                retry_after = runtime_of(request).settings.retry_after_seconds
                refusal = store_failure(damaged, retry_after)
                return refusal_page(Page(request, lang_of(request)), refusal)
            except DATABASE_ERRORS:
                page = Page(request, lang_of(request))
                retry = str(runtime_of(request).settings.retry_after_seconds)
                return page.render(
                    "error.html",
                    503,
                    {"Retry-After": retry},
                    title=page.t("error.503"),
                    message=page.t("error.503.body"),
                    problems=[],
                )

        return handler


def new_nonce() -> str:
    return secrets.token_urlsafe(24)
