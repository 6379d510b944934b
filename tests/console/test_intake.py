"""Intake: the household form decides through the same actions as the API (试算 records
nothing, 提交认定 records), errors land at their fields, missing facts link to theirs, ID
numbers are never sent back in clear, a household saves and loads as contract JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest

from service.api.privacy import mask_id_number
from service.console.fields import field_id
from service.console.household import flatten, to_contract
from service.contract.request import EvaluationRequest
from tests.console.conftest import Browser, Console, csrf_of
from tests.store.test_transparency import rewrite_as_insider

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "tests" / "examples").glob("*.json"))
WUHAN = ROOT / "tests" / "examples" / "wuhan-dibao-household-eligible.json"
ID_NUMBER = "42010619790308123X"
MASKED = mask_id_number(ID_NUMBER)  # as stored: no digit of it


def example(path: Path = WUHAN) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def submit(browser: Browser, values: dict[str, str], action: str):  # type: ignore[no-untyped-def]
    """Posts the intake form holding ``values`` with the button ``action``."""
    token = csrf_of(browser.get("/console/intake").text)
    return browser.post_raw(
        "/console/intake", [("csrf_token", token), *values.items(), ("action", action)]
    )


def program_results(html: str) -> dict[str, tuple[str, str | None]]:
    """program → (status, amount) as the result badges show them."""
    found = re.findall(
        r'<article class="program" id="result-[a-z_]+" data-program="([a-z_]+)"'
        r' data-status="([a-z_]+)"(?: data-amount="([0-9.]+)")?',
        html,
    )
    return {program: (status, amount or None) for program, status, amount in found}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_goes_through_the_form_unchanged(path: Path) -> None:
    request = example(path)
    values, unknown = flatten(request)
    assert unknown == []
    again = to_contract(values)
    assert EvaluationRequest.model_validate(again) == EvaluationRequest.model_validate(request)


def test_a_blank_field_is_left_out_never_a_zero() -> None:
    values, _ = flatten(example())
    values["household.assets.financial"] = ""
    values["household.members[1].has_capable_supporter"] = ""
    request = to_contract(values)
    assert "financial" not in request["household"]["assets"]
    assert "has_capable_supporter" not in request["household"]["members"][1]
    values["none:household.income"] = "true"
    for key in [k for k in values if k.startswith("household.income[")]:
        del values[key]
    assert to_contract(values)["household"]["income"] == []  # declared: no income
    del values["none:household.income"]
    assert "income" not in to_contract(values)["household"]  # unknown


def test_evaluate_shows_the_api_answer_and_records_nothing(console: Console) -> None:
    browser = console.browser("intake")
    values, _ = flatten(example())
    page = submit(browser, values, "evaluate")
    assert page.status_code == 200
    api = console.api.client.post(
        "/v1/evaluate", json=example(), headers=console.api.headers("intake")
    ).json()
    expected = {
        program: (result["status"], result.get("monthly_amount") or result.get("amount"))
        for program, result in api["programs"].items()
    }
    assert program_results(page.text) == expected
    assert program_results(page.text)["dibao"] == ("eligible", "994.00")
    assert 'id="result-title"' in page.text and "试算结果（未记录）" in page.text
    assert 'id="decision-id"' not in page.text
    assert console.api.count() == 0


def test_record_stores_the_same_decision_as_the_api(console: Console) -> None:
    browser = console.browser("intake")
    values, _ = flatten(example())
    page = submit(browser, values, "record")
    assert page.status_code == 201
    decision_id = re.search(r'id="decision-id">([0-9a-f]{32})<', page.text).group(1)  # type: ignore[union-attr]
    assert console.api.count() == 1
    stored = console.api.store.get(decision_id)
    assert stored is not None and stored.actor == console.api.key_ids["intake"]
    api = console.api.client.post(
        "/v1/evaluate", json=example(), headers=console.api.headers("intake")
    ).json()
    assert orjson.loads(stored.response_json) == api  # the same decision, recorded
    assert stored.programs_summary["dibao"] == "eligible"
    assert ID_NUMBER not in stored.request_json  # pseudonymised as through the API
    assert f'href="/console/decisions/{decision_id}/notice"' in page.text


def test_recording_into_a_rewritten_log_names_the_damage(sqlite_console: Console) -> None:
    # The clerk sees why nothing was recorded (not "retry later"): the log needs an operator.
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example())
    assert submit(browser, values, "record").status_code == 201
    assert submit(browser, values, "record").status_code == 201
    decisions = [sqlite_console.api.store.get_by_seq(seq) for seq in (1, 2)]
    rewrite_as_insider(sqlite_console.api.store, decisions, 2, rebuild_tree=True)  # type: ignore[arg-type]
    page = submit(browser, values, "record")
    assert page.status_code == 503
    assert "Retry-After" not in page.headers
    assert "决策日志已在服务之外被改动" in page.text
    assert sqlite_console.api.count() == 2


def test_a_contract_error_is_shown_at_its_field_in_chinese(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example())
    values["household.income[0].monthly"] = "-5"
    values["household.members[2].birth_date"] = ""
    page = submit(browser, values, "record")
    assert page.status_code == 422
    income = field_id("household.income[0].monthly")
    assert income == "household-income-0-monthly"
    field = re.search(rf'<input [^>]*id="{income}"[^>]*>', page.text)
    assert field and 'aria-invalid="true"' in field.group(0)
    assert f'aria-describedby="error-{income}"' in field.group(0)
    error = re.search(rf'<p class="field-error" id="error-{income}"[^>]*>([^<]*)</p>', page.text)
    assert error and error.group(1) == "不能为负数"
    birth = re.search(
        r'<p class="field-error" id="error-household-members-2-birth_date"[^>]*>([^<]*)</p>',
        page.text,
    )
    assert birth and re.search(r"[\u4e00-\u9fff]", birth.group(1))
    assert f'<a href="#{income}">' in page.text  # the summary links to the field
    assert sqlite_console.api.count() == 0  # nothing recorded for a refused request


def test_a_group_error_lands_on_its_section(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example())
    values["household.income[0].member"] = "nobody"
    page = submit(browser, values, "evaluate")
    assert page.status_code == 422
    assert re.search(
        r'<p class="field-error" id="error-household-income-0-member"[^>]*>所指成员不在本户成员中</p>',
        page.text,
    )


def test_missing_facts_link_to_their_fields(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    request = example(ROOT / "tests" / "examples" / "zhumadian-single-person-eligible.json")
    values, _ = flatten(request)
    page = submit(browser, values, "evaluate")
    assert page.status_code == 200
    items = re.findall(r'<li data-field="([^"]+)"><a href="#([^"]+)" data-field-link', page.text)
    assert (
        "household.members[2].has_capable_supporter",
        "household-members-2-has_capable_supporter",
    ) in items
    for _field, anchor in items:
        assert f'id="{anchor}"' in page.text  # every link leads to an element of the form
    assert "第 3 位成员是否有具备履行能力的法定赡养、抚养、扶养义务人" in page.text


def test_a_missing_section_links_to_the_section(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example(ROOT / "tests" / "examples" / "wuhan-dibao-insufficient-data.json"))
    page = submit(browser, values, "evaluate")
    items = dict(re.findall(r'<li data-field="([^"]+)"><a href="#([^"]+)"', page.text))
    assert items["household.assets"] == "household-assets"
    assert '<fieldset id="household-assets">' in page.text


def test_an_id_number_is_never_sent_back_in_clear(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example())
    assert values["household.members[0].id_number"] == ID_NUMBER
    for action in ("evaluate", "record", "add:household.members"):
        page = submit(browser, values, action)
        assert ID_NUMBER not in page.text
        assert f'data-masked="{MASKED}"' in page.text
    loaded = browser.post_form(
        "/console/intake",
        {"contract_json": json.dumps(example()), "action": "load"},
        token_from="/console/intake",
    )
    assert loaded.status_code == 200
    assert ID_NUMBER not in loaded.text and f'data-masked="{MASKED}"' in loaded.text


def test_save_gives_the_contract_json_and_load_fills_the_form(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example())
    saved = submit(browser, values, "save")
    assert saved.status_code == 200
    assert saved.headers["content-type"].startswith("application/json")
    assert 'filename="household-wuhan-2022-08-01.json"' in saved.headers["content-disposition"]
    assert EvaluationRequest.model_validate(saved.json()) == EvaluationRequest.model_validate(
        example()
    )
    loaded = browser.post_form(
        "/console/intake",
        {"contract_json": saved.text, "action": "load"},
        token_from="/console/intake",
    )
    assert loaded.status_code == 200
    assert re.search(
        r'id="household-income-0-monthly" name="household.income\[0\].monthly" value="2100.00"',
        loaded.text,
    )
    assert re.search(r'<option value="wuhan" selected>武汉市</option>', loaded.text)


def test_a_file_that_is_not_json_is_refused_with_a_reason(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    page = browser.post_form(
        "/console/intake",
        {"contract_json": "{not json", "action": "load"},
        token_from="/console/intake",
    )
    assert page.status_code == 422
    assert "文件不是合同格式的 JSON 对象" in page.text


def test_members_are_added_and_removed_without_script(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example())
    added = submit(browser, values, "add:household.members")
    assert 'id="household-members-3-id" name="household.members[3].id" value="m4"' in added.text
    removed = submit(browser, values, "remove:household.members[0]")
    # the spouse moves up to the first place
    assert re.search(
        r'id="household-members-0-id" name="household.members\[0\].id" value="m2"', removed.text
    )
    assert 'name="household.members[2].id"' not in removed.text


def test_a_form_without_its_token_is_refused_and_records_nothing(
    sqlite_console: Console,
) -> None:
    browser = sqlite_console.browser("intake")
    values, _ = flatten(example())
    page = browser.post_raw("/console/intake", [*values.items(), ("action", "record")])
    assert page.status_code == 403
    assert "CSRF" in page.text
    forged = browser.post_raw(
        "/console/intake", [("csrf_token", "0" * 64), *values.items(), ("action", "record")]
    )
    assert forged.status_code == 403
    assert sqlite_console.api.count() == 0


def test_an_auditor_cannot_open_intake(sqlite_console: Console) -> None:
    page = sqlite_console.browser("auditor").get("/console/intake")
    assert page.status_code == 403
    assert "无权访问此页面" in page.text and "You may not open this page" in page.text
    assert 'id="nav-intake"' not in page.text


def test_jurisdictions_are_offered_by_chinese_name(sqlite_console: Console) -> None:
    page = sqlite_console.browser("intake").get("/console/intake?jurisdiction=chongqing/banan")
    assert '<option value="chongqing/banan" selected>重庆市巴南区</option>' in page.text
    english = sqlite_console.browser("intake").get("/console/intake?lang=en")
    assert '<option value="wuhan">Wuhan</option>' in english.text


def test_every_input_has_a_label(sqlite_console: Console) -> None:
    page = sqlite_console.browser("intake").get("/console/intake")
    html = re.sub(r"<template.*?</template>", "", page.text, flags=re.S)
    fields = re.findall(r'<(?:input|select|textarea) [^>]*id="([^"]+)"', html)
    hidden = set(re.findall(r'<input type="hidden"[^>]*id="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert fields and set(fields) - hidden <= labelled


def test_the_decision_notice_has_what_the_applicant_is_told(console: Console) -> None:
    browser = console.browser("intake")
    values, _ = flatten(example())
    recorded = submit(browser, values, "record")
    decision_id = re.search(r'id="decision-id">([0-9a-f]{32})<', recorded.text).group(1)  # type: ignore[union-attr]
    notice = browser.get(f"/console/decisions/{decision_id}/notice")
    assert notice.status_code == 200
    text = notice.text
    stored = orjson.loads(console.api.store.get(decision_id).response_json)  # type: ignore[union-attr]
    assert f'id="notice-decision-id">{decision_id}<' in text
    assert 'id="notice-jurisdiction">武汉市<' in text
    assert 'id="notice-as-of">2022-08-01<' in text
    assert stored["ruleset"]["version"] in text and stored["ruleset"]["sha256"] in text
    dibao = re.search(r'<section class="program" id="notice-dibao".*?</section>', text, re.S)
    assert dibao and 'data-amount="994.00"' in dibao.group(0) and "每月 994.00 元" in dibao.group(0)
    # every decisive step's citation is printed with its reason
    assert "《最低生活保障审核确认办法》" in dibao.group(0)
    assert f'id="notice-applicant">王* {MASKED}<' in text
    assert ID_NUMBER not in text
    assert "@page" not in text  # the A4 layout lives in the style sheet
    css = browser.get(
        re.search(r'href="(/console/static/console.css\?v=[0-9a-f]+)"', text).group(1)
    )  # type: ignore[union-attr]
    assert "size: A4" in css.text
    # the recorder and auditors may print it; another clerk's key may not even see it exists
    assert (
        console.browser("auditor").get(f"/console/decisions/{decision_id}/notice").status_code
        == 200
    )
    other = console.api.new_key("intake", "desk-2")
    from tests.console.conftest import sign_in

    assert (
        sign_in(console.api.app, other).get(f"/console/decisions/{decision_id}/notice").status_code
        == 404
    )
