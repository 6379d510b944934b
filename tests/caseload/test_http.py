"""``POST /v1/caseload/whatif`` through a real FastAPI app (only the key check is a stand-in)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

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
