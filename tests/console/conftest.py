"""Fixtures of the console tests: the real app on a real database, and a browser-like client per
role that signs in through the sign-in page (cookies kept, forms posted with their tokens).

``console`` runs on SQLite and on PostgreSQL; ``sqlite_console`` on SQLite only, for the tests
whose subject is not the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api import conftest as api_fixtures
from tests.api.conftest import Api

backend = api_fixtures.backend
empty_db_url = api_fixtures.empty_db_url
db_url = api_fixtures.db_url
pg_session_db_url = api_fixtures.pg_session_db_url
migrated_sqlite = api_fixtures.migrated_sqlite
sqlite_url = api_fixtures.sqlite_url
api_factory = api_fixtures.api_factory

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """One person's browser: its own cookies, signed in with one key."""

    client: TestClient
    key: str

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post_form(
        self, path: str, fields: list[tuple[str, str]] | dict[str, str], *, token_from: str
    ) -> httpx.Response:
        """Posts ``fields`` with the CSRF token of the page at ``token_from``, as a browser
        submitting that page's form would."""
        token = csrf_of(self.get(token_from).text)
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        return self.post_raw(path, [("csrf_token", token), *pairs])

    def post_raw(self, path: str, pairs: list[tuple[str, str]]) -> httpx.Response:
        """Posts exactly ``pairs`` (repeated names kept, in order), urlencoded as a form."""
        return self.client.post(
            path,
            content=urlencode(pairs),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


def sign_in(app: Any, key: str) -> Browser:
    """A new browser signed in with ``key`` through the sign-in form."""
    client = TestClient(app, raise_server_exceptions=True, follow_redirects=False)
    form = client.get("/console/login")
    assert form.status_code == 200
    answer = client.post(
        "/console/login", data={"csrf_token": csrf_of(form.text), "api_key": key, "next": ""}
    )
    assert answer.status_code == 303, answer.text
    return Browser(client, key)


@dataclass
class Console:
    api: Api

    def browser(self, role: str) -> Browser:
        return sign_in(self.api.app, self.api.keys[role])

    def anonymous(self) -> TestClient:
        return TestClient(self.api.app, raise_server_exceptions=True, follow_redirects=False)


@pytest.fixture
def console(api_factory: Callable[..., Api], db_url: str) -> Console:  # noqa: F811
    return Console(api_factory(db_url))


@pytest.fixture
def sqlite_console(api_factory: Callable[..., Api], sqlite_url: str) -> Console:  # noqa: F811
    return Console(api_factory(sqlite_url))
