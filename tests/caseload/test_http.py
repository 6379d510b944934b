"""``POST /v1/caseload/whatif`` through a real FastAPI app (only the key check is a stand-in)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

from service.api.errors import install_handlers
from service.caseload.http import caseload_router
from tests.caseload.test_pipeline import cli


def admin_or_auditor(x_role: str = Header(default="")) -> str:
    if x_role not in ("admin", "auditor"):
        raise HTTPException(403, "forbidden")
    return x_role


@pytest.fixture(scope="module")
def body(tmp_path_factory) -> bytes:
    path: Path = tmp_path_factory.mktemp("http") / "c.jsonl"
    assert cli(
        "caseload", "generate", "--jurisdiction", "wuhan", "--households", "400", "--seed", "2",
        "--out", path, "--workers", "1",
    ) == 0  # fmt: skip
    return path.read_bytes()


@pytest.fixture(scope="module")
def client(rule_base) -> TestClient:
    app = FastAPI()
    install_handlers(app, retry_after=5)  # the service answers the router's refusals
    app.include_router(caseload_router(lambda: rule_base, admin_or_auditor, max_households=450))
    return TestClient(app)


URL = "/v1/caseload/whatif?jurisdiction=wuhan&as_of=2025-07-01"


def test_auditor_gets_the_whatif_summary(client, body, rule_base):
    lines = body.splitlines()
    lines.insert(2, b'{"jurisdiction": "wuhan"}')  # line 3: no household
    response = client.post(
        URL + "&set=dibao.standard.urban=1000",
        content=b"\n".join(lines),
        headers={"X-Role": "auditor", "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["households"] == 400 and report["refused"] == 1
    assert report["errors"][0]["line"] == 3
    assert report["errors"][0]["errors"][0]["path"] == "household"
    assert report["changed"]["overrides"] == {"dibao.standard.urban": "1000"}
    dibao = report["programs"]["dibao"]
    assert dibao["gained"] > 0
    assert dibao["eligible_after"] - dibao["eligible_before"] == dibao["gained"] - dibao["lost"]
    change = Decimal(report["after"]["monthly_cost"]) - Decimal(report["before"]["monthly_cost"])
    assert Decimal(report["monthly_cost_change"]) == change
    assert Decimal(report["annual_cost_change"]) == change * 12

    same = client.post(URL, content=body, headers={"X-Role": "admin"})
    assert same.status_code == 200
    assert same.json()["households_changed"] == 0
    assert same.json()["before"] == report["before"]  # same baseline, same valid households


def test_other_roles_are_refused(client, body):
    assert client.post(URL, content=body, headers={"X-Role": "intake"}).status_code == 403


def test_too_large_caseloads_go_to_the_command_line(client, body):
    big = body + body  # 800 households > 450
    response = client.post(URL, content=big, headers={"X-Role": "admin"})
    assert response.status_code == 413
    assert "eligibility caseload whatif" in response.json()["errors"][0]["reason_en"]


def test_bad_override_and_jurisdiction(client, body):
    response = client.post(
        URL + "&set=dibao.standard.urban=abc", content=body, headers={"X-Role": "admin"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "override_invalid"
    response = client.post(
        "/v1/caseload/whatif?jurisdiction=atlantis&as_of=2025-07-01",
        content=body,
        headers={"X-Role": "admin"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "jurisdiction"
    response = client.post(
        "/v1/caseload/whatif?jurisdiction=wuhan&as_of=2025-07-01&compare_as_of=2023-06-01",
        content=body,
        headers={"X-Role": "admin"},
    )
    assert response.status_code == 200
    assert response.json()["changed"]["version"] == "2023-04-01"
    assert response.json()["baseline"]["version"] == date(2025, 1, 1).isoformat()


def test_records_keep_their_own_jurisdiction_unless_forced(client, body, rule_base):
    wuhan = rule_base.resolve("wuhan", date(2025, 7, 1)).sha256
    changsha = rule_base.resolve("changsha", date(2025, 7, 1)).sha256
    kept = client.post(
        "/v1/caseload/whatif?jurisdiction=changsha&as_of=2025-07-01",
        content=body,
        headers={"X-Role": "admin"},
    )
    assert kept.status_code == 200, kept.text
    report = kept.json()
    assert report["baseline"]["sha256"] == report["changed"]["sha256"] == wuhan
    assert [(b["jurisdiction"], b["households"]) for b in report["bundles"]] == [("wuhan", 400)]
    assert report["overridden"] == {"records": 0, "jurisdiction": 0, "as_of": 0}
    assert report["kept_own"] == {"jurisdiction": 400, "as_of": 0}

    forced = client.post(
        "/v1/caseload/whatif?jurisdiction=changsha&as_of=2025-07-01&force_jurisdiction=true",
        content=body,
        headers={"X-Role": "admin"},
    )
    assert forced.status_code == 200, forced.text
    report = forced.json()
    assert report["baseline"]["sha256"] == changsha
    assert report["overridden"] == {"records": 400, "jurisdiction": 400, "as_of": 0}
    assert report["defaults"] == {
        "jurisdiction": "changsha",
        "as_of": "2025-07-01",
        "force_jurisdiction": True,
        "force_as_of": False,
    }


def test_forcing_a_value_that_is_not_given_is_refused(client, body):
    response = client.post(
        "/v1/caseload/whatif?force_as_of=true", content=body, headers={"X-Role": "admin"}
    )
    assert response.status_code == 422
    problem = response.json()["errors"][0]
    assert problem["path"] == "force_as_of" and problem["reason_zh"] and problem["reason_en"]


def test_without_defaults_each_record_uses_its_own(client, body, rule_base):
    response = client.post("/v1/caseload/whatif", content=body, headers={"X-Role": "admin"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["refused"] == 0 and report["households"] == 400
    assert report["baseline"]["sha256"] == rule_base.resolve("wuhan", date(2025, 7, 1)).sha256
