"""The caseload what-if (service.caseload) as mounted by the service: keys, roles, body limit."""

from __future__ import annotations

import json

from tests.api.conftest import Api
from tests.helpers import load_example

URL = "/v1/caseload/whatif?jurisdiction=wuhan&as_of=2024-01-01&set=dibao.standard.urban=1200"


def caseload(lines: int) -> bytes:
    request = load_example("wuhan-dibao-household-eligible.json")
    request["as_of"] = "2024-01-01"
    line = json.dumps(request, ensure_ascii=False)
    return ("\n".join([line] * lines) + "\n").encode("utf-8")


def test_caseload_whatif_is_for_admin_and_auditor(sqlite_api: Api) -> None:
    body = caseload(3)
    for role in ("admin", "auditor"):
        response = sqlite_api.client.post(URL, content=body, headers=sqlite_api.headers(role))
        assert response.status_code == 200, (role, response.text[:300])
    for role in ("intake", "integrator"):
        response = sqlite_api.client.post(URL, content=body, headers=sqlite_api.headers(role))
        assert response.status_code == 403
    assert sqlite_api.client.post(URL, content=body).status_code == 401
    assert sqlite_api.count() == 0  # a what-if records nothing


def test_caseload_has_its_own_body_limit(sqlite_api: Api) -> None:
    body = caseload(1500)
    assert len(body) > sqlite_api.settings.max_body_bytes  # over the limit of one decision
    response = sqlite_api.client.post(URL, content=body, headers=sqlite_api.headers("auditor"))
    assert response.status_code == 200, response.text[:300]
    single = sqlite_api.client.post(
        "/v1/evaluate", content=body, headers=sqlite_api.headers("intake")
    )
    assert single.status_code == 413
