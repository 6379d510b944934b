"""Operations: health, readiness, Prometheus metrics, OpenAPI document, request ids, JSON logs."""

from __future__ import annotations

import json
import re

from tests.api.conftest import EXAMPLES, Api


def test_health_and_readiness(sqlite_api: Api) -> None:
    assert sqlite_api.client.get("/healthz").json() == {"status": "ok"}
    ready = sqlite_api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["schema"] == "ok"
    assert "jurisdictions" in ready.json()["checks"]["rules"]


def _sample(metrics: str, name: str, **labels: str) -> float:
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_decisions_by_jurisdiction_program_status(sqlite_api: Api) -> None:
    body = EXAMPLES[0].read_bytes()  # changsha tekun
    labels = {"jurisdiction": "changsha", "program": "tekun", "status": "eligible"}
    before = sqlite_api.client.get("/metrics").text
    assert sqlite_api.post_decision(body).json()["programs"]["tekun"]["status"] == "eligible"
    assert sqlite_api.post_decision(body).status_code == 201
    after = sqlite_api.client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    assert _sample(text, "eligibility_decisions_total", **labels) == (
        _sample(before, "eligibility_decisions_total", **labels) + 2
    )
    assert (
        _sample(
            text,
            "eligibility_http_request_duration_seconds_count",
            method="POST",
            route="/v1/decisions",
        )
        >= 2
    )
    assert "eligibility_http_request_duration_seconds_bucket" in text
    assert (
        _sample(text, "eligibility_http_requests_total", route="/v1/decisions", status="201") >= 2
    )


def test_openapi_lists_every_endpoint(sqlite_api: Api) -> None:
    doc = sqlite_api.client.get("/openapi.json").json()
    paths = doc["paths"]
    expected = {
        "/v1/decisions": {"get", "post"},
        "/v1/evaluate": {"post"},
        "/v1/decisions/{decision_id}": {"get"},
        "/v1/decisions/{decision_id}/replay": {"post"},
        "/v1/audit/verify": {"get"},
        "/v1/rulesets": {"get"},
        "/v1/rulesets/{jurisdiction}": {"get"},
        "/v1/rulesets/{jurisdiction}/diff": {"get"},
        "/v1/admin/rulesets/reload": {"post"},
        "/v1/admin/keys": {"get", "post"},
        "/v1/admin/keys/{key_id}": {"delete"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/metrics": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    schemas = doc["components"]["schemas"]
    assert "EvaluationRequest" in schemas and "EvaluationResponse" in schemas
    assert "ErrorResponse" in schemas and "Member" in schemas
    post = paths["/v1/decisions"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/EvaluationRequest"
    )
    assert {"201", "401", "403", "413", "422", "503"} <= set(post["responses"])
    assert doc["components"]["securitySchemes"]
    # Every $ref resolves.
    for ref in re.findall(r'"\$ref":\s*"#/components/schemas/([^"]+)"', json.dumps(doc)):
        assert ref in schemas, ref


def test_request_ids_and_json_logs(sqlite_api: Api) -> None:
    given = sqlite_api.client.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
    assert given.headers["x-request-id"] == "trace-42.a"
    generated = sqlite_api.client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    recorded = sqlite_api.post_decision(EXAMPLES[1].read_bytes())
    refused = sqlite_api.client.post("/v1/decisions", content=b"{}")

    lines = [json.loads(line) for line in sqlite_api.logs.getvalue().splitlines() if line]
    access = [entry for entry in lines if entry.get("msg") == "request"]
    by_id = {entry["request_id"]: entry for entry in access}
    assert by_id["trace-42.a"]["route"] == "/healthz"
    entry = by_id[recorded.headers["x-request-id"]]
    assert entry["status"] == 201
    assert entry["decision_id"] == recorded.json()["decision_id"]
    assert entry["key_id"] == sqlite_api.key_ids["intake"] and entry["role"] == "intake"
    assert entry["duration_ms"] >= 0 and entry["level"] == "info" and entry["ts"].endswith("Z")
    assert by_id[refused.headers["x-request-id"]]["status"] == 401
