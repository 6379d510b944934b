"""The intake window (一门受理) in a real browser: the clerk fills the form from the keyboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.browser.conftest import Browsing, Service
from tests.browser.keyboard import (
    check,
    choose,
    choose_label,
    field,
    press_button,
    type_date,
    type_text,
)
from tests.browser.test_browser_sign_in import sign_in
from tests.helpers import load_example

WUHAN = "wuhan-dibao-household-eligible.json"


def add_item(page: Any, group_id: str) -> None:
    """The 添加 button of a list, from the keyboard; the new item's first field gets the focus."""
    items = page.locator(f"#items-{group_id} > [data-item]")
    before = items.count()
    press_button(page, f"add-{group_id}")
    page.wait_for_function(
        "([id, n]) => document.querySelectorAll(`#items-${id} > [data-item]`).length === n",
        arg=[group_id, before + 1],
    )


def fill_wuhan_household(page: Any) -> None:
    """tests/examples/wuhan-dibao-household-eligible.json, typed in field by field."""
    m = "household-members"
    choose(page, "jurisdiction", "wuhan")
    type_date(page, "as_of", "2022-08-01")
    choose(page, "residence", "urban")

    # m1, the applicant: the blank form's first member
    assert field(page, f"{m}-0-id").input_value() == "m1"
    choose(page, f"{m}-0-relation", "applicant")
    type_date(page, f"{m}-0-birth_date", "1979-03-08")
    check(page, f"{m}-0-employed")
    type_text(page, f"{m}-0-name", "王某")
    type_text(page, f"{m}-0-id_number", "42010619790308123X")

    add_item(page, m)
    assert field(page, f"{m}-1-id").input_value() == "m2"
    choose(page, f"{m}-1-relation", "spouse")
    type_date(page, f"{m}-1-birth_date", "1981-11-20")
    check(page, f"{m}-1-serious_illness")

    add_item(page, m)
    assert field(page, f"{m}-2-id").input_value() == "m3"
    choose(page, f"{m}-2-relation", "child")
    type_date(page, f"{m}-2-birth_date", "2010-06-01")
    choose(page, f"{m}-2-schooling", "compulsory")

    income = "household-income"
    for index, (member, kind, monthly) in enumerate(
        [("m1", "wage", "2100.00"), ("m2", "transfer", "150.00")]
    ):
        add_item(page, income)
        type_text(page, f"{income}-{index}-member", member)
        choose(page, f"{income}-{index}-type", kind)
        type_text(page, f"{income}-{index}-monthly", monthly)

    deductions = "household-deductions"
    add_item(page, deductions)
    type_text(page, f"{deductions}-0-member", "m1")
    choose(page, f"{deductions}-0-type", "employment_cost")
    type_text(page, f"{deductions}-0-monthly", "150.00")

    type_text(page, "household-assets-financial", "2000.00")
    check(page, "none-household-assets-vehicles")
    houses = "household-assets-houses"
    add_item(page, houses)
    type_text(page, f"{houses}-0-area_m2", "55")
    choose(page, f"{houses}-0-dilapidated", "false")
    choose(page, "household-assets-commercial_property", "false")
    type_text(page, "household-assets-business_capital", "0.00")


def wait_result(page: Any, recorded: bool) -> Any:
    result = page.locator(f"#result[data-recorded={'true' if recorded else 'false'}]")
    result.wait_for()
    return result


