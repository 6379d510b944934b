"""No 5xx on input: each request below once answered 500 (or 503 "database unavailable" although
the database was fine); now each is a precise refusal naming what is wrong, in both languages,
and nothing is recorded. On SQLite and PostgreSQL where the store is involved."""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.api.middleware import ServiceMiddleware
from service.cli import main as cli_main
from tests.api.conftest import Api
from tests.helpers import load_example

BASE = load_example("wuhan-dibao-household-eligible.json")


def _is_bilingual_refusal(response: Any, status: int, path: str, type_: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    [problem] = response.json()["errors"]
    assert problem["path"] == path and problem["type"] == type_, problem
    assert problem["reason_en"].isascii() and not problem["reason_zh"].isascii(), problem
    return problem


def with_as_of(as_of: str) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["as_of"] = as_of
    return body


@pytest.mark.parametrize("as_of", ["9999-01-01", "9999-12-31"])
def test_a_decision_date_too_late_for_the_calendar_is_a_422_naming_as_of(
    api: Api, as_of: str
) -> None:
    for url in ("/v1/decisions", "/v1/evaluate"):
        response = api.client.post(url, json=with_as_of(as_of), headers=api.headers("intake"))
        problem = _is_bilingual_refusal(response, 422, "as_of", "date_out_of_range")
        assert "9999-12-31" in problem["reason_en"]
    assert api.count() == 0
    # The last date that still leaves room for every date the rules count forward is decided.
    assert api.post_decision(with_as_of("9990-01-01")).status_code == 201


def test_a_gradual_exit_started_too_late_names_exit_started(sqlite_api: Api) -> None:
    body = load_example("chongqing-gradual-exit-eligible.json")
    body["household"]["current_benefit"]["exit_started"] = "9999-12-01"
    response = sqlite_api.post_decision(body)
    _is_bilingual_refusal(
        response, 422, "household.current_benefit.exit_started", "date_out_of_range"
    )
    assert sqlite_api.count() == 0


def test_the_command_line_says_why_instead_of_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "late.json"
    request.write_text(json.dumps(with_as_of("9999-01-01")), encoding="utf-8")
    assert cli_main(["evaluate", "--explain", str(request)]) == 1
    out = capsys.readouterr().out
    assert "as_of：日期过晚" in out and "as_of: date too late" in out
    assert "Traceback" not in out
    assert cli_main(["evaluate", str(request)]) == 1
    [problem] = json.loads(capsys.readouterr().out)["errors"]
    assert problem["path"] == "as_of" and problem["type"] == "date_out_of_range"
    # --jsonl: the refused line is reported on its line and the run goes on.
    lines = tmp_path / "many.jsonl"
    lines.write_text(
        json.dumps(with_as_of("9999-01-01")) + "\n" + json.dumps(BASE) + "\n", encoding="utf-8"
    )
    assert cli_main(["evaluate", "--jsonl", str(lines)]) == 1
    first, second = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["line"] == 1 and first["errors"][0]["path"] == "as_of"
    assert second["programs"]["dibao"]["status"] == "eligible"


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "YzE6ZDo5MjIzMzcyMDM2ODU0Nzc1ODA4",  # c1:d:9223372036854775808 (2^63)
        _cursor("c1:d:" + "9" * 30),
        _cursor("c1:d:+5"),
        _cursor("c1:d:1_0"),
        _cursor("c1:d:-1"),
    ],
)
def test_a_cursor_out_of_range_is_a_422_naming_cursor(api: Api, cursor: str) -> None:
    assert api.post_decision(BASE).status_code == 201
    response = api.client.get(
        "/v1/decisions", params={"cursor": cursor}, headers=api.headers("auditor")
    )
    _is_bilingual_refusal(response, 422, "query.cursor", "invalid_cursor")


def test_the_largest_position_is_still_a_cursor(api: Api) -> None:
    assert api.post_decision(BASE).status_code == 201
    response = api.client.get(
        "/v1/decisions",
        params={"cursor": _cursor(f"c1:d:{2**63 - 1}")},
        headers=api.headers("auditor"),
    )
    assert response.status_code == 200 and len(response.json()["items"]) == 1


