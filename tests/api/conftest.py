"""Fixtures for the HTTP service tests: the real app on a real database, one key per role.

``api`` runs on SQLite and on PostgreSQL (the store's ``db_url`` fixture, imported from
tests/store/conftest.py: PostgreSQL tests skip locally without a server and fail under CI);
``sqlite_api`` is for the tests whose subject is not the database (roles, errors, rules).
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import Settings
from service.app import create_app
from service.engine import RuleBase
from service.store import DecisionStore, upgrade
from tests.store import conftest as store_fixtures

# The store's database fixtures (SQLite + PostgreSQL), shared rather than copied.
backend = store_fixtures.backend
empty_db_url = store_fixtures.empty_db_url
db_url = store_fixtures.db_url
pg_session_db_url = store_fixtures.pg_session_db_url

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "tests" / "examples").glob("*.json"))
ROLES = ("intake", "integrator", "auditor", "admin")
TEST_SECRET = "test-secret-for-pseudonyms-0123456789abcdef"


@dataclass
class Api:
    """A running app: its client, one key per role, the store and the captured logs."""

    app: FastAPI
    client: TestClient
    settings: Settings
    keys: dict[str, str]
    key_ids: dict[str, str]
    logs: io.StringIO
    extra_keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def store(self) -> DecisionStore:
        return self.app.state.runtime.store  # type: ignore[no-any-return]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def post_decision(self, body: bytes | dict[str, Any], role: str = "intake") -> httpx.Response:
        if isinstance(body, dict):
            return self.client.post("/v1/decisions", json=body, headers=self.headers(role))
        return self.client.post(
            "/v1/decisions",
            content=body,
            headers={**self.headers(role), "Content-Type": "application/json"},
        )

    def new_key(self, role: str, name: str) -> str:
        key_id, secret = self.store.create_key(role, name)
        self.extra_keys[name] = (key_id, secret)
        return secret

    def count(self) -> int:
        return self.store.head().seq


def make_settings(data_dir: Path, url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "db_url": url,
        "rules_dir": ROOT / "rules",
        "secret": TEST_SECRET,
        "key_cache_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; tests get copies (the migrations have their own tests)."""
    path = tmp_path_factory.mktemp("template") / "decisions.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    path = tmp_path / "decisions.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def api_factory(tmp_path: Path, rule_base: RuleBase) -> Iterator[Callable[..., Api]]:
    """``api_factory(db_url, **settings)`` starts an app (lifespan included) with role keys."""
    stack: list[TestClient] = []

    def build(url: str | None = None, *, keys: bool = True, **overrides: Any) -> Api:
        data_dir = overrides.pop("data_dir", tmp_path / "data")
        settings = make_settings(data_dir, url, **overrides)
        logs = io.StringIO()
        shared = rule_base if settings.rules_dir == ROOT / "rules" else None
        app = create_app(settings, log_stream=logs, rule_base=shared)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        stack.append(client)
        api = Api(app, client, settings, {}, {}, logs)
        if keys:
            for role in ROLES:
                key_id, secret = api.store.create_key(role, f"test-{role}")
                api.keys[role] = secret
                api.key_ids[role] = key_id
        return api

    yield build
    for client in reversed(stack):
        client.__exit__(None, None, None)


@pytest.fixture(params=["fast", "fastapi"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    """The hot endpoints answered by the ASGI fast path, or by the FastAPI routes."""
    return request.param == "fast"


@pytest.fixture
def api(api_factory: Callable[..., Api], db_url: str) -> Api:  # noqa: F811
    """The app on a fresh database, SQLite and PostgreSQL."""
    return api_factory(db_url)


@pytest.fixture
def sqlite_api(api_factory: Callable[..., Api], sqlite_url: str) -> Api:
    return api_factory(sqlite_url)


def example_bytes(path: Path) -> bytes:
    return path.read_bytes()


# --- a real HTTP server in a thread, for the tests that need sockets ---------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    def __init__(self, app: FastAPI):
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)
