"""Refused requests: the contract's 422 (path, zh, en), 413, 404, 503; nothing is recorded."""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.cli import main as cli_main
from tests.api.conftest import Api
from tests.helpers import ROOT, load_example

BASE = load_example("wuhan-dibao-household-eligible.json")


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    change(body)
    return body


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        node = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


BAD_BODIES: list[tuple[str, Any, str, str]] = [
    # (case, body, expected path, expected type)
    (
        "unknown jurisdiction",
        mutated(_set(["jurisdiction"], "atlantis")),
        "jurisdiction",
        "unknown_jurisdiction",
    ),
    (
        "date before first version",
        mutated(_set(["as_of"], "2001-01-01")),
        "as_of",
        "before_first_version",
    ),
    (
        "negative money",
        mutated(_set(["household", "income", 0, "monthly"], "-5.00")),
        "household.income[0].monthly",
        "money_negative",
    ),
    (
        "malformed money",
        mutated(_set(["household", "income", 0, "monthly"], "12,50")),
        "household.income[0].monthly",
        "money_format",
    ),
    (
        "too many decimals",
        mutated(_set(["household", "income", 0, "monthly"], 1.234)),
        "household.income[0].monthly",
        "money_format",
    ),
    (
        "unknown enum value",
        mutated(_set(["household", "members", 0, "relation"], "cousin")),
        "household.members[0].relation",
        "literal_error",
    ),
    (
        "unknown income type",
        mutated(_set(["household", "income", 0, "type"], "lottery")),
        "household.income[0].type",
        "literal_error",
    ),
    (
        "duplicate member ids",
        mutated(_set(["household", "members", 1, "id"], "m1")),
        "household.members[1].id",
        "duplicate_member",
    ),
    (
        "income for unknown member",
        mutated(_set(["household", "income", 1, "member"], "m9")),
        "household.income[1].member",
        "unknown_member",
    ),
    ("unknown field", mutated(_set(["household", "pets"], 2)), "household.pets", "extra_forbidden"),
    (
        "date not on the calendar",
        mutated(_set(["as_of"], "2022-13-01")),
        "as_of",
        "date_invalid",
    ),
    (
        "date with a time",
        mutated(_set(["as_of"], "2022-08-01T00:00:00")),
        "as_of",
        "date_format",
    ),
    (
        "birth date as a number",
        mutated(_set(["household", "members", 0, "birth_date"], 19790308)),
        "household.members[0].birth_date",
        "date_format",
    ),
    (
        "a boolean as a word",
        mutated(_set(["household", "members", 0, "employed"], "yes")),
        "household.members[0].employed",
        "bool_type",
    ),
    (
        "no members",
        mutated(_set(["household", "members"], [])),
        "household.members",
        "too_short",
    ),
    (
        "bad ID check digit",
        mutated(_set(["household", "members", 0, "id_number"], "420106197903081231")),
        "household.members[0].id_number",
        "id_number_check_digit",
    ),
    ("missing household", {"jurisdiction": "wuhan"}, "household", "missing"),
    ("not JSON", b"{not json", "", "json_invalid"),
    ("empty body", b"", "", "json_invalid"),
    ("a JSON array", b"[1, 2]", "", "model_type"),
]


@pytest.mark.parametrize(
    ("case", "body", "path", "kind"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES]
)
def test_bad_input_is_a_422_naming_the_field_and_records_nothing(
    api_factory: Callable[..., Api],
    sqlite_url: str,
    fast_path: bool,
    case: str,
    body: Any,
    path: str,
    kind: str,
) -> None:
    api = api_factory(sqlite_url, fast_path=fast_path)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    for url in ("/v1/decisions", "/v1/evaluate"):
        response = api.client.post(url, content=content, headers=api.headers("intake"))
        assert response.status_code == 422, (case, response.text)
        errors = response.json()["errors"]
        assert errors, case
        for error in errors:
            assert set(error) >= {"path", "reason_zh", "reason_en", "type"}
            assert error["reason_zh"] and error["reason_en"]
        assert any(e["path"] == path and e["type"] == kind for e in errors), errors
    assert api.count() == 0


def test_malformed_date_type_name(sqlite_api: Api) -> None:
    """A date that is not YYYY-MM-DD names as_of and says how to write it, in both languages."""
    body = mutated(_set(["as_of"], "yesterday"))
    errors = sqlite_api.post_decision(body).json()["errors"]
    assert errors == [
        {
            "path": "as_of",
            "reason_zh": "日期格式应为 YYYY-MM-DD",
            "reason_en": "date must be written YYYY-MM-DD",
            "type": "date_format",
        }
    ]


