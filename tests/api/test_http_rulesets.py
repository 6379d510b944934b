"""Rule sets over HTTP: list, resolved bundle with provenance, diff, and atomic reload."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from service.engine import load_rules
from tests.api.conftest import ROOT, Api
from tests.helpers import load_example


def test_list_show_and_diff(sqlite_api: Api) -> None:
    api = sqlite_api
    headers = api.headers("integrator")
    listing = api.client.get("/v1/rulesets", headers=headers).json()["jurisdictions"]
    ids = {row["id"] for row in listing}
    assert {"wuhan", "changsha", "zhumadian", "chongqing", "chongqing/banan"} <= ids
    wuhan = next(row for row in listing if row["id"] == "wuhan")
    assert wuhan["versions"] and wuhan["bundle_changes"]

    body = load_example("wuhan-dibao-household-eligible.json")
    decided = api.client.post("/v1/evaluate", json=body, headers=headers).json()
    shown = api.client.get(f"/v1/rulesets/wuhan?as_of={body['as_of']}", headers=headers)
    assert shown.status_code == 200
    bundle = shown.json()
    assert bundle["sha256"] == decided["ruleset"]["sha256"]
    expected = load_rules(ROOT / "rules").resolve("wuhan", __import__("datetime").date(2022, 8, 1))
    assert bundle["sha256"] == expected.sha256
    for path, leaf in bundle["parameters"].items():
        assert "source" in leaf and "value" in leaf, path
        assert bundle["origins"][path].endswith(".yaml"), path

    nested = api.client.get("/v1/rulesets/chongqing/banan?as_of=2024-01-01", headers=headers)
    assert nested.status_code == 200 and nested.json()["jurisdiction"] == "chongqing/banan"

    diff = api.client.get(
        "/v1/rulesets/wuhan/diff?from=2022-08-01&to=2024-12-01", headers=headers
    ).json()
    assert diff["from"]["sha256"] == bundle["sha256"]
    assert any(c["parameter"] == "dibao.standard.urban" for c in diff["changes"])
    nested_diff = api.client.get(
        "/v1/rulesets/chongqing/banan/diff?from=2021-01-01&to=2025-01-01", headers=headers
    )
    assert nested_diff.status_code == 200 and nested_diff.json()["changes"]

    unknown = api.client.get("/v1/rulesets/atlantis", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["type"] == "unknown_jurisdiction"
    early = api.client.get("/v1/rulesets/wuhan?as_of=1990-01-01", headers=headers)
    assert early.status_code == 422
    assert early.json()["errors"][0]["path"] == "query.as_of"


def _copy_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    return rules


def _bundle_hash(api: Api, body: dict) -> str:
    response = api.client.post("/v1/evaluate", json=body, headers=api.headers("intake"))
    assert response.status_code == 200, response.text
    return str(response.json()["ruleset"]["sha256"])


def test_reload_rejects_an_invalid_rule_set_and_keeps_serving(
    api_factory: Callable[..., Api], tmp_path: Path, sqlite_url: str
) -> None:
    rules = _copy_rules(tmp_path)
    api = api_factory(sqlite_url, rules_dir=rules)
    body = load_example("zhumadian-single-person-eligible.json")
    before = _bundle_hash(api, body)
    admin = api.headers("admin")

    target = rules / "zhumadian" / "2022-01-01.yaml"
    good = target.read_text(encoding="utf-8")
    assert '      urban: {value: "630.00"' in good
    target.write_text(good.replace("      urban: {value:", "      urbn: {value:"), encoding="utf-8")
    refused = api.client.post("/v1/admin/rulesets/reload", headers=admin)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert errors and all(e["type"] == "rule_set_invalid" for e in errors)
    assert any(e["file"] == "zhumadian/2022-01-01.yaml" and "urbn" in e["path"] for e in errors), (
        errors
    )
    assert all(e["reason_zh"] and e["reason_en"] for e in errors)
    assert _bundle_hash(api, body) == before  # the previous rules keep serving
    assert api.post_decision(body).status_code == 201

    target.write_text(
        good.replace("city-parameters.md (驻马店 2022)", "corrected (驻马店 2022)"),
        encoding="utf-8",
    )
    accepted = api.client.post("/v1/admin/rulesets/reload", headers=admin)
    assert accepted.status_code == 200, accepted.text
    assert "zhumadian" in accepted.json()["jurisdictions"]
    after = _bundle_hash(api, body)
    assert after != before


def test_a_reload_reaches_the_other_workers(
    api_factory: Callable[..., Api], tmp_path: Path, sqlite_url: str
) -> None:
    """Two apps on one data directory stand for two worker processes."""
    rules = _copy_rules(tmp_path)
    url = sqlite_url
    data = tmp_path / "data"
    one = api_factory(url, rules_dir=rules, data_dir=data)
    two = api_factory(url, rules_dir=rules, data_dir=data, keys=False)
    two.keys, two.key_ids = one.keys, one.key_ids
    body = load_example("zhumadian-single-person-eligible.json")
    before = _bundle_hash(two, body)

    target = rules / "zhumadian" / "2022-01-01.yaml"
    target.write_text(
        target.read_text(encoding="utf-8").replace("驻马店 2022)", "驻马店 2022, checked)"),
        encoding="utf-8",
    )
    assert _bundle_hash(two, body) == before  # files changed, nobody reloaded: still the old
    assert (
        one.client.post("/v1/admin/rulesets/reload", headers=one.headers("admin")).status_code
        == 200
    )
    assert _bundle_hash(one, body) != before
    assert _bundle_hash(two, body) == _bundle_hash(one, body)
