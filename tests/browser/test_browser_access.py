"""Who may open what, and forms that did not come from the console's own pages."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Browsing, Service
from tests.browser.keyboard import press_button
from tests.browser.test_browser_sign_in import SESSION_COOKIE, sign_in

AUDIT_PAGES = ["/console/decisions", "/console/audit/verify"]


@pytest.mark.parametrize("path", AUDIT_PAGES)
def test_an_intake_key_cannot_open_audit_pages(
    browsing: Browsing, service: Service, path: str
) -> None:
    page = browsing.page
    sign_in(browsing, service.intake_key)
    response = browsing.goto(path, "forbidden")
    assert response.status == 403
    # a page that says so (not a blank one), in Chinese and in English
    assert page.locator("#error").is_visible()
    title = page.locator("#error-title").inner_text()
    assert title.strip()
    text = page.locator("#error").inner_text()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)
    assert any("a" <= ch.lower() <= "z" for ch in text)
    # and the navigation offers the clerk no way there
    assert page.locator("#nav-decisions").count() == 0
    assert page.locator("#nav-verify").count() == 0
    assert page.locator("#nav-intake").count() == 1


def test_a_form_posted_without_its_csrf_token_is_refused(
    browsing: Browsing, service: Service
) -> None:
    page = browsing.page
    sign_in(browsing, service.intake_key)
    # The sign-out form, its token taken out: refused, and the session goes on.
    page.locator("form[action='/console/logout'] input[name=csrf_token]").evaluate(
        "el => el.remove()"
    )
    with page.expect_response(lambda r: r.url.endswith("/console/logout")) as posted:
        browsing.submit(lambda: press_button(page, "sign-out"), "sign-out-without-token")
    assert posted.value.status == 403
    assert page.locator("#error").is_visible()
    browsing.goto("/console/intake", "still-signed-in")
    assert page.locator("#who-name").inner_text() == "desk-1"

    # The intake form sent by another page with the session's cookie but no token (what a
    # forged cross-site form would send): refused, nothing evaluated.
    refused = page.request.post(
        service.url("/console/intake"),
        form={"action": "evaluate", "jurisdiction": "wuhan", "as_of": "2022-08-01"},
        max_redirects=0,
    )
    assert refused.status == 403
    # with a wrong token as well
    refused = page.request.post(
        service.url("/console/intake"),
        form={"action": "evaluate", "csrf_token": "x" * 43, "jurisdiction": "wuhan"},
        max_redirects=0,
    )
    assert refused.status == 403
    # the sign-in form too (login CSRF): a key posted without the page's token opens nothing
    fresh = page.context.browser.new_context()
    try:
        answer = fresh.request.post(
            service.url("/console/login"), form={"api_key": service.auditor_key}, max_redirects=0
        )
        assert answer.status == 403
        assert SESSION_COOKIE not in {c["name"] for c in fresh.cookies()}
    finally:
        fresh.close()
