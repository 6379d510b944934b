"""The OpenAPI document (``/openapi.json``, shown at ``/docs``): what integrators generate from.

FastAPI builds it from the routes, once, on the first request; :func:`complete` then adds what
FastAPI cannot see:

- the request schema of ``POST /v1/decisions`` and ``/v1/evaluate`` (they read the raw body,
  for speed, so FastAPI does not know it);
- the body limit (413), which the middleware applies to every request before any route;
- the contract's error body on every error, never FastAPI's own 422 shape (never answered);
- the contract examples (``examples/``, copies of the test suite's) as request examples, and
  the engine's answers to them, computed here, as response examples;
- an example of each error body that does not depend on the input (401, 403, 413, 503, and the
  422 of a refused request body), made by the code that answers it.

The title stays plain ASCII: client generators (openapi-python-client) name the package after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.actions.decisions import decide
from service.api.auth import PERMISSIONS
from service.api.errors import error_body, forbidden, too_large, unauthorized, unavailable
from service.api.runtime import Runtime
from service.contract.errors import Refusal
from service.contract.request import EvaluationRequest
from service.contract.response import ErrorResponse
from service.engine import RequestRejected
from service.store import ROLES

TITLE = "Eligibility service"
DESCRIPTION = """\
社会救助资格审核服务：按各辖区在认定日期有效的规则，认定特困人员救助供养、最低生活保障（低保）、\
低保边缘家庭、刚性支出困难家庭和临时救助，给出金额和逐条依据，并保存防篡改、可重放的认定记录。

