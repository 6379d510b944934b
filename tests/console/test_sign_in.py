"""Signing in with an API key, the session cookie, signing out, expiry and revocation."""

from __future__ import annotations

from tests.console.conftest import Console, csrf_of


def test_signed_out_pages_lead_to_the_sign_in_page(sqlite_console: Console) -> None:
    client = sqlite_console.anonymous()
    answer = client.get("/console/rules")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Frules"


def test_sign_in_sets_a_strict_http_only_session_cookie(sqlite_console: Console) -> None:
    client = sqlite_console.anonymous()
    form = client.get("/console/login")
    key = sqlite_console.api.keys["intake"]
    answer = client.post(
        "/console/login",
        data={"csrf_token": csrf_of(form.text), "api_key": key, "next": "/console/rules"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/rules"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("elig_console="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # plain http here; https gets Secure (other test)
    assert key not in cookie
    page = client.get("/console/rules")
    assert page.status_code == 200
    assert "test-intake" in page.text
    assert key not in page.text


def test_a_wrong_key_is_refused_and_no_session_is_made(sqlite_console: Console) -> None:
    client = sqlite_console.anonymous()
    form = client.get("/console/login")
    answer = client.post(
        "/console/login", data={"csrf_token": csrf_of(form.text), "api_key": "elig_nope"}
    )
    assert answer.status_code == 401
    assert 'id="login-error"' in answer.text
    assert "elig_console=" not in answer.headers.get("set-cookie", "")
    assert client.get("/console/rules").status_code == 303


def test_the_sign_in_form_without_its_token_is_refused(sqlite_console: Console) -> None:
    client = sqlite_console.anonymous()
    client.get("/console/login")
    key = sqlite_console.api.keys["auditor"]
    answer = client.post("/console/login", data={"api_key": key})
    assert answer.status_code == 403
    assert 'id="error-title"' in answer.text
    assert client.get("/console/rules").status_code == 303  # not signed in


def test_sign_out_ends_the_session_on_the_server(console: Console) -> None:
    browser = console.browser("auditor")
    token = browser.client.cookies.get("elig_console")
    assert token
    answer = browser.post_form("/console/logout", {}, token_from="/console/rules")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?out=1"
    # the old cookie, replayed, opens nothing: the session is gone from the table
    replay = console.anonymous()
    replay.cookies.set("elig_console", token, path="/console")
    refused = replay.get("/console/rules")
    assert refused.status_code == 303
    assert "ended=1" in refused.headers["location"]


def test_sign_out_without_the_token_is_refused(sqlite_console: Console) -> None:
    browser = sqlite_console.browser("intake")
    answer = browser.client.post("/console/logout", data={})
    assert answer.status_code == 403
    assert browser.get("/console/rules").status_code == 200  # still signed in


def test_revoking_the_key_ends_its_sessions(console: Console) -> None:
    browser = console.browser("intake")
    assert browser.get("/console/rules").status_code == 200
    console.api.store.revoke(console.api.key_ids["intake"])
    answer = browser.get("/console/rules")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login")


def test_an_idle_session_expires(api_factory, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from service.store.models import ConsoleSessionRow
    from tests.console.conftest import Console

    console = Console(api_factory(sqlite_url, console_session_idle_seconds=600))
    browser = console.browser("auditor")
    assert browser.get("/console/rules").status_code == 200
    with console.api.store.engine.begin() as conn:
        conn.execute(
            update(ConsoleSessionRow).values(
                last_seen_at=datetime.now(UTC) - timedelta(seconds=601)
            )
        )
    answer = browser.get("/console/rules")
    assert answer.status_code == 303
    assert "ended=1" in answer.headers["location"]


def test_only_hashes_of_session_tokens_are_stored(console: Console) -> None:
    from sqlalchemy import select

    from service.store.hashing import sha256_hex
    from service.store.models import ConsoleSessionRow

    browser = console.browser("intake")
    token = browser.client.cookies.get("elig_console")
    with console.api.store.engine.connect() as conn:
        rows = conn.execute(select(ConsoleSessionRow)).all()
    assert [(r.token_hash, r.key_id) for r in rows] == [
        (sha256_hex(token), console.api.key_ids["intake"])
    ]
    stored = " ".join(str(value) for row in rows for value in row)
    assert token not in stored and browser.key not in stored


def test_sign_in_returns_only_to_a_console_page(sqlite_console: Console) -> None:
    for target, expected in (
        ("/console/decisions?from=2022-01-01", "/console/decisions?from=2022-01-01"),
        ("https://elsewhere.example/", "/console/"),
        ("//elsewhere.example/console/", "/console/"),
        ("/console//elsewhere.example", "/console/"),
        ("/v1/decisions", "/console/"),
    ):
        client = sqlite_console.anonymous()
        form = client.get("/console/login")
        answer = client.post(
            "/console/login",
            data={
                "csrf_token": csrf_of(form.text),
                "api_key": sqlite_console.api.keys["auditor"],
                "next": target,
            },
        )
        assert answer.headers["location"] == expected, target