@pytest.mark.parametrize("name", ["a\u0000b", "line\nbreak", "tab\there", "bell\u0007", "\u2028"])
def test_a_key_name_with_control_characters_is_a_422_naming_name(api: Api, name: str) -> None:
    before = len(api.store.list_keys())
    response = api.client.post(
        "/v1/admin/keys", json={"role": "intake", "name": name}, headers=api.headers("admin")
    )
    _is_bilingual_refusal(response, 422, "body.name", "control_characters")
    assert len(api.store.list_keys()) == before
    # A name in Chinese with spaces is a name.
    fine = api.client.post(
        "/v1/admin/keys", json={"role": "intake", "name": "窗口 1"}, headers=api.headers("admin")
    )
    assert fine.status_code == 201


def test_filters_and_ids_with_a_nul_never_reach_the_database(api: Api) -> None:
    listing = api.client.get(
        "/v1/decisions", params={"jurisdiction": "wu\u0000han"}, headers=api.headers("auditor")
    )
    _is_bilingual_refusal(listing, 422, "query.jurisdiction", "control_characters")
    revoke = api.client.delete("/v1/admin/keys/ab%00cd", headers=api.headers("admin"))
    assert revoke.status_code == 404, revoke.text


def test_a_body_too_deeply_nested_to_parse_is_a_400_in_both_languages(sqlite_api: Api) -> None:
    response = sqlite_api.client.post(
        "/v1/admin/keys",
        content=b"[" * 5000,
        headers={**sqlite_api.headers("admin"), "Content-Type": "application/json"},
    )
    problem = _is_bilingual_refusal(response, 400, "", "http_error")
    assert problem["reason_zh"] == "无法解析请求体"


