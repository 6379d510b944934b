"""Database fixtures for the store tests, reusable by other test packages (e.g. HTTP tests).

Every test using ``db_url``/``empty_db_url``/``store`` runs twice: on a fresh SQLite file in
``tmp_path`` and on PostgreSQL, in a database created for the test session under a unique
name (dropped at the end) whose ``public`` schema is dropped and recreated before each
test. The server comes from ``ELIGIBILITY_TEST_PG_URL``; the database name in it is used
as a prefix, so the named database itself need not exist. If the server is unreachable the PostgreSQL variants are skipped -- except
when ``CI`` is set, where they fail: CI must exercise both backends.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from service.store import DecisionStore, StoredDecision, canonical_json, sha256_hex, upgrade
from service.store.database import normalise_url
from service.store.transparency import LogKey
from service.tlog.note import Signer

PG_URL_ENV = "ELIGIBILITY_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/eligibility_test"
BACKENDS = ("sqlite", "postgres")


def pg_base_url() -> URL:
    return normalise_url(os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL)


def _admin_url(base: URL) -> URL:
    # CREATE/DROP DATABASE must run from another database: use the maintenance one.
    return base.set(database="postgres")


@functools.cache
def _pg_unreachable_reason(url: str) -> str | None:
    """``None`` if the server answers, else why not (cached: checked once per session)."""
    engine = create_engine(
        _admin_url(normalise_url(url)), poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "unreachable" here
        return (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
    finally:
        engine.dispose()
    return None


def require_postgres(url: URL | None = None) -> URL:
    """Return the PostgreSQL base URL, or skip the test (fail it under ``CI``) if unreachable."""
    base = url if url is not None else pg_base_url()
    reason = _pg_unreachable_reason(base.render_as_string(hide_password=False))
    if reason is not None:
        message = (
            f"PostgreSQL not reachable at {base.render_as_string(hide_password=True)}: {reason}"
        )
        if os.environ.get("CI"):
            pytest.fail(
                message + f" (CI is set, so this fails instead of skipping; set {PG_URL_ENV})"
            )
        pytest.skip(message)
    return base


@contextmanager
def fresh_pg_database(base: URL) -> Iterator[str]:
    """Create an empty database with a unique name on ``base``'s server; drop it afterwards."""
    name = f"{base.database or 'eligibility_test'}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_admin_url(base), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # FORCE: a leaked pooled connection must not keep the database alive.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def reset_pg_schema(url: str) -> None:
    """Empty the database at ``url``: drop and recreate its ``public`` schema.

    Much cheaper than a new database per test (CREATE DATABASE costs ~0.4 s here) and just
    as clean: tables, Alembic's version table, triggers and functions all go.
    """
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # Connections leaked by the previous test (or its child processes) would hold
            # locks that block the DROP.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_session_db_url() -> Iterator[str]:
    """A PostgreSQL database private to this test session (dropped at the end)."""
    with fresh_pg_database(require_postgres()) as url:
        yield url


@pytest.fixture
def postgres_gate() -> Callable[[URL | None], URL]:
    """The reachability gate used by the fixtures (skip, or fail under CI), for testing it."""
    return require_postgres


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: ``"sqlite"`` or ``"postgres"``."""
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a brand-new, empty (unmigrated) database on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'decisions.db'}"
        return
    url = request.getfixturevalue("pg_session_db_url")  # only PostgreSQL runs need it
    reset_pg_schema(url)
    yield url


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """URL of a fresh database migrated to head, parametrised over SQLite and PostgreSQL."""
    upgrade(empty_db_url)
    return empty_db_url


LOG_ORIGIN = "test.example/eligibility/decisions"


@pytest.fixture(scope="session")
def log_signer() -> Signer:
    """The log's Ed25519 signing key of the test session."""
    return Signer.generate(LOG_ORIGIN)


@pytest.fixture(scope="session")
def log_key(log_signer: Signer) -> LogKey:
    """The session's key as the store uses it (as the service loads it from its key file)."""
    return LogKey(log_signer)


@pytest.fixture
def store(db_url: str, log_key: LogKey) -> Iterator[DecisionStore]:
    """A :class:`DecisionStore` on a fresh migrated database, signing checkpoints with the
    session's log key as the service does (closed after the test)."""
    with DecisionStore(db_url, signer=log_key) as decision_store:
        yield decision_store


# --- sample data ------------------------------------------------------------------------------

SAMPLE_BUNDLE = canonical_json(
    {"jurisdiction": "cn-bj", "version": "2024.1", "rules": [{"id": "dibao.income", "max": 1320}]}
)
SAMPLE_BUNDLE_SHA = sha256_hex(SAMPLE_BUNDLE)


def sample_record_kwargs(i: int = 0, **overrides: Any) -> dict[str, Any]:
    """Valid arguments for :meth:`DecisionStore.record`; ``i`` varies the documents."""
    kwargs: dict[str, Any] = {
        "jurisdiction": "cn-bj",
        "as_of": date(2024, 1, 1),
        "bundle_sha256": SAMPLE_BUNDLE_SHA,
        "bundle_version": "2024.1",
        "bundle_canonical_json": SAMPLE_BUNDLE,
        "engine_version": "0.1.0",
        "request_json": canonical_json({"household": f"h{i:06d}", "members": 3}),
        "response_json": canonical_json({"dibao": {"status": "eligible", "note": "低保"}}),
        "actor": "key-intake",
        "programs_summary": {"dibao": "eligible", "tekun": "ineligible"},
    }
    kwargs.update(overrides)
    return kwargs


@pytest.fixture
def record_kwargs() -> Callable[..., dict[str, Any]]:
    """``record_kwargs(i, **overrides)``: valid keyword arguments for ``record()``."""
    return sample_record_kwargs


@pytest.fixture
def sample_bundle() -> tuple[str, str]:
    """``(sha256, canonical_json)`` of the bundle used by the sample records."""
    return SAMPLE_BUNDLE_SHA, SAMPLE_BUNDLE


@pytest.fixture
def record_sample(store: DecisionStore) -> Callable[..., StoredDecision]:
    """``record_sample(i, **overrides)`` records a valid sample decision in ``store``."""

    def _record(i: int = 0, **overrides: Any) -> StoredDecision:
        return store.record(**sample_record_kwargs(i, **overrides))

    return _record
