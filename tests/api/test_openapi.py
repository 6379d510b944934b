"""The OpenAPI document (``/openapi.json``): valid, honest about errors, with examples.

Integrators generate clients from it and read it in ``/docs``; what it says must be what the
service does:

- it is valid OpenAPI 3.1 and its title is plain ASCII (generators make package names of it);
- every error status an endpoint answers (provoked here: no key, each role, a body over the
  limit, a database that is down) is documented on it, with the contract's error body;
- the contract examples are its request examples and the engine's answers to them its
  response examples.

The request schema's strictness: test_request_schema.py; a generated client at work:
test_generated_client.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from service.api.auth import PERMISSIONS
from service.caseload.http import MAX_BYTES as CASELOAD_MAX_BYTES
from service.engine import Decider
from tests.api.conftest import EXAMPLES, ROLES, ROOT, Api
from tests.api.test_http_errors import UNREACHABLE

DOCUMENT_URI = "urn:eligibility:openapi"
PATH_VALUES = {
    "decision_id": "0123456789abcdef0123456789abcdef",
    "jurisdiction": "wuhan",
    "key_id": "no-such-key",
}


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


@pytest.fixture
def doc(sqlite_api: Api) -> dict[str, Any]:
    answer = sqlite_api.client.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def validator_for(doc: dict[str, Any], component: str) -> Draft202012Validator:
    """A JSON Schema validator for ``#/components/schemas/<component>`` of the document."""
    registry = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#/components/schemas/{component}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


# --- the document itself ------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1_with_an_ascii_title(doc: dict[str, Any]) -> None:
    validate_openapi(doc)
    assert doc["openapi"].startswith("3.1")
    # openapi-python-client (and others) name the client package after the title.
    assert doc["info"]["title"].isascii(), doc["info"]["title"]
    assert "社会救助" in doc["info"]["description"]
    operation_ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(operation_ids) == len(set(operation_ids))
    # Short, readable operation ids: the generated client's function names.
    assert all(re.fullmatch(r"[a-z][a-z_]*", oid) and "v1" not in oid for oid in operation_ids)