async def _disconnecting_client(app: Any, path: str, headers: dict[str, str]) -> list[Any]:
    """Sends the start of a body, then disconnects: what the service sends back."""
    messages = iter(
        [
            {"type": "http.request", "body": b'{"role": "in', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("path", ["/v1/admin/keys", "/v1/decisions"])
def test_a_client_that_disconnects_is_logged_as_such_not_as_an_error(
    sqlite_api: Api, path: str
) -> None:
    app = sqlite_api.app.middleware_stack
    assert app is not None
    # The service's own middleware (under Starlette's outermost error handler) is what answers.
    while not isinstance(app, ServiceMiddleware):
        app = app.app
    role = "admin" if "admin" in path else "intake"
    sqlite_api.logs.seek(0)
    sqlite_api.logs.truncate()
    sent = sqlite_api.client.portal.call(_disconnecting_client, app, path, sqlite_api.headers(role))
    assert not [m for m in sent if m["type"] == "http.response.start" and m["status"] >= 500]
    lines = [json.loads(line) for line in sqlite_api.logs.getvalue().splitlines()]
    disconnects = [x for x in lines if x["msg"].startswith("client disconnected")]
    assert len(disconnects) == 1 and disconnects[0]["level"] == "info"
    assert "traceback" not in disconnects[0]
    assert not [x for x in lines if x["level"] == "error"]
    assert [x["status"] for x in lines if x["msg"] == "request"] == [499]
    assert sqlite_api.count() == 0


# --- stored rows damaged outside the service ------------------------------------------------

DAMAGES = {
    "summary not JSON": ("programs_summary", "'{'"),
    "response not an object": ("response_json", "'[]'"),
    "request not JSON": ("request_json", "'{\"request\": '"),
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_damaged_record_is_a_409_naming_it_and_the_list_counts_it(api: Api, damage: str) -> None:
    ids = [api.post_decision(BASE).json()["decision_id"] for _ in range(3)]
    column, value = DAMAGES[damage]
    with api.store.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE decisions SET {column} = {value} WHERE id = :id"), {"id": ids[1]}
        )
    auditor = api.headers("auditor")
    for response in (
        api.client.get(f"/v1/decisions/{ids[1]}", headers=auditor),
        api.client.post(f"/v1/decisions/{ids[1]}/replay", headers=auditor),
    ):
        problem = _is_bilingual_refusal(response, 409, "decision_id", "record_damaged")
        assert ids[1] in problem["reason_zh"] and ids[1] in problem["reason_en"]
        assert "seq 2" in problem["reason_en"] and "第 2 条" in problem["reason_zh"]
    listing = api.client.get("/v1/decisions", headers=auditor)
    assert listing.status_code == 200
    page = listing.json()
    if column == "programs_summary":  # what a listing reads: the damaged row is left out
        assert [i["decision_id"] for i in page["items"]] == [ids[2], ids[0]]
        assert page["skipped_damaged"] == 1
    else:  # a listing does not read the documents
        assert len(page["items"]) == 3 and page["skipped_damaged"] == 0
    # The undamaged records read as before.
    assert api.client.get(f"/v1/decisions/{ids[0]}", headers=auditor).status_code == 200
    verify = api.client.get("/v1/audit/verify", headers=auditor).json()
    assert verify["ok"] is False and verify["first_broken"]["decision_id"] == ids[1]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_a_garbage_timestamp_is_named_by_get_list_and_verify(api: Api) -> None:
    ids = [api.post_decision(BASE).json()["decision_id"] for _ in range(3)]
    with api.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE decisions SET created_at = 'garbage' WHERE id = :id"), {"id": ids[1]}
        )
    auditor = api.headers("auditor")
    get = api.client.get(f"/v1/decisions/{ids[1]}", headers=auditor)
    _is_bilingual_refusal(get, 409, "decision_id", "record_damaged")
    replay = api.client.post(f"/v1/decisions/{ids[1]}/replay", headers=auditor)
    _is_bilingual_refusal(replay, 409, "decision_id", "record_damaged")
    page = api.client.get("/v1/decisions", headers=auditor).json()
    assert [i["decision_id"] for i in page["items"]] == [ids[2], ids[0]]
    assert page["skipped_damaged"] == 1
    # The intake key that recorded them sees its own list the same way.
    own = api.client.get("/v1/decisions", headers=api.headers("intake")).json()
    assert own["skipped_damaged"] == 1 and len(own["items"]) == 2
    verify = api.client.get("/v1/audit/verify", headers=auditor)
    assert verify.status_code == 200, verify.text
    report = verify.json()
    assert report["ok"] is False
    broken = report["first_broken"]
    assert (broken["seq"], broken["decision_id"]) == (2, ids[1])
    logged = [json.loads(line) for line in api.logs.getvalue().splitlines()]
    assert {x.get("decision_id") for x in logged if x["msg"] == "damaged record skipped"} == {
        ids[1]
    }


@pytest.mark.parametrize(
    ("path", "methods"),
    [("/v1/decisions", {"GET", "POST"}), ("/v1/admin/keys", {"GET", "POST"})],
)
def test_a_wrong_method_names_every_method_the_path_answers(
    sqlite_api: Api, path: str, methods: set[str]
) -> None:
    # (found by schemathesis: Starlette named the methods of the path's first route only)
    response = sqlite_api.client.request("PATCH", path, headers=sqlite_api.headers("admin"))
    assert response.status_code == 405
    assert methods <= {m.strip() for m in response.headers["allow"].split(",")}


def test_what_is_refused_before_the_handler_is_documented(sqlite_api: Api) -> None:
    doc = sqlite_api.client.get("/openapi.json").json()
    create = doc["paths"]["/v1/admin/keys"]["post"]
    assert "400" in create["responses"]
    name = doc["components"]["schemas"]["KeyCreate"]["properties"]["name"]
    assert re.fullmatch(name["pattern"], "窗口 1") and not re.fullmatch(name["pattern"], "a\u0085")
    record = doc["paths"]["/v1/decisions"]["post"]
    assert "409" in record["responses"]
    assert [p["name"] for p in record["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