def test_intake_journey_wuhan_evaluate_record_then_audit_replay(
    new_browsing: Callable[..., Browsing], service: Service
) -> None:
    clerk = new_browsing("clerk")
    page = clerk.page
    sign_in(clerk, service.intake_key)
    assert page.url == service.url("/console/intake")
    fill_wuhan_household(page)
    clerk.snap("filled")
    # On screen the ID number is masked once entered (the field has lost the focus): no digit
    # of it is shown, yet the field is not empty.
    shown = field(page, "household-members-0-id_number").input_value()
    assert shown and not any(ch.isdigit() for ch in shown), shown

    press_button(page, "evaluate")  # 试算: nothing recorded
    wait_result(page, recorded=False)
    clerk.snap("evaluated")
    dibao = page.locator("#result-dibao")
    assert dibao.get_attribute("data-status") == "eligible"
    assert dibao.get_attribute("data-amount") == "994.00"
    assert "994.00" in page.locator("#amount-dibao").inner_text()
    assert page.locator("#decision-id").count() == 0
    # 特困 lacks one fact, listed with a link back to its field (m3's capable supporter)
    assert page.locator("#result-tekun").get_attribute("data-status") == "insufficient_data"
    missing = page.locator("#missing li[data-field='household.members[2].has_capable_supporter']")
    assert missing.count() == 1
    missing.locator("a").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "household-members-2-has_capable_supporter"

    # The form the browser sent is the contract example: the API decides it the same way.
    example = httpx.post(
        service.url("/v1/evaluate"),
        json=load_example(WUHAN),
        headers={"Authorization": f"Bearer {service.intake_key}"},
        timeout=30,
    ).json()
    for program, outcome in example["programs"].items():
        shown_status = page.locator(f"#result-{program}").get_attribute("data-status")
        assert shown_status == outcome["status"], program

    press_button(page, "record")  # 提交认定
    wait_result(page, recorded=True)
    clerk.snap("recorded")
    decision_id = page.locator("#decision-id").inner_text().strip()
    assert len(decision_id) >= 16
    assert page.locator("#result-dibao").get_attribute("data-amount") == "994.00"
    stored = httpx.get(
        service.url(f"/v1/decisions/{decision_id}"),
        headers={"Authorization": f"Bearer {service.auditor_key}"},
        timeout=30,
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["response"]["programs"]["dibao"]["monthly_amount"] == "994.00"

    audit(new_browsing("auditor"), service, decision_id)


def audit(auditor: Browsing, service: Service, decision_id: str) -> None:
    """The auditor finds the decision in the list, opens it and replays it: identical."""
    page = auditor.page
    sign_in(auditor, service.auditor_key)
    assert page.url.startswith(service.url("/console/decisions"))
    # the filters an auditor would use to find this morning's Wuhan 低保 decisions of desk-1
    type_date(page, "filter-from", "2022-08-01")
    type_date(page, "filter-to", "2022-08-01")
    choose(page, "filter-jurisdiction", "wuhan")
    choose(page, "filter-program", "dibao")
    choose(page, "filter-status", "eligible")
    choose_label(page, "filter-key", "desk-1")
    auditor.submit(lambda: press_button(page, "filter-apply"), "decisions-filtered")
    rows = page.locator("#decisions tbody tr")
    for index in range(rows.count()):  # every row listed matches every filter
        assert rows.nth(index).get_attribute("data-jurisdiction") == "wuhan"
        dibao = rows.nth(index).locator(".badge[data-program=dibao]")
        assert dibao.get_attribute("data-status") == "eligible"
    row = page.locator(f"#decisions tr[data-decision-id='{decision_id}']")
    assert row.count() == 1
    link = row.locator("a.decision-link")
    auditor.submit(lambda: (link.focus(), page.keyboard.press("Enter")), "decision-detail")
    assert page.url == service.url(f"/console/decisions/{decision_id}")
    assert page.locator("#result-dibao").get_attribute("data-amount") == "994.00"
    assert page.locator("#trace-dibao li.step").count() > 0

    check(page, "replay-stored")
    auditor.submit(lambda: press_button(page, "replay-submit"), "replayed")
    result = page.locator("#replay-result")
    assert result.get_attribute("data-rules") == "stored"
    assert result.get_attribute("data-identical") == "true"
    assert page.locator("#replay-verdict").is_visible()
    for program_row in page.locator("#replay-programs tbody tr").all():
        assert program_row.get_attribute("data-changed") == "false"

    auditor.goto("/console/audit/verify", "verify")
    auditor.submit(lambda: press_button(page, "verify-submit"), "verified")
    assert page.locator("#verify-result").get_attribute("data-ok") == "true"


def start_household(clerk: Browsing, service: Service) -> Any:
    """A signed-in clerk on a new form: Wuhan, 2022-08-01, the applicant born 1979-03-08."""
    page = clerk.page
    sign_in(clerk, service.intake_key)
    choose(page, "jurisdiction", "wuhan")
    type_date(page, "as_of", "2022-08-01")
    type_date(page, "household-members-0-birth_date", "1979-03-08")
    return page


def test_a_contract_error_is_shown_at_its_field_in_chinese(
    browsing: Browsing, service: Service
) -> None:
    page = start_household(browsing, service)
    add_item(page, "household-income")
    type_text(page, "household-income-0-member", "m1")
    choose(page, "household-income-0-type", "wage")
    type_text(page, "household-income-0-monthly", "-100.00")
    press_button(page, "evaluate")
    message = page.locator("#error-household-income-0-monthly")
    message.wait_for()
    browsing.snap("error-at-field")
    assert "不能为负数" in message.inner_text()  # the contract's own reason, in Chinese
    monthly = field(page, "household-income-0-monthly")
    assert monthly.get_attribute("aria-invalid") == "true"
    assert "error-household-income-0-monthly" in (monthly.get_attribute("aria-describedby") or "")
    # next to its field: the message is inside the field's own block, right under it
    assert message.evaluate(
        "(el) => el.parentElement.contains(document.getElementById('household-income-0-monthly'))"
    )
    # nothing was decided
    assert page.locator("#result").count() == 0
    # the summary at the top names the same field and leads to it
    item = page.locator("#error-summary li[data-path='household.income[0].monthly']")
    assert item.count() == 1
    item.locator("a").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "household-income-0-monthly"


def focused_in_view(page: Any) -> bool:
    return page.evaluate(
        "() => { const r = document.activeElement.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"
    )


def test_a_missing_fact_is_listed_and_leads_to_its_field(
    browsing: Browsing, service: Service
) -> None:
    page = start_household(browsing, service)
    press_button(page, "evaluate")
    wait_result(page, recorded=False)
    browsing.snap("missing-facts")
    items = page.locator("#missing li")
    assert items.count() >= 1
    # the applicant's income is not given: 低保 cannot be decided, and says so
    assert page.locator("#result-dibao").get_attribute("data-status") == "insufficient_data"
    for index in range(items.count()):
        link = items.nth(index).locator("a[data-field-link]")
        anchor = link.get_attribute("data-field-link")
        assert page.locator(f"[id='{anchor}']").count() == 1, anchor
    # follow the last one (the farthest down the form) from the keyboard
    link = items.last.locator("a[data-field-link]")
    anchor = link.get_attribute("data-field-link")
    page.evaluate("window.scrollTo(0, 0)")
    link.focus()
    page.keyboard.press("Enter")
    active = page.evaluate("document.activeElement.id")
    target = page.locator(f"[id='{anchor}']")
    assert active == anchor or target.evaluate(
        "(el, id) => el.contains(document.getElementById(id))", active
    ), (anchor, active)
    assert focused_in_view(page)
    browsing.snap("missing-fact-followed")
