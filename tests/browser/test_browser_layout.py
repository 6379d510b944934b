"""Keyboard-only use of the intake form, and the main pages at 1366×768 and on a 768×1024
tablet: nothing wider than the window (no horizontal scrolling)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.browser.conftest import DESKTOP, TABLET, Browsing, Service
from tests.browser.keyboard import press_button, type_date
from tests.browser.test_browser_sign_in import sign_in
from tests.helpers import load_example

# Every control a keyboard user can reach, in document order (what Tab must visit).
REACHABLE = """(root) => Array.from(root.querySelectorAll('input, select, textarea, button, a[href]'))
  .filter(el => el.type !== 'hidden' && !el.disabled && el.tabIndex >= 0
    && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
  .map(el => el.id || (el.name && el.name + '=' + el.value) || el.getAttribute('href'))"""

ACTIVE = """() => { const el = document.activeElement; if (!el) return null;
  return el.id || (el.name && el.name + '=' + el.value) || el.getAttribute('href') || el.tagName; }"""


def test_tab_reaches_every_field_and_button_of_the_intake_form_in_order(
    browsing: Browsing, service: Service
) -> None:
    page = browsing.page
    sign_in(browsing, service.intake_key)
    # a form with a row in every list, so that their fields are on the page too
    for group in ("household-members", "household-income", "household-deductions"):
        press_button(page, f"add-{group}")
    for group in ("household-assets-vehicles", "household-assets-houses"):
        press_button(page, f"add-{group}")
    browsing.snap("intake-with-rows")
    expected = page.locator("#intake-form").evaluate(REACHABLE)
    assert len(expected) > 40, expected  # the whole household form, not a fragment of it

    # The skip link comes first in the page; the walk starts there, as the first Tab would.
    assert page.locator("body").evaluate(REACHABLE)[0] == "#main"
    page.locator("a.skip").focus()
    visited: list[str | None] = []
    for _ in range(len(expected) * 2 + 60):
        page.keyboard.press("Tab")
        here = page.evaluate(ACTIVE)
        if visited and here == visited[0] or here in ("BODY", None):
            break
        if not visited or visited[-1] != here:  # a date field takes a Tab per part
            visited.append(here)
    in_form = [v for v in visited if v in expected]
    assert in_form[: len(expected)] == expected, "Tab order differs from the form's order"
    missing = [e for e in expected if e not in visited]
    assert missing == []
    # every field and button the Tab order reached shows where the focus is
    page.locator("#evaluate").focus()
    outline = page.locator("#evaluate").evaluate(
        "el => { const s = getComputedStyle(el); return s.outlineStyle + ' ' + s.boxShadow; }"
    )
    assert outline.split()[0] != "none" or "rgb" in outline, outline


def record_wuhan(service: Service) -> str:
    answer = httpx.post(
        service.url("/v1/decisions"),
        json=load_example("wuhan-dibao-household-eligible.json"),
        headers={"Authorization": f"Bearer {service.intake_key}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["decision_id"])


def no_horizontal_scroll(browsing: Browsing) -> None:
    wide = browsing.page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert wide[0] <= wide[1], f"{browsing.page.url}: {wide[0]} px wide in {wide[1]} px"


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["1366x768", "768x1024"])
def test_the_main_pages_fit_the_window(
    new_browsing: Callable[..., Browsing], service: Service, viewport: dict[str, int]
) -> None:
    decision_id = record_wuhan(service)
    clerk = new_browsing("clerk", viewport)
    clerk.goto("/console/login", "sign-in")
    no_horizontal_scroll(clerk)
    sign_in(clerk, service.intake_key)
    no_horizontal_scroll(clerk)  # the intake form
    page = clerk.page
    type_date(page, "household-members-0-birth_date", "1979-03-08")
    press_button(page, "evaluate")
    page.locator("#result").wait_for()
    clerk.snap("intake-result")
    no_horizontal_scroll(clerk)
    for path in ("/console/rules", "/console/rules/bundle?jurisdiction=wuhan&as_of=2022-08-01"):
        clerk.goto(path, path.rsplit("/", 1)[-1])
        no_horizontal_scroll(clerk)

    auditor = new_browsing("auditor", viewport)
    sign_in(auditor, service.auditor_key)
    for path in (
        "/console/decisions",
        f"/console/decisions/{decision_id}",
        f"/console/decisions/{decision_id}/notice",
        "/console/audit/verify",
    ):
        answer = auditor.goto(path, path.rsplit("/", 1)[-1])
        assert answer.status == 200, path
        no_horizontal_scroll(auditor)