def test_every_documented_error_has_the_contract_error_body(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    # The published ErrorResponse is the contract's (schemas/error.schema.json).
    contract = json.loads((ROOT / "schemas" / "error.schema.json").read_text(encoding="utf-8"))
    assert schemas["ErrorResponse"]["properties"].keys() == contract["properties"].keys()
    assert schemas["Problem"]["required"] == contract["$defs"]["Problem"]["required"]
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 shape is never answered
    for path, method, operation in _operations(doc):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")) or (path, status) == ("/readyz", "503"):
                continue
            content = response.get("content", {}).get("application/json", {})
            assert content.get("schema", {}).get("$ref", "").endswith("/ErrorResponse"), (
                method,
                path,
                status,
            )
            examples = content.get("examples") or {}
            # Where the body does not depend on the input, it is shown (made by the code).
            if status in ("401", "403", "413", "503") or (
                status == "422" and method == "post" and path in ("/v1/decisions", "/v1/evaluate")
            ):
                assert examples, (method, path, status, "no example")
            for example in examples.values():
                assert validator_for(doc, "ErrorResponse").is_valid(example["value"])
                problem = example["value"]["errors"][0]
                assert problem["reason_zh"] and problem["reason_en"]


def _documented(doc: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    return {(method.upper(), path): set(op["responses"]) for path, method, op in _operations(doc)}


def test_401_403_413_are_documented_exactly_where_they_are_answered(
    sqlite_api: Api, doc: dict[str, Any]
) -> None:
    client = sqlite_api.client
    max_body = sqlite_api.settings.max_body_bytes
    missing: list[str] = []
    for (method, path), documented in _documented(doc).items():
        url = _url(path)
        # No key.
        answered = {client.request(method, url).status_code}
        # Each role's key.
        for role in ROLES:
            answered.add(client.request(method, url, headers=sqlite_api.headers(role)).status_code)
        # A body over the limit (the caseload what-if has its own, larger one).
        limit = max_body
        if path == "/v1/caseload/whatif":  # its own limit, checked once the query is valid
            limit, url = CASELOAD_MAX_BYTES, f"{url}?jurisdiction=wuhan&as_of=2022-08-01"
        oversized = client.request(
            method, url, content=b"{" * (limit + 1), headers=sqlite_api.headers("admin")
        )
        answered.add(oversized.status_code)
        for status in ("401", "403", "413"):
            if (int(status) in answered) != (status in documented):
                missing.append(f"{method} {path}: {status} answered={int(status) in answered}")
    assert not missing, "\n".join(missing)


def test_503_is_documented_exactly_where_a_database_outage_answers_it(
    api_factory: Callable[..., Api], sqlite_api: Api
) -> None:
    doc = sqlite_api.client.get("/openapi.json").json()
    down = api_factory(UNREACHABLE, keys=False)
    key = {"Authorization": "Bearer elig_0123456789abcdef_whatever"}
    wrong: list[str] = []
    for (method, path), documented in _documented(doc).items():
        answered = down.client.request(method, _url(path), headers=key).status_code
        if (answered == 503) != ("503" in documented):
            wrong.append(f"{method} {path}: answered {answered}, documented {sorted(documented)}")
    assert not wrong, "\n".join(wrong)


def test_422_is_documented_wherever_input_is_validated(doc: dict[str, Any]) -> None:
    for path, method, operation in _operations(doc):
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        if takes_input or path == "/v1/admin/rulesets/reload":  # a rule set that is invalid
            assert "422" in operation["responses"], (method, path)


def test_the_caseload_whatif_is_documented_like_every_other_endpoint(doc: dict[str, Any]) -> None:
    operation = doc["paths"]["/v1/caseload/whatif"]["post"]
    assert {"401", "403", "413", "422", "503"} <= set(operation["responses"])
    assert operation["security"]  # behind a key
    body = operation["requestBody"]["content"]["application/x-ndjson"]
    lines = body["example"].splitlines()
    assert len(lines) == len(EXAMPLES) and all(json.loads(line)["household"] for line in lines)
    assert set(PERMISSIONS["caseload"]) <= set(re.findall(r"\w+", operation["description"]))


# --- examples -----------------------------------------------------------------------------------


def test_request_and_response_examples_are_the_contract_examples_and_the_engines_answers(
    doc: dict[str, Any], engine: Decider
) -> None:
    request_validator = validator_for(doc, "EvaluationRequest")
    response_validator = validator_for(doc, "EvaluationResponse")
    for path, status in (("/v1/decisions", "201"), ("/v1/evaluate", "200")):
        operation = doc["paths"][path]["post"]
        requests = operation["requestBody"]["content"]["application/json"]["examples"]
        responses = operation["responses"][status]["content"]["application/json"]["examples"]
        assert set(requests) == {example.stem for example in EXAMPLES}
        assert set(responses) == set(requests)
        for example in EXAMPLES:
            body = json.loads(example.read_text(encoding="utf-8"))
            assert requests[example.stem]["value"] == body
            assert not list(request_validator.iter_errors(body)), example.name
            published = responses[example.stem]["value"]
            assert list(response_validator.iter_errors(published)) == [], example.name
            expected = json.loads(json.dumps(engine.evaluate(body)))
            if status == "201":
                assert re.fullmatch(r"[0-9a-f]{32}", published.pop("decision_id"))
            assert published == expected, example.name


def test_the_examples_the_service_ships_are_the_contract_examples() -> None:
    """The package carries copies (the tests folder is not installed); they must not drift."""
    shipped = sorted((ROOT / "service" / "api" / "examples").glob("*.json"))
    assert [p.name for p in shipped] == [p.name for p in EXAMPLES]
    for copy, original in zip(shipped, EXAMPLES, strict=True):
        assert copy.read_bytes() == original.read_bytes(), copy.name
