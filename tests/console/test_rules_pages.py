"""The rules pages: jurisdictions by name, the bundle in force with each parameter's origin, the
differences between two dates; and the language switch."""

from __future__ import annotations

import re

from tests.console.conftest import Console


def test_jurisdictions_are_listed_by_chinese_name(sqlite_console: Console) -> None:
    page = sqlite_console.browser("intake").get("/console/rules")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    row = re.search(r'<tr data-jurisdiction="wuhan">.*?</tr>', page.text, re.S)
    assert row and "武汉市" in row.group(0)
    assert 'data-jurisdiction="chongqing/banan"' in page.text


def test_the_bundle_shows_every_parameter_with_source_and_provisional_mark(
    sqlite_console: Console,
) -> None:
    browser = sqlite_console.browser("auditor")
    page = browser.get("/console/rules/bundle?jurisdiction=wuhan&as_of=2022-08-01")
    assert page.status_code == 200
    data = sqlite_console.api.client.get(
        "/v1/rulesets/wuhan?as_of=2022-08-01", headers=sqlite_console.api.headers("auditor")
    ).json()
    shown = re.findall(r'data-parameter="([^"]+)" data-provisional="(true|false)"', page.text)
    assert dict(shown) == {
        path: "true" if entry.get("provisional") else "false"
        for path, entry in data["parameters"].items()
    }
    assert data["sha256"] in page.text
    standard = re.search(r'id="param-dibao-standard-urban".*?</tr>', page.text, re.S)
    assert standard and "城市低保标准" in standard.group(0)
    assert str(data["parameters"]["dibao.standard.urban"]["value"]) in standard.group(0)


def test_the_differences_between_two_dates(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    page = browser.get("/console/rules/diff?jurisdiction=wuhan&from=2021-08-01&to=2023-08-01")
    assert page.status_code == 200
    data = sqlite_console.api.client.get(
        "/v1/rulesets/wuhan/diff?from=2021-08-01&to=2023-08-01",
        headers=sqlite_console.api.headers("intake"),
    ).json()
    assert data["changes"], "the shipped Wuhan rules change over these two years"
    shown = re.findall(r'<tr data-parameter="([^"]+)">', page.text)
    assert shown == [c["parameter"] for c in data["changes"]]


def test_an_unknown_jurisdiction_is_a_404_page(sqlite_console: Console) -> None:
    page = sqlite_console.browser("intake").get("/console/rules/bundle?jurisdiction=atlantis")
    assert page.status_code == 404
    assert 'id="error-title"' in page.text


def test_the_language_switch_is_remembered(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    chinese = browser.get("/console/rules")
    assert 'id="lang-switch"' in chinese.text and "政策规则" in chinese.text
    english = browser.get("/console/rules?lang=en")
    assert '<html lang="en">' in english.text and "Wuhan" in english.text
    assert "政策规则" not in english.text
    again = browser.get("/console/rules")  # the cookie remembers the choice
    assert '<html lang="en">' in again.text
    back = browser.get("/console/rules?lang=zh")
    assert '<html lang="zh-CN">' in back.text