HTTP_AND_CLI: list[tuple[str, bytes]] = [
    ("broken JSON", b'{\n  "jurisdiction": "wuhan",\n  "as_of": 2022-08-01\n}'),
    (
        "several problems",
        json.dumps(
            mutated(
                lambda body: (
                    _set(["household", "members", 0, "employed"], "yes")(body),
                    _set(["household", "members", 1, "disability"], {"category": "x", "grade": 9})(
                        body
                    ),
                    _set(["household", "members", 2, "birth_date"], "2010-06-01T00:00:00")(body),
                )
            )
        ).encode(),
    ),
    ("unknown jurisdiction", json.dumps(mutated(_set(["jurisdiction"], "wuhna"))).encode()),
]


@pytest.mark.parametrize(("case", "content"), HTTP_AND_CLI, ids=[c[0] for c in HTTP_AND_CLI])
def test_http_gives_exactly_the_problems_the_command_line_gives(
    api_factory: Callable[..., Api],
    sqlite_url: str,
    fast_path: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    content: bytes,
) -> None:
    """One contract, one wording: the 422 body over HTTP is the command line's error list,
    in our own Chinese and English (no pydantic wording)."""
    request_file = tmp_path / "request.json"
    request_file.write_bytes(content)
    assert cli_main(["evaluate", str(request_file)]) == 1
    printed = json.loads(capsys.readouterr().out)["errors"]
    api = api_factory(sqlite_url, fast_path=fast_path)
    response = api.client.post("/v1/evaluate", content=content, headers=api.headers("intake"))
    assert response.status_code == 422, (case, response.text)
    assert response.json()["errors"] == printed
    for problem in printed:
        assert re.search(r"[\u4e00-\u9fff]", problem["reason_zh"]), problem
        assert not re.match(r"(Input should|Invalid JSON|List should)", problem["reason_en"])
    assert api.count() == 0


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("from=last-week", "query.from"),
        ("to=2024-02-30", "query.to"),
        ("status=approved", "query.status"),
        ("program=pension", "query.program"),
        ("limit=0", "query.limit"),
        ("limit=100000", "query.limit"),
    ],
)
def test_bad_query_parameters_are_422(sqlite_api: Api, query: str, path: str) -> None:
    response = sqlite_api.client.get(
        f"/v1/decisions?{query}", headers=sqlite_api.headers("auditor")
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["path"] == path and error["reason_zh"] and error["reason_en"]
    # our own words in both languages, as for the request body
    assert re.search(r"[\u4e00-\u9fff]", error["reason_zh"]), error
    assert not re.match(r"(Input should|Value error|Field required)", error["reason_en"]), error


def test_a_query_limit_out_of_range_gives_the_limit(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/v1/decisions?limit=0", headers=sqlite_api.headers("auditor"))
    (error,) = response.json()["errors"]
    assert (error["reason_zh"], error["reason_en"]) == ("不能小于 1", "must be at least 1")


def test_bad_verify_range_and_ruleset_dates(sqlite_api: Api) -> None:
    auditor = sqlite_api.headers("auditor")
    assert sqlite_api.client.get("/v1/audit/verify?from=0", headers=auditor).status_code == 422
    assert sqlite_api.client.get("/v1/audit/verify?to=x", headers=auditor).status_code == 422
    missing = sqlite_api.client.get("/v1/rulesets/wuhan/diff?from=2022-01-01", headers=auditor)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["path"] == "query.to"


def test_body_over_the_limit_is_413_and_records_nothing(
    api_factory: Callable[..., Api], sqlite_url: str, fast_path: bool
) -> None:
    api = api_factory(sqlite_url, fast_path=fast_path, max_body_bytes=2048)
    small = json.dumps(BASE).encode()
    assert len(small) < 2048
    assert api.post_decision(small).status_code == 201
    big = mutated(_set(["household", "members", 0, "name"], "王" * 10))
    big["household"]["deductions"] = [
        {"member": "m1", "type": "employment_cost", "monthly": "1.00"}
    ] * 60
    content = json.dumps(big).encode()
    assert len(content) > 2048

    response = api.client.post("/v1/decisions", content=content, headers=api.headers("intake"))
    assert response.status_code == 413
    assert response.json()["errors"][0]["type"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for start in range(0, len(content), 512):
            yield content[start : start + 512]

    response = api.client.post("/v1/decisions", content=chunks(), headers=api.headers("intake"))
    assert response.status_code == 413
    assert api.count() == 1


def test_unknown_routes_and_methods(sqlite_api: Api) -> None:
    missing = sqlite_api.client.get("/v2/anything", headers=sqlite_api.headers("auditor"))
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["type"] == "not_found"
    wrong = sqlite_api.client.put("/v1/decisions", headers=sqlite_api.headers("intake"))
    assert wrong.status_code == 405
    assert wrong.json()["errors"][0]["type"] == "method_not_allowed"


UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/nothing_here"


def test_unreachable_database_is_503_with_retry_after(
    api_factory: Callable[..., Api], fast_path: bool
) -> None:
    api = api_factory(UNREACHABLE, keys=False, fast_path=fast_path, retry_after_seconds=7)
    key = {"Authorization": "Bearer elig_0123456789abcdef_whatever"}
    for method, url in (
        ("POST", "/v1/decisions"),
        ("POST", "/v1/evaluate"),
        ("GET", "/v1/decisions"),
        ("GET", "/v1/audit/verify"),
        ("GET", "/v1/rulesets"),
    ):
        response = api.client.request(method, url, content=json.dumps(BASE), headers=key)
        assert response.status_code == 503, (method, url, response.text)
        assert response.headers["retry-after"] == "7"
        assert response.json()["errors"][0]["type"] == "database_unavailable"
    ready = api.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unreachable"
    assert api.client.get("/healthz").status_code == 200
    # Without a key it is still a 401: nothing is served, the database is not even asked.
    assert api.client.get("/v1/decisions").status_code == 401


def test_database_failing_mid_transaction_leaves_no_partial_record(
    api_factory: Callable[..., Api], db_url: str, fast_path: bool
) -> None:
    """The decision row is written, then the program rows fail: all of it is rolled back."""
    api = api_factory(db_url, fast_path=fast_path)
    assert api.post_decision(BASE).status_code == 201
    with api.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE decision_programs RENAME TO decision_programs_away"))
    response = api.post_decision(BASE)
    assert response.status_code == 503
    assert response.headers["retry-after"]
    with api.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE decision_programs_away RENAME TO decision_programs"))
        rows = conn.execute(text("SELECT count(*) FROM decisions")).scalar_one()
    assert rows == 1
    assert api.store.head().seq == 1
    assert api.store.verify().ok
    assert api.post_decision(BASE).status_code == 201
    assert api.store.verify().checked == 2


def test_a_writer_that_loses_the_database_answers_503_and_records_nothing(
    api_factory: Callable[..., Api], db_url: str
) -> None:
    # The key is known (cached); then the database fails the writer only: the request gets
    # the contract's 503, not a 500, and nothing half-written remains.
    api = api_factory(db_url, retry_after_seconds=3)
    assert api.post_decision(BASE).status_code == 201
    postgres = api.store.engine.dialect.name == "postgresql"
    if postgres:  # the asynchronous writer's own connection goes to a port nobody serves
        appender = api.app.state.runtime.writer._appender  # noqa: SLF001 -- fault injection
        api.client.portal.call(appender.aclose)
        appender._conninfo = "host=127.0.0.1 port=1 dbname=x connect_timeout=2"  # noqa: SLF001
    else:
        with api.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE chain_head RENAME TO chain_head_away"))
    response = api.post_decision(BASE)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "3"
    assert response.json()["errors"][0]["type"] == "database_unavailable"
    if not postgres:
        with api.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE chain_head_away RENAME TO chain_head"))
    report = api.store.verify()
    assert report.ok and report.checked == 1


def test_a_misspelt_what_if_parameter_names_the_nearest_in_both_languages(
    sqlite_api: Api,
) -> None:
    request = mutated(_set(["as_of"], "2024-01-01"))
    response = sqlite_api.client.post(
        "/v1/caseload/whatif?jurisdiction=wuhan&as_of=2024-01-01&set=dibao.standrad.urban=1200",
        content=json.dumps(request).encode() + b"\n",
        headers=sqlite_api.headers("admin"),
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["type"] == "override_invalid"
    assert error["reason_zh"].startswith("参数覆盖无效：规则包中没有此参数；您是否要找：")
    assert "dibao.standard.urban" in error["reason_zh"]
    assert error["reason_en"].startswith(
        "the override is not valid: no such parameter in the bundle; did you mean: "
    )
    assert "dibao.standard.urban" in error["reason_en"]


def test_an_invalid_rule_set_on_reload_is_explained_in_chinese_too(
    api_factory: Callable[..., Api], tmp_path: Path, sqlite_url: str
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    api = api_factory(sqlite_url, rules_dir=rules)
    target = rules / "zhumadian" / "2022-01-01.yaml"
    good = target.read_text(encoding="utf-8")
    target.write_text(good.replace("      urban: {value:", "      urbn: {value:"), encoding="utf-8")
    response = api.client.post("/v1/admin/rulesets/reload", headers=api.headers("admin"))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors
    for error in errors:
        assert re.search(r"[\u4e00-\u9fff]", error["reason_zh"].removeprefix("规则文件无效："))
        assert not re.search(r"(Extra inputs|Input should)", error["reason_en"]), error
