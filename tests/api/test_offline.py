"""Offline networks: no page the service serves loads anything from another host.

Government intranets have no internet: a page that pulls its script, style sheet, font or icon
from a CDN is blank there. The test walks every GET route of the app, takes each answer that is
HTML, and checks every reference on it (``src``, ``href``, any other attribute, ``url(...)``,
``@import``, ``import``); then it fetches each asset those pages reference from the service and
checks what the asset itself loads (style sheets: ``url(...)``, ``@import``; scripts: ``import``,
``importScripts``, ``src``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from starlette.routing import Route

from tests.api.conftest import Api

SERVICE = "http://testserver"

# An absolute (scheme://host) or protocol-relative (//host) reference.
_ABSOLUTE = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//")
# A quoted or bare absolute URL inside a script or style on the page.
_INLINE_URL = re.compile(r"""(?:^|[\s"'(=,`])((?:https?:)?//[A-Za-z0-9\[][^\s"'()<>`]*)""")
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]*)\1\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(["'])([^"']+)\1""", re.IGNORECASE)
_JS_LOADS = (
    re.compile(r"""\bimport\s*\(\s*["'`]([^"'`]+)["'`]"""),  # import("...")
    re.compile(
        r"""\bimport\s+(?:[\w*{}\s,$]+\s+from\s+)?["']([^"']+)["']"""
    ),  # import x from "..."
    re.compile(r"""\bimportScripts\(\s*["'`]([^"'`]+)["'`]"""),
    re.compile(r"""\bsrc\s*[:=]\s*["'`]([^"'`]+)["'`]"""),  # img/script src set from code
)


def _foreign(reference: str, base: str) -> bool:
    """True when ``reference`` (resolved against ``base``) points to a host other than ours."""
    reference = reference.strip()
    if reference.startswith(("data:", "blob:", "#", "about:", "javascript:")):
        return False
    if not _ABSOLUTE.match(reference):
        return False  # relative: our own host
    target = urlsplit(urljoin(base, reference))
    return (target.scheme, target.netloc) != tuple(urlsplit(SERVICE)[:2])


class _References(HTMLParser):
    """Every attribute value of every tag, and the text of inline scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline.append(data)


def _page_problems(url: str, html: str) -> tuple[list[str], list[str]]:
    """(foreign references on the page, same-host assets it loads)."""
    parser = _References()
    parser.feed(html)
    problems: list[str] = []
    assets: list[str] = []
    for tag, name, value in parser.attributes:
        if _foreign(value, url):
            problems.append(f"{url}: <{tag} {name}={value!r}>")
        elif (
            name in ("src", "href")
            and tag in ("script", "img", "link", "iframe", "source")
            and not value.startswith(("#", "data:"))
        ):
            assets.append(urljoin(url, value))
        if name == "style":
            problems += [
                f"{url}: style url({u})" for _, u in _CSS_URL.findall(value) if _foreign(u, url)
            ]
    for text in parser.inline:
        problems += [f"{url}: inline {u}" for u in _INLINE_URL.findall(text) if _foreign(u, url)]
        problems += [f"{url}: url({u})" for _, u in _CSS_URL.findall(text) if _foreign(u, url)]
        problems += [
            f"{url}: @import {u}" for _, u in _CSS_IMPORT.findall(text) if _foreign(u, url)
        ]
        for pattern in _JS_LOADS:
            problems += [f"{url}: loads {u}" for u in pattern.findall(text) if _foreign(u, url)]
    return problems, assets


def _asset_problems(url: str, content_type: str, text: str) -> list[str]:
    found: list[str] = []
    if "css" in content_type:
        found += [u for _, u in _CSS_URL.findall(text)]
        found += [u for _, u in _CSS_IMPORT.findall(text)]
    if "javascript" in content_type:
        for pattern in _JS_LOADS:
            found += pattern.findall(text)
    return [f"{url}: loads {u}" for u in found if _foreign(u, url)]


def _get_paths(api: Api) -> list[str]:
    """Every GET route of the app (its routes, and the documented ones, which include those of
    routers), path parameters filled with a placeholder."""
    paths = [
        route.path
        for route in api.app.routes
        if isinstance(route, Route) and "GET" in (route.methods or ())
    ]
    paths += [path for path, item in api.app.openapi()["paths"].items() if "get" in item]
    return sorted({re.sub(r"\{[^}]+\}", "x", path) for path in paths})


def test_no_page_the_service_serves_loads_anything_from_another_host(sqlite_api: Api) -> None:
    client = sqlite_api.client
    headers = sqlite_api.headers("auditor")
    pages: dict[str, str] = {}
    for path in [*_get_paths(sqlite_api), "/docs", "/redoc"]:
        answer = client.get(path, headers=headers)
        if answer.headers.get("content-type", "").startswith("text/html"):
            pages[SERVICE + path] = answer.text
    # The walk did find the documentation page (a browsable /docs is promised in the README).
    assert SERVICE + "/docs" in pages, sorted(pages)

    problems: list[str] = []
    assets: set[str] = set()
    for url, html in pages.items():
        page_problems, page_assets = _page_problems(url, html)
        problems += page_problems
        assets.update(page_assets)
    for asset in sorted(assets):
        answer = client.get(asset)
        assert answer.status_code == 200, (asset, answer.status_code)
        problems += _asset_problems(asset, answer.headers.get("content-type", ""), answer.text)
    assert not problems, "\n".join(problems)


def test_swagger_ui_is_served_by_the_service_and_its_online_validator_is_off(
    sqlite_api: Api,
) -> None:
    """The page works offline: its script and style come from us, and Swagger UI's one built-in
    call to another host (the online validator badge, on by default) is switched off."""
    page = sqlite_api.client.get("/docs")
    assert page.status_code == 200
    parser = _References()
    parser.feed(page.text)
    scripts = [v for tag, name, v in parser.attributes if tag == "script" and name == "src"]
    links = [v for tag, name, v in parser.attributes if tag == "link" and name == "href"]
    styles = [link for link in links if link.endswith(".css")]
    assert any(s.endswith("swagger-ui-bundle.js") for s in scripts), scripts
    assert any(s.endswith("swagger-ui.css") for s in styles), styles
    for reference in scripts + styles:
        answer = sqlite_api.client.get(reference)
        assert answer.status_code == 200 and len(answer.content) > 10_000, reference
    assert re.search(r'"validatorUrl":\s*null', page.text), "Swagger UI would call its validator"
    # The document it shows is ours, from the same host.
    assert "url: '/openapi.json'" in page.text


def test_redoc_which_loads_its_logo_from_its_cdn_is_not_served(sqlite_api: Api) -> None:
    """ReDoc's bundle fetches its logo from its own CDN at run time: the service leaves it out
    (``/docs`` shows the same document)."""
    assert sqlite_api.client.get("/redoc").status_code == 404
