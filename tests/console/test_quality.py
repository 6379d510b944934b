"""What every page owes its reader: labels on every input, contrast, nothing asked of another
host, keyboard-reachable controls, a working page at both supported widths (the style sheet's
breakpoints), the security headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.console.assets import ASSETS
from tests.console.conftest import Console

ROOT = Path(__file__).resolve().parents[2]
CSS = ASSETS["console.css"][0].decode("utf-8")
JS = ASSETS["console.js"][0].decode("utf-8")


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


COLOURS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", CSS))


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("ink", "paper"),
        ("muted", "paper"),
        ("accent", "paper"),
        ("accent-ink", "accent"),
        ("ok", "ok-bg"),
        ("bad", "bad-bg"),
        ("warn", "warn-bg"),
        ("na", "na-bg"),
        ("ink", "shade"),
        ("bad", "paper"),
    ],
)
def test_text_colours_meet_wcag_aa_contrast(text: str, background: str) -> None:
    assert contrast(COLOURS[text], COLOURS[background]) >= 4.5


def test_the_style_sheet_fetches_nothing_and_fits_both_screens() -> None:
    assert "url(" not in CSS and "@import" not in CSS and "@font-face" not in CSS
    assert "http" not in JS.replace("HTMLInputElement", "").replace("HTMLFormElement", "")
    # the intake layout turns to one column below 1100px (the 768px tablet), filters below 800px
    assert "@media (max-width: 1100px)" in CSS and "@media (max-width: 800px)" in CSS
    assert "size: A4" in CSS


PAGES = {
    "intake": ["/console/intake", "/console/rules", "/console/rules/bundle?jurisdiction=wuhan"],
    "auditor": [
        "/console/decisions",
        "/console/audit/verify",
        "/console/rules/diff?jurisdiction=wuhan&from=2021-08-01&to=2024-08-01",
    ],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_page_labels_its_inputs_and_loads_only_its_own_assets(
    sqlite_console: Console, role: str
) -> None:
    browser = sqlite_console.browser(role)
    body = (ROOT / "tests/examples/wuhan-dibao-household-eligible.json").read_bytes()
    decision = sqlite_console.api.post_decision(body).json()["decision_id"]
    extra = [f"/console/decisions/{decision}", f"/console/decisions/{decision}/notice"]
    for path in PAGES[role] + (extra if role == "auditor" else []):
        page = browser.get(path)
        assert page.status_code == 200, path
        html = re.sub(r"<template.*?</template>", "", page.text, flags=re.S)
        fields = re.findall(r"<(?:input|select|textarea)\b([^>]*)>", html)
        for attributes in fields:
            if 'type="hidden"' in attributes:
                continue
            found = re.search(r'id="([^"]+)"', attributes)
            assert found, f"{path}: an input without an id: {attributes}"
            assert f'<label for="{found.group(1)}"' in html, f"{path}: {found.group(1)} unlabelled"
        # every address the page refers to is this service's own
        for address in re.findall(r'(?:src|href|action)="([^"]+)"', html):
            assert address.startswith(("/console/", "#", "data:", "?")), f"{path}: {address}"
        # the content security policy allows no inline style or script: there is none
        assert ' style="' not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
        # no control a keyboard cannot reach: no click handlers on plain elements
        assert "onclick" not in html and 'tabindex="-1"' not in html.replace(
            'class="default-submit" tabindex="-1"', ""
        ).replace('id="main" tabindex="-1"', "").replace(
            'id="result-title" tabindex="-1"', ""
        ).replace('id="error-summary" role="alert" tabindex="-1"', "")
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-frame-options"] == "DENY"


def test_assets_are_served_with_their_hash(sqlite_console: Console) -> None:
    client = sqlite_console.anonymous()
    page = client.get("/console/login")
    for name in ("console.css", "console.js"):
        address = re.search(rf'"(/console/static/{name}\?v=[0-9a-f]+)"', page.text)
        assert address, name
        asset = client.get(address.group(1))
        assert asset.status_code == 200 and asset.content == ASSETS[name][0]
    assert client.get("/console/static/secret.key").status_code == 404
    assert client.get("/console/static/../settings.py").status_code == 404


def test_an_unknown_console_address_is_a_page(sqlite_console: Console) -> None:
    page = sqlite_console.anonymous().get("/console/nowhere")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"] and 'id="error-title"' in page.text


def test_secure_cookies_over_https(api_factory, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from tests.console.conftest import csrf_of

    api = api_factory(sqlite_url)
    client = TestClient(api.app, base_url="https://console.example", follow_redirects=False)
    form = client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"csrf_token": csrf_of(form.text), "api_key": api.keys["intake"]},
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("elig_console="))
    assert "; secure" in cookie.lower()
