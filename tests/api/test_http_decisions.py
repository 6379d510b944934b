"""Recording, reading, listing and replaying decisions through the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from service.store import DecisionStore
from tests.api.conftest import EXAMPLES, Api
from tests.helpers import load_example


def test_every_example_is_recorded_read_back_and_replays_identically(api: Api) -> None:
    recorded: dict[str, dict] = {}
    for path in EXAMPLES:
        body = path.read_bytes()
        response = api.post_decision(body)
        assert response.status_code == 201, response.text
        data = response.json()
        decision_id = data["decision_id"]
        assert response.headers["location"] == f"/v1/decisions/{decision_id}"
        # The unrecorded evaluation gives the same document, without the id.
        evaluated = api.client.post("/v1/evaluate", content=body, headers=api.headers("intake"))
        assert evaluated.status_code == 200
        assert {k: v for k, v in data.items() if k != "decision_id"} == evaluated.json()
        recorded[decision_id] = data

    assert api.count() == len(EXAMPLES)
    for decision_id, data in recorded.items():
        got = api.client.get(f"/v1/decisions/{decision_id}", headers=api.headers("intake"))
        assert got.status_code == 200
        record = got.json()
        assert record["response"] == data
        assert record["actor"] == api.key_ids["intake"]
        assert record["bundle_sha256"] == data["ruleset"]["sha256"]
        replay = api.client.post(
            f"/v1/decisions/{decision_id}/replay", headers=api.headers("auditor")
        )
        assert replay.status_code == 200, replay.text
        report = replay.json()
        assert report["identical"] is True, report["diff"][:5]
        assert report["diff"] == []
        assert report["bundle"]["sha256"] == data["ruleset"]["sha256"]


def test_the_record_is_committed_when_the_answer_arrives(api: Api) -> None:
    response = api.post_decision(EXAMPLES[0].read_bytes())
    assert response.status_code == 201
    # A separate connection (another process would see the same) finds the record at once.
    with DecisionStore(api.settings.database_url) as other:
        stored = other.get(response.json()["decision_id"])
        assert stored is not None
        assert other.get_bundle(stored.bundle_sha256) is not None  # content-addressed bundle
        assert other.verify().ok


def test_list_filters_and_paginates(api: Api) -> None:
    ids = []
    for path in EXAMPLES:
        ids.append(api.post_decision(path.read_bytes()).json()["decision_id"])
    auditor = api.headers("auditor")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get("/v1/decisions", params=params, headers=auditor).json()
        assert len(page["items"]) <= 3
        seen += [item["decision_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each once

    wuhan = api.client.get(
        "/v1/decisions", params={"jurisdiction": "wuhan"}, headers=auditor
    ).json()["items"]
    assert wuhan and all(item["jurisdiction"] == "wuhan" for item in wuhan)
    assert len(wuhan) == sum(1 for p in EXAMPLES if p.name.startswith("wuhan"))

    eligible_dibao = api.client.get(
        "/v1/decisions", params={"program": "dibao", "status": "eligible"}, headers=auditor
    ).json()["items"]
    assert eligible_dibao and all(i["programs"]["dibao"] == "eligible" for i in eligible_dibao)

    dated = api.client.get(
        "/v1/decisions", params={"from": "2024-01-01", "to": "2024-12-31"}, headers=auditor
    ).json()["items"]
    assert all("2024-01-01" <= item["as_of"] <= "2024-12-31" for item in dated)
    all_dates = [load_example(p.name).get("as_of") for p in EXAMPLES]
    assert len(dated) == sum(1 for d in all_dates if d and "2024-01-01" <= d <= "2024-12-31")

    bad = api.client.get("/v1/decisions", params={"cursor": "not-a-cursor"}, headers=auditor)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "query.cursor"


def test_editing_a_stored_row_makes_verify_name_that_record(api: Api) -> None:
    ids = [api.post_decision(p.read_bytes()).json()["decision_id"] for p in EXAMPLES[:5]]
    auditor = api.headers("auditor")
    clean = api.client.get("/v1/audit/verify", headers=auditor).json()
    assert clean == {
        "ok": True,
        "checked": 5,
        "first_broken": None,
        "head_seq": 5,
        "tree_size": 5,
        "checkpoint_size": 5,  # the latest signed checkpoint covers all five
    }

    with api.store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE decisions SET response_json = replace(response_json, 'eligible', 'ineligible')"
                " WHERE seq = 3"
            )
        )
    report = api.client.get("/v1/audit/verify", headers=auditor).json()
    assert report["ok"] is False
    assert report["checked"] == 2
    assert report["first_broken"]["seq"] == 3
    assert report["first_broken"]["decision_id"] == ids[2]
    assert "altered" in report["first_broken"]["reason"]
    # A window before the edit still verifies; one that includes it does not.
    assert api.client.get("/v1/audit/verify?from=1&to=2", headers=auditor).json()["ok"] is True
    ranged = api.client.get("/v1/audit/verify?from=2&to=4", headers=auditor).json()
    assert ranged["first_broken"]["seq"] == 3


def test_a_deleted_row_is_reported_as_a_missing_link(api: Api) -> None:
    for path in EXAMPLES[:4]:
        api.post_decision(path.read_bytes())
    with api.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM decision_programs WHERE decision_seq = 2"))
        conn.execute(text("DELETE FROM decisions WHERE seq = 2"))
    report = api.client.get("/v1/audit/verify", headers=api.headers("auditor")).json()
    assert report["ok"] is False
    assert report["first_broken"]["seq"] == 2
    assert report["first_broken"]["decision_id"] is None
    assert "missing" in report["first_broken"]["reason"]


def test_replay_under_other_rules_reports_the_differences(api: Api) -> None:
    body = load_example("wuhan-dibao-household-eligible.json")  # as_of 2022-08-01
    decision_id = api.post_decision(body).json()["decision_id"]
    auditor = api.headers("auditor")

    current = api.client.post(
        f"/v1/decisions/{decision_id}/replay?rules=current", headers=auditor
    ).json()
    assert current["rules"] == "current"
    assert current["bundle"]["sha256"] != current["stored_bundle"]["sha256"]
    assert current["identical"] is False
    paths = {entry["path"] for entry in current["diff"]}
    assert "ruleset.sha256" in paths
    assert "programs.dibao.standard" in paths  # Wuhan raised its standard since 2022
    standard = next(e for e in current["diff"] if e["path"] == "programs.dibao.standard")
    assert standard["stored"] != standard["replayed"]
    assert any(c["parameter"] == "dibao.standard.urban" for c in current["rule_changes"])

    same_day = api.client.post(
        f"/v1/decisions/{decision_id}/replay?as_of=2022-08-01", headers=auditor
    ).json()
    assert same_day["rules"] == "as_of"
    assert same_day["identical"] is True and same_day["rule_changes"] == []

    conflict = api.client.post(
        f"/v1/decisions/{decision_id}/replay?rules=current&as_of=2022-08-01", headers=auditor
    )
    assert conflict.status_code == 422
    too_early = api.client.post(
        f"/v1/decisions/{decision_id}/replay?as_of=1999-01-01", headers=auditor
    )
    assert too_early.status_code == 422
    assert too_early.json()["errors"][0]["type"] == "before_first_version"


def test_replay_uses_the_stored_bundle_after_the_rule_files_change(
    api_factory: Callable[..., Api], db_url: str, tmp_path: Path
) -> None:
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[2] / "rules", rules)
    api = api_factory(db_url, rules_dir=rules)
    body = load_example("zhumadian-single-person-eligible.json")
    first = api.post_decision(body).json()
    bundle_before = first["ruleset"]["sha256"]

    # Edit the version file in force on the decision's date (the provenance of its standard:
    # part of the bundle's content, so its hash changes) and reload.
    in_force = rules / "zhumadian" / "2022-01-01.yaml"
    source = in_force.read_text(encoding="utf-8")
    assert "city-parameters.md (驻马店 2022)" in source
    in_force.write_text(
        source.replace("city-parameters.md (驻马店 2022)", "corrected source (驻马店 2022)"),
        encoding="utf-8",
    )
    reload = api.client.post("/v1/admin/rulesets/reload", headers=api.headers("admin"))
    assert reload.status_code == 200, reload.text

    second = api.post_decision(body).json()
    assert second["ruleset"]["sha256"] != bundle_before  # the files did change the bundle
    replay = api.client.post(
        f"/v1/decisions/{first['decision_id']}/replay", headers=api.headers("auditor")
    ).json()
    assert replay["identical"] is True
    assert replay["bundle"]["sha256"] == bundle_before

    # Even with the files gone, the stored bundle replays.
    shutil.rmtree(rules / "zhumadian")
    replay = api.client.post(
        f"/v1/decisions/{first['decision_id']}/replay", headers=api.headers("auditor")
    ).json()
    assert replay["identical"] is True


def test_a_stored_record_can_be_tampered_with_but_replay_says_so(api: Api) -> None:
    decision_id = api.post_decision(EXAMPLES[0].read_bytes()).json()["decision_id"]
    with api.store.engine.begin() as conn:
        stored = conn.execute(
            text("SELECT response_json FROM decisions WHERE id = :id"), {"id": decision_id}
        ).scalar_one()
        doc = json.loads(stored)
        doc["programs"]["dibao"]["status"] = (
            "eligible" if doc["programs"]["dibao"]["status"] != "eligible" else "ineligible"
        )
        conn.execute(
            text("UPDATE decisions SET response_json = :r WHERE id = :id"),
            {"r": json.dumps(doc, ensure_ascii=False), "id": decision_id},
        )
    report = api.client.post(
        f"/v1/decisions/{decision_id}/replay", headers=api.headers("auditor")
    ).json()
    assert report["identical"] is False
    assert [e["path"] for e in report["diff"]] == ["programs.dibao.status"]


@pytest.mark.parametrize("kind", ["unknown", "someone_elses"])
def test_unknown_ids_are_404(api: Api, kind: str) -> None:
    if kind == "unknown":
        decision_id = "0" * 32
    else:
        other = api.new_key("intake", "other-clerk")
        created = api.client.post(
            "/v1/decisions",
            content=EXAMPLES[0].read_bytes(),
            headers={"Authorization": f"Bearer {other}"},
        )
        decision_id = created.json()["decision_id"]
    for role in ("intake", "integrator"):
        got = api.client.get(f"/v1/decisions/{decision_id}", headers=api.headers(role))
        assert got.status_code == 404
        assert got.json()["errors"][0]["type"] == "not_found"
    replay = api.client.post(f"/v1/decisions/{decision_id}/replay", headers=api.headers("auditor"))
    assert replay.status_code == (404 if kind == "unknown" else 200)
    assert (
        api.client.get("/v1/decisions/not-an-id", headers=api.headers("auditor")).status_code == 404
    )


def test_a_decision_worded_by_an_older_engine_replays_as_the_same_decision(api: Api) -> None:
    """A newer engine may word the trace differently: the replay says the decision is the same
    (``decision_identical``) and shows the wording in the diff; a changed amount is not wording."""
    created = api.post_decision(EXAMPLES[0].read_bytes())
    assert created.status_code == 201
    stored = api.store.get(created.json()["decision_id"])
    assert stored is not None
    bundle = api.store.get_bundle(stored.bundle_sha256)
    assert bundle is not None

    def record_variant(change: Callable[[dict], None]) -> str:
        response = json.loads(stored.response_json)
        change(response)
        return api.store.record(
            jurisdiction=stored.jurisdiction,
            as_of=stored.as_of,
            bundle_sha256=stored.bundle_sha256,
            bundle_version=response["ruleset"]["version"],
            bundle_canonical_json=bundle,
            engine_version="0.1.0",
            request_json=stored.request_json,
            response_json=json.dumps(response, ensure_ascii=False),
            actor=stored.actor,
            programs_summary=stored.programs_summary,
        ).id

    def older_wording(response: dict) -> None:
        response["engine_version"] = "0.1.0"
        response["trace"][0]["message_zh"] = "年满 75 周岁，达到 60 周岁"

    def other_amount(response: dict) -> None:
        older_wording(response)
        response["programs"]["dibao"]["monthly_amount"] = "1.00"

    auditor = api.headers("auditor")
    worded = api.client.post(
        f"/v1/decisions/{record_variant(older_wording)}/replay", headers=auditor
    )
    assert worded.status_code == 200, worded.text
    report = worded.json()
    assert report["identical"] is False
    assert report["decision_identical"] is True
    assert {d["path"] for d in report["diff"]} == {"engine_version", "trace[0].message_zh"}

    changed = api.client.post(
        f"/v1/decisions/{record_variant(other_amount)}/replay", headers=auditor
    )
    report = changed.json()
    assert (report["identical"], report["decision_identical"]) == (False, False)
    assert "programs.dibao.monthly_amount" in {d["path"] for d in report["diff"]}