Evaluates households against the dated rule sets of each jurisdiction (特困 `tekun`, 低保 \
`dibao`, 低保边缘 `marginal`, 刚性支出 `rigid_expenditure`, 临时救助 `temporary`) and keeps a \
tamper-evident, replayable log of recorded decisions.

Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`. Every error answers the \
contract's body `{"errors": [{"path", "reason_zh", "reason_en", "type"}]}`.

The request schema states the rules of each field (send money as a decimal string such as \
`"1200.00"`; a JSON number with at most two decimals is accepted too). What no JSON Schema can \
state, the service checks and answers with 422: the GB 11643 check digit of `id_number` and its \
birth date against `birth_date`; member ids unique, and every `income` and `deductions` entry \
naming a member; the jurisdiction known and `as_of` within its rules.
"""

ERROR_BODY = {"$ref": "#/components/schemas/ErrorResponse"}
EXAMPLES_DIR = Path(__file__).with_name("examples")


def error(description: str, problems: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An error response for a route's ``responses=``: the contract's error body, and an example
    when the problems do not depend on the input (made by the code that answers them)."""
    response: dict[str, Any] = {"model": ErrorResponse, "description": description}
    if problems is not None:
        response["content"] = {"application/json": {"examples": _example(description, problems)}}
    return response


def _example(description: str, problems: list[dict[str, Any]]) -> dict[str, Any]:
    return {"error": {"summary": description, "value": error_body(problems)}}


UNAUTHORIZED = {
    401: error("no API key, or an unknown or revoked one", unauthorized().problems),
}
UNAVAILABLE = {
    503: error(
        "the database is unavailable: retry after `Retry-After` seconds (type"
        " `log_damaged`, without `Retry-After`: the decision log was changed outside the"
        " service, and nothing is recorded until an operator has checked it)",
        unavailable(5).problems,  # the body does not depend on Retry-After
    ),
}
INVALID = {422: error("bad input: each problem with its field path and reason (zh, en)")}
NOT_FOUND = {404: error("no such id (or not visible to this key)")}
ALTERED = {409: error("the stored record or its rule bundle was altered or is unreadable")}
TOO_LARGE = "the request body is larger than the limit"


def keyed(permission: str) -> dict[int | str, dict[str, Any]]:
    """The errors of an endpoint behind a role: 401, 403 (for the roles not allowed), 503 (the
    key is looked up in the database)."""
    allowed = PERMISSIONS[permission]
    responses = {**UNAUTHORIZED, **UNAVAILABLE}
    refused = [role for role in ROLES if role not in allowed]
    if refused:
        problems = forbidden(refused[0], allowed).problems
        responses[403] = error(
            f"the key's role may not do this (allowed: {', '.join(sorted(allowed))})", problems
        )
    return responses


REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/EvaluationRequest"}}
        },
    }
}


def contract_examples() -> dict[str, bytes]:
    """The contract examples by name (empty if the package was installed without them)."""
    return {path.stem: path.read_bytes() for path in sorted(EXAMPLES_DIR.glob("*.json"))}


def example_decision_id(name: str) -> str:
    """A decision id for an example response (real ones are random)."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def complete(
    schema: dict[str, Any],
    *,
    request_schema: dict[str, Any],
    evaluate: Callable[[bytes], dict[str, Any] | None],
    invalid_request: list[dict[str, Any]],
    body_limit: Callable[[str], int],
) -> dict[str, Any]:
    """Adds to FastAPI's ``schema`` what it cannot see (see the module's docstring).

    ``request_schema``: EvaluationRequest's JSON Schema (``$defs`` go to the components);
    ``evaluate(body)``: the engine's answer to a contract example, None if the rules loaded do
    not cover it; ``invalid_request``: the problems of a refused request body (the 422 example
    of the two decision endpoints); ``body_limit(path)``: the body limit there.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in request_schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components["EvaluationRequest"] = request_schema
    # FastAPI adds its own 422 shape to routes with parameters; the service never answers it.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)

    for path, method, operation in operations(schema):
        responses = operation["responses"]
        limit = body_limit(path)
        responses.setdefault(
            "413",
            {
                "description": f"{TOO_LARGE} ({limit:,} bytes)",
                "content": {
                    "application/json": {
                        "schema": dict(ERROR_BODY),
                        "examples": _example(TOO_LARGE, too_large(limit).problems),
                    }
                },
            },
        )
        for response in responses.values():
            content = response.get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                content["schema"] = dict(ERROR_BODY)
        if path in ("/v1/decisions", "/v1/evaluate") and method == "post":
            content = responses["422"]["content"]["application/json"]
            content["examples"] = _example(responses["422"]["description"], invalid_request)

    _decision_examples(schema, evaluate)
    return schema


def _decision_examples(
    schema: dict[str, Any], evaluate: Callable[[bytes], dict[str, Any] | None]
) -> None:
    requests: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for name, body in contract_examples().items():
        answer = evaluate(body)
        if answer is None:
            continue
        requests[name] = {"summary": name, "value": orjson.loads(body)}
        answers[name] = {"summary": name, "value": answer}
    if not requests:
        return
    paths = schema["paths"]
    for path, status, recorded in (("/v1/decisions", "201", True), ("/v1/evaluate", "200", False)):
        operation = paths.get(path, {}).get("post")
        if operation is None:
            continue
        operation["requestBody"]["content"]["application/json"]["examples"] = requests
        content = operation["responses"][status].setdefault("content", {})
        media = content.setdefault("application/json", {})
        media["examples"] = {
            name: {
                "summary": example["summary"],
                "value": (
                    {"decision_id": example_decision_id(name), **example["value"]}
                    if recorded
                    else example["value"]
                ),
            }
            for name, example in answers.items()
        }
    whatif = paths.get("/v1/caseload/whatif", {}).get("post")
    if whatif is not None:
        lines = b"\n".join(
            orjson.dumps(orjson.loads(body)) for body in contract_examples().values()
        )
        whatif["requestBody"]["content"]["application/x-ndjson"]["example"] = lines.decode() + "\n"


def install(app: FastAPI, runtime: Runtime, body_limits: Mapping[str, int]) -> None:
    """``app.openapi``: the document FastAPI builds, completed by :func:`complete` (once, on the
    first request for it). ``body_limits``: the paths whose body limit is not the settings'."""
    default_limit = runtime.settings.max_body_bytes

    def evaluate(body: bytes) -> dict[str, Any] | None:
        try:  # the code the endpoints run
            _, _, response = decide(runtime, body)
        except Refusal:
            return None  # the rules loaded do not cover this example
        return orjson.loads(orjson.dumps(response))  # type: ignore[no-any-return]

    def document() -> dict[str, Any]:
        if not app.openapi_schema:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = complete(
                schema,
                request_schema=EvaluationRequest.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                ),
                evaluate=evaluate,
                invalid_request=_refused_example(runtime),
                body_limit=lambda path: body_limits.get(path, default_limit),
            )
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def _refused_example(runtime: Runtime) -> list[dict[str, Any]]:
    """What the parser answers to a member without a birth date and a negative income."""
    try:
        runtime.decider.parse(
            {
                "jurisdiction": "wuhan",
                "household": {
                    "members": [{"id": "m1", "relation": "applicant"}],
                    "income": [{"member": "m1", "type": "wage", "monthly": "-1"}],
                },
            }
        )
    except RequestRejected as rejected:
        return list(rejected.problems)
    raise AssertionError("the refused example was accepted")
