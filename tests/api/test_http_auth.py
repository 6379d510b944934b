"""API keys and roles: who may call what (401 without a valid key, 403 for the wrong role)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.routing import iter_route_contexts

from tests.api.conftest import EXAMPLES, ROLES, Api

ANY_ROLE = frozenset(ROLES)
WRITERS = frozenset({"intake", "integrator"})
READERS = frozenset({"intake", "integrator", "auditor"})
AUDITOR = frozenset({"auditor"})
ADMIN = frozenset({"admin"})


def endpoints(decision_id: str) -> list[tuple[str, str, dict, frozenset[str], set[int]]]:
    """(method, url, request kwargs, roles allowed, statuses an allowed role may get)."""
    body = {"content": EXAMPLES[0].read_bytes()}
    return [
        ("POST", "/v1/decisions", body, WRITERS, {201}),
        ("POST", "/v1/evaluate", body, WRITERS, {200}),
        ("GET", "/v1/decisions", {}, READERS, {200}),
        # Intake recorded it; the integrator key did not, so for it the decision does not exist.
        ("GET", f"/v1/decisions/{decision_id}", {}, READERS, {200, 404}),
        ("POST", f"/v1/decisions/{decision_id}/replay", {}, AUDITOR, {200}),
        ("GET", "/v1/audit/verify", {}, AUDITOR, {200}),
        ("GET", "/v1/rulesets", {}, ANY_ROLE, {200}),
        ("GET", "/v1/rulesets/wuhan?as_of=2024-01-01", {}, ANY_ROLE, {200}),
        ("GET", "/v1/rulesets/wuhan/diff?from=2021-01-01&to=2024-01-01", {}, ANY_ROLE, {200}),
        ("POST", "/v1/admin/rulesets/reload", {}, ADMIN, {200}),
        ("POST", "/v1/admin/keys", {"json": {"role": "intake", "name": "x"}}, ADMIN, {201}),
        ("GET", "/v1/admin/keys", {}, ADMIN, {200}),
        ("DELETE", "/v1/admin/keys/0000000000000000", {}, ADMIN, {404}),
    ]


def test_role_matrix(api_factory: Callable[..., Api], sqlite_url: str, fast_path: bool) -> None:
    api = api_factory(sqlite_url, fast_path=fast_path)
    decision_id = api.post_decision(EXAMPLES[0].read_bytes()).json()["decision_id"]
    for method, url, kwargs, allowed, ok in endpoints(decision_id):
        for role in ROLES:
            response = api.client.request(method, url, headers=api.headers(role), **kwargs)
            if role in allowed:
                assert response.status_code in ok, (method, url, role, response.text)
            else:
                assert response.status_code == 403, (method, url, role, response.status_code)
                assert response.json()["errors"][0]["type"] == "forbidden"
        for headers in ({}, {"Authorization": "Bearer elig_0123456789abcdef_wrong"}):
            response = api.client.request(method, url, headers=headers, **kwargs)
            assert response.status_code == 401, (method, url, headers)
            assert response.json()["errors"][0]["type"] == "unauthorized"
            assert "decision_id" not in response.text


def test_no_v1_route_answers_without_a_key(sqlite_api: Api) -> None:
    """Every /v1 route in the app, whatever its method, refuses a request without a key."""
    # The routes of the included routers too (FastAPI keeps those apart from app.routes).
    routes = [r for r in iter_route_contexts(sqlite_api.app.routes) if r.path.startswith("/v1")]
    assert len(routes) >= 14
    for route in routes:
        path = (
            route.path.replace("{decision_id}", "0" * 32)
            .replace("{key_id}", "0" * 16)
            .replace("{jurisdiction:path}", "wuhan")
        )
        for method in route.methods:
            response = sqlite_api.client.request(method, path, content=b"{}")
            assert response.status_code == 401, (method, path, response.status_code)


def test_key_header_forms(sqlite_api: Api) -> None:
    key = sqlite_api.keys["auditor"]
    for headers in (
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"bearer {key}"},
        {"X-API-Key": key},
    ):
        assert sqlite_api.client.get("/v1/audit/verify", headers=headers).status_code == 200
    for headers in ({"Authorization": key}, {"Authorization": f"Basic {key}"}):
        assert sqlite_api.client.get("/v1/audit/verify", headers=headers).status_code == 401


def test_intake_and_integrator_see_only_their_own_decisions(sqlite_api: Api) -> None:
    api = sqlite_api
    mine = api.post_decision(EXAMPLES[0].read_bytes(), role="intake").json()["decision_id"]
    theirs = api.post_decision(EXAMPLES[1].read_bytes(), role="integrator").json()["decision_id"]

    def listed(role: str) -> set[str]:
        page = api.client.get("/v1/decisions", headers=api.headers(role)).json()
        return {item["decision_id"] for item in page["items"]}

    assert listed("intake") == {mine}
    assert listed("integrator") == {theirs}
    assert listed("auditor") == {mine, theirs}
    assert (
        api.client.get(f"/v1/decisions/{theirs}", headers=api.headers("intake")).status_code == 404
    )
    assert (
        api.client.get(f"/v1/decisions/{mine}", headers=api.headers("integrator")).status_code
        == 404
    )
    assert (
        api.client.get(f"/v1/decisions/{mine}", headers=api.headers("auditor")).status_code == 200
    )


def test_auditor_cannot_record(sqlite_api: Api) -> None:
    before = sqlite_api.count()
    response = sqlite_api.post_decision(EXAMPLES[0].read_bytes(), role="auditor")
    assert response.status_code == 403
    assert sqlite_api.count() == before


def test_admin_manages_keys_and_a_revoked_key_stops_working(
    api_factory: Callable[..., Api], sqlite_url: str
) -> None:
    # With the key cache on: revoking through the API must still take effect at once.
    api = api_factory(sqlite_url, key_cache_seconds=60)
    admin = api.headers("admin")
    created = api.client.post(
        "/v1/admin/keys", json={"role": "intake", "name": "desk 7"}, headers=admin
    )
    assert created.status_code == 201
    new = created.json()
    assert new["key"].startswith("elig_") and new["role"] == "intake"
    headers = {"Authorization": f"Bearer {new['key']}"}
    assert api.post_decision(EXAMPLES[0].read_bytes(), role="intake").status_code == 201
    assert (
        api.client.post(
            "/v1/decisions", content=EXAMPLES[0].read_bytes(), headers=headers
        ).status_code
        == 201
    )

    listed = api.client.get("/v1/admin/keys", headers=admin).json()
    assert any(k["key_id"] == new["key_id"] and k["revoked_at"] is None for k in listed)
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert new["key"] not in api.client.get("/v1/admin/keys", headers=admin).text

    revoked = api.client.delete(f"/v1/admin/keys/{new['key_id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert api.client.get("/v1/decisions", headers=headers).status_code == 401
    assert api.client.delete(f"/v1/admin/keys/{new['key_id']}", headers=admin).status_code == 404

    bad = api.client.post("/v1/admin/keys", json={"role": "root", "name": "x"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "body.role"


@pytest.mark.parametrize("role", ["intake", "admin"])
def test_a_key_revoked_elsewhere_is_refused(sqlite_api: Api, role: str) -> None:
    """Revoked directly in the store (as `eligibility keys revoke` does): refused (cache off)."""
    assert (
        sqlite_api.client.get("/v1/rulesets", headers=sqlite_api.headers(role)).status_code == 200
    )
    assert sqlite_api.store.revoke(sqlite_api.key_ids[role])
    assert (
        sqlite_api.client.get("/v1/rulesets", headers=sqlite_api.headers(role)).status_code == 401
    )


def test_the_fast_path_and_the_routes_read_the_key_alike(
    api_factory: Callable[..., Api], sqlite_url: str, fast_path: bool
) -> None:
    # One reading of the key headers for every endpoint: POST /v1/evaluate (the fast path, or
    # its FastAPI route) admits exactly the header forms that GET /v1/rulesets (a route) admits.
    api = api_factory(sqlite_url, fast_path=fast_path)
    key = api.keys["intake"]
    forms: list[tuple[list[tuple[str, str]], int]] = [
        ([("Authorization", f"Bearer {key}")], 200),
        ([("Authorization", f"bearer  {key} ")], 200),
        ([("X-API-Key", f" {key}")], 200),
        ([("X-API-Key", ""), ("Authorization", f"Bearer {key}")], 200),
        ([("X-API-Key", " "), ("X-API-Key", key)], 200),  # the first key that is not blank
        ([("Authorization", "Bearer wrong"), ("Authorization", f"Bearer {key}")], 200),
        ([("X-API-Key", "wrong"), ("Authorization", f"Bearer {key}")], 401),  # X-API-Key first
        ([("Authorization", key)], 401),
        ([("Authorization", f"Basic {key}")], 401),
        ([("Authorization", "Bearer ")], 401),
    ]
    body = EXAMPLES[0].read_bytes()
    for headers, status in forms:
        evaluated = api.client.post(
            "/v1/evaluate", content=body, headers=[*headers, ("Content-Type", "application/json")]
        )
        listed = api.client.get("/v1/rulesets", headers=headers)
        assert (evaluated.status_code, listed.status_code) == (status, status), headers
