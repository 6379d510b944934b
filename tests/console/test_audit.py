"""Audit pages (auditors only): the decisions list with its filters, pages and CSV export; a
decision's full trace by program; replay under the stored rules and under others, side by side;
the log's verification naming the first broken record."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from service.engine import RuleBase, evaluate
from tests.console.conftest import Browser, Console

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "tests" / "examples").glob("*.json"))
WUHAN = ROOT / "tests" / "examples" / "wuhan-dibao-household-eligible.json"
AUDIT_PAGES = ("/console/decisions", "/console/decisions.csv", "/console/audit/verify")


def record(console: Console, path: Path = WUHAN, role: str = "intake", **changes: str) -> str:
    body = json.loads(path.read_text(encoding="utf-8"))
    body.update(changes)
    answer = console.api.post_decision(body, role)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["decision_id"])


def amount_of(result: dict) -> str:
    """A program's amount as the pages show it (特困: the members' together)."""
    if result.get("monthly_amount") or result.get("amount"):
        return str(result.get("monthly_amount") or result.get("amount"))
    paid = [m["monthly_amount"] for m in result.get("members", []) if m.get("monthly_amount")]
    return f"{sum(Decimal(a) for a in paid):.2f}" if paid else ""


def listed(html: str) -> list[str]:
    return re.findall(r'<tr data-decision-id="([0-9a-f]{32})"', html)


@pytest.mark.parametrize("role", ["intake", "integrator", "admin"])
def test_only_auditors_open_the_audit_pages(sqlite_console: Console, role: str) -> None:
    decision = record(sqlite_console)
    browser = sqlite_console.browser(role)
    for path in (*AUDIT_PAGES, f"/console/decisions/{decision}"):
        page = browser.get(path)
        assert page.status_code == 403, path
        assert "无权访问此页面" in page.text and "You may not open this page" in page.text
        assert 'id="error-title"' in page.text  # a page that says so, never a blank one
    denied = browser.client.post(f"/console/decisions/{decision}/replay", data={"rules": "stored"})
    assert denied.status_code == 403
    nav = browser.get("/console/rules").text
    assert 'id="nav-decisions"' not in nav and 'id="nav-verify"' not in nav
    auditor = sqlite_console.browser("auditor").get("/console/rules").text
    assert 'id="nav-decisions"' in auditor and 'id="nav-verify"' in auditor


def test_the_list_filters_as_the_api_does(console: Console) -> None:
    desk2 = console.api.new_key("intake", "desk-2")
    ids = {
        "wuhan": record(console),
        "zhumadian": record(console, ROOT / "tests/examples/zhumadian-single-person-eligible.json"),
        "changsha": record(console, ROOT / "tests/examples/changsha-tekun-eligible.json"),
    }
    console.api.keys["desk-2"] = desk2
    by_desk2 = record(console, role="desk-2")
    browser = console.browser("auditor")
    everything = listed(browser.get("/console/decisions").text)
    assert everything == [by_desk2, ids["changsha"], ids["zhumadian"], ids["wuhan"]]
    cases = {
        "jurisdiction=wuhan": [by_desk2, ids["wuhan"]],
        "program=tekun&status=eligible": [ids["changsha"]],
        "from=2022-08-01&to=2022-08-01": [by_desk2, ids["wuhan"]],
        f"key={console.api.extra_keys['desk-2'][0]}": [by_desk2],
        f"key={console.api.key_ids['intake']}&jurisdiction=zhumadian": [ids["zhumadian"]],
    }
    for query, expected in cases.items():
        assert listed(browser.get(f"/console/decisions?{query}").text) == expected, query
    api = console.api.client.get(
        "/v1/decisions?program=tekun&status=eligible", headers=console.api.headers("auditor")
    ).json()
    assert [item["decision_id"] for item in api["items"]] == cases["program=tekun&status=eligible"]
    page = browser.get("/console/decisions?jurisdiction=wuhan").text
    row = re.search(rf'<tr data-decision-id="{by_desk2}".*?</tr>', page, re.S)
    assert row and "武汉市" in row.group(0) and "desk-2" in row.group(0)
    assert 'data-program="dibao" data-status="eligible"' in row.group(0)


def test_the_list_pages_with_a_cursor(sqlite_console: Console) -> None:
    ids = [record(sqlite_console) for _ in range(53)]
    browser = sqlite_console.browser("auditor")
    first = browser.get("/console/decisions")
    assert listed(first.text) == ids[::-1][:50]
    following = re.search(r'<a href="([^"]+)" id="page-next"', first.text)
    assert following
    second = browser.get(following.group(1).replace("&amp;", "&"))
    assert listed(second.text) == ids[::-1][50:]
    assert 'id="page-next"' not in second.text and 'id="page-first"' in second.text


def test_the_csv_export_has_every_filtered_decision_for_excel(sqlite_console: Console) -> None:
    wuhan = [record(sqlite_console) for _ in range(3)]
    record(sqlite_console, ROOT / "tests/examples/changsha-tekun-eligible.json")
    browser = sqlite_console.browser("auditor")
    export = browser.get("/console/decisions.csv?jurisdiction=wuhan")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    assert export.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads it
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["决定编号", "序号"] and "最低生活保障" in rows[0]
    assert [r[0] for r in rows[1:]] == wuhan[::-1]
    dibao = rows[0].index("最低生活保障")
    assert {r[dibao] for r in rows[1:]} == {"符合"}
    assert {r[5] for r in rows[1:]} == {"武汉市"}
    assert {r[7] for r in rows[1:]} == {"test-intake"}
    english = browser.get("/console/decisions.csv?jurisdiction=wuhan&lang=en")
    head = english.content.decode("utf-8-sig").splitlines()[0]
    assert head.startswith("decision id,seq,")


def test_the_csv_export_pages_through_the_store(sqlite_console: Console, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from service.console.routes import audit

    monkeypatch.setattr(audit, "EXPORT_PAGE", 2)
    ids = [record(sqlite_console) for _ in range(5)]
    export = sqlite_console.browser("auditor").get("/console/decisions.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ids[::-1]


def test_the_detail_shows_the_full_trace_folded_by_program(console: Console) -> None:
    decision = record(console)
    page = console.browser("auditor").get(f"/console/decisions/{decision}")
    assert page.status_code == 200
    stored = orjson.loads(console.api.store.get(decision).response_json)  # type: ignore[union-attr]
    for program in stored["programs"]:
        block = re.search(
            rf'<details class="program-trace" id="trace-{program}".*?</details>', page.text, re.S
        )
        assert block, program
        steps = [s for s in stored["trace"] if s["program"] == program]
        shown = re.findall(
            r'<li class="step" data-step="([^"]+)" data-outcome="([^"]+)" data-provisional="([a-z]+)"',
            block.group(0),
        )
        assert shown == [
            (s["step"], s["outcome"], "true" if s["provisional"] else "false") for s in steps
        ]
        for step in steps:
            assert step["message_zh"] in block.group(0)
            if step.get("citation"):
                assert step["citation"]["title"] in block.group(0)
    assert stored["ruleset"]["sha256"] in page.text
    assert "42010619790308123X" not in page.text


def test_replay_under_the_stored_rules_is_identical(console: Console) -> None:
    decision = record(console)
    browser = console.browser("auditor")
    page = browser.post_form(
        f"/console/decisions/{decision}/replay",
        {"rules": "stored"},
        token_from=f"/console/decisions/{decision}",
    )
    assert page.status_code == 200
    assert 'data-identical="true"' in page.text
    assert 'id="replay-verdict">完全一致<' in page.text
    assert 'data-changed="true"' not in page.text


def test_replay_under_other_rules_shows_the_changes_side_by_side(
    sqlite_console: Console, rule_base: RuleBase
) -> None:
    decision = record(sqlite_console)
    browser = sqlite_console.browser("auditor")
    stored = sqlite_console.api.store.get(decision)
    assert stored is not None
    request = sqlite_console.api.app.state.runtime.decider.parse(
        orjson.loads(stored.request_json)["request"]
    )
    for fields, on in (
        ({"rules": "current"}, date.today()),
        ({"rules": "as_of", "as_of": "2024-08-01"}, date(2024, 8, 1)),
    ):
        page = browser.post_form(
            f"/console/decisions/{decision}/replay",
            fields,
            token_from=f"/console/decisions/{decision}",
        )
        assert page.status_code == 200
        expected = json.loads(
            json.dumps(evaluate(request, rule_base.resolve("wuhan", on)), default=str)
        )
        before = orjson.loads(stored.response_json)["programs"]
        for program, result in expected["programs"].items():
            row = re.search(
                rf'<tr data-program="{program}" data-changed="(true|false)".*?</tr>',
                page.text,
                re.S,
            )
            assert row, program
            old = (before[program]["status"], amount_of(before[program]))
            new = (result["status"], amount_of(result))
            assert f'class="stored" data-status="{old[0]}" data-amount="{old[1]}"' in row.group(0)
            assert f'class="replayed" data-status="{new[0]}" data-amount="{new[1]}"' in row.group(0)
            assert row.group(1) == ("true" if old != new else "false")
        assert 'data-identical="false"' in page.text  # other rules: the 低保 standard moved
        assert re.search(r'<tr data-program="dibao" data-changed="true"', page.text)


def test_replay_without_the_token_is_refused(sqlite_console: Console) -> None:
    decision = record(sqlite_console)
    browser = sqlite_console.browser("auditor")
    page = browser.client.post(f"/console/decisions/{decision}/replay", data={"rules": "stored"})
    assert page.status_code == 403
    assert "CSRF" in page.text


def test_verify_names_the_first_broken_record(console: Console) -> None:
    ids = [record(console) for _ in range(4)]
    browser = console.browser("auditor")
    clean = browser.post_form("/console/audit/verify", {}, token_from="/console/audit/verify")
    assert clean.status_code == 200
    assert 'data-ok="true"' in clean.text and 'id="verify-checked">4<' in clean.text
    with console.api.store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE decisions SET response_json = replace(response_json, 'eligible', 'ineligible')"
                " WHERE seq = 3"
            )
        )
    broken = browser.post_form("/console/audit/verify", {}, token_from="/console/audit/verify")
    assert 'data-ok="false"' in broken.text
    assert 'id="verify-first-broken" data-seq="3"' in broken.text
    assert f'href="/console/decisions/{ids[2]}"' in broken.text
    window = browser.post_form(
        "/console/audit/verify", {"from": "1", "to": "2"}, token_from="/console/audit/verify"
    )
    assert 'data-ok="true"' in window.text
    bad = browser.post_form(
        "/console/audit/verify", {"from": "x"}, token_from="/console/audit/verify"
    )
    assert bad.status_code == 422


def test_an_unknown_decision_is_a_404_page(sqlite_console: Console) -> None:
    browser: Browser = sqlite_console.browser("auditor")
    page = browser.get("/console/decisions/" + "0" * 32)
    assert page.status_code == 404
    assert 'id="error-title"' in page.text
