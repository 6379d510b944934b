"""Signing in and out of the console in a real browser."""

from __future__ import annotations

from collections.abc import Callable

from tests.browser.conftest import Browsing, Service

SESSION_COOKIE = "elig_console"


def sign_in(browsing: Browsing, key: str, next_path: str | None = None) -> None:
    """Type the key into the sign-in page and press Enter, as a clerk does."""
    browsing.goto("/console/login" + (f"?next={next_path}" if next_path else ""), "sign-in")
    page = browsing.page
    page.locator("#api_key").press_sequentially(key)
    browsing.submit(lambda: page.locator("#api_key").press("Enter"), "signed-in")


def test_sign_in_with_a_key_opens_a_session_that_keeps_no_key(
    browsing: Browsing, service: Service
) -> None:
    page = browsing.page
    browsing.goto("/console/rules", "rules-signed-out")
    # Not signed in: the sign-in page, which will lead back to the page asked for.
    assert page.url.startswith(service.url("/console/login"))
    assert page.locator("#api_key").get_attribute("type") == "password"
    assert page.locator("label[for=api_key]").inner_text().strip()
    assert page.locator("#login-form input[name=csrf_token]").get_attribute("value")

    page.locator("#api_key").press_sequentially(service.auditor_key)
    browsing.submit(lambda: page.locator("#login-submit").click(), "rules-signed-in")
    assert page.url == service.url("/console/rules")
    assert page.locator("#who-name").inner_text() == "inspector-1"
    assert page.locator("#who-role").get_attribute("data-role") == "auditor"
    assert page.locator("#jurisdictions tr[data-jurisdiction=wuhan]").count() == 1

    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies[SESSION_COOKIE]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/console"
    # The key itself is nowhere in the browser: not in a cookie, storage or the page.
    for cookie in cookies.values():
        assert service.auditor_key not in cookie["value"]
    stored = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert service.auditor_key not in stored
    assert service.auditor_key not in page.content()
    # Script cannot read the session cookie (HttpOnly).
    assert SESSION_COOKIE not in page.evaluate("() => document.cookie")


def test_a_wrong_key_is_refused_at_the_key_field(browsing: Browsing) -> None:
    page = browsing.page
    browsing.goto("/console/login", "sign-in")
    page.locator("#api_key").press_sequentially("elig_not-a-key-of-this-service")
    browsing.submit(lambda: page.locator("#api_key").press("Enter"), "refused")
    assert page.locator("#login-error").is_visible()
    assert page.locator("#api_key").get_attribute("aria-invalid") == "true"
    assert page.locator("#who-name").count() == 0
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}


def test_a_session_after_sign_out_is_refused(
    new_browsing: Callable[..., Browsing], service: Service
) -> None:
    browsing = new_browsing("clerk")
    page = browsing.page
    sign_in(browsing, service.auditor_key, "/console/rules")
    assert page.locator("#who-role").get_attribute("data-role") == "auditor"
    [session] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]

    browsing.submit(lambda: page.locator("#sign-out").click(), "signed-out")
    assert page.url.startswith(service.url("/console/login"))
    assert page.locator("#login-notice").is_visible()
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}

    # The old cookie, put back (as a copy of it stolen before sign-out would be), opens nothing.
    page.context.add_cookies([session])
    browsing.goto("/console/rules", "old-session")
    assert page.url.startswith(service.url("/console/login"))
    assert page.locator("#login-notice").is_visible()
    assert page.locator("#who-name").count() == 0
    assert page.locator("#jurisdictions").count() == 0


def test_the_offline_gate_counts_and_stops_a_request_to_another_host(
    browsing: Browsing, service: Service
) -> None:
    """The count every page is checked against can be other than 0: a page of the service's
    origin that asks another host for an image has that request counted and aborted."""
    page = browsing.page
    browsing.goto("/console/login", "sign-in")
    elsewhere = "http://198.51.100.7/logo.png"  # TEST-NET-2: never a real host
    page.evaluate(
        "(src) => new Promise(done => { const i = new Image(); i.onerror = i.onload = done;"
        " i.src = src; })",
        elsewhere,
    )
    assert browsing.outside == [elsewhere]
    browsing.outside.clear()  # seen: the teardown's check is for pages of the console
