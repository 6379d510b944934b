"""Programmatic Alembic set-up: no ``alembic.ini`` is needed anywhere."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from service.store.database import (
    PG_CONNECT_TIMEOUT_S,
    WRITE_OPTION,
    is_sqlite,
    make_engine,
    normalise_url,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Arbitrary constant: the PostgreSQL advisory lock that serialises concurrent upgrade() calls
# (e.g. several service workers starting at once against an empty database).
_MIGRATION_LOCK_KEY = 0x656C6967_6D696772  # "eligmigr"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic ``Config`` whose ``script_location`` is this package's migrations folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        rendered = normalise_url(url).render_as_string(hide_password=False)
        # Config values go through ConfigParser interpolation: escape '%'.
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def _command_engine(url: str | URL) -> Engine:
    """An engine for one command: a server that does not answer is reported, not waited for."""
    if is_sqlite(url):
        return make_engine(url)
    return make_engine(url, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (idempotent; safe to call concurrently).

    Runs in one transaction that first takes a lock (``BEGIN IMMEDIATE`` on SQLite, an
    advisory transaction lock on PostgreSQL), so racing callers upgrade one after another.
    """
    engine = _command_engine(url)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                    )
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    engine = _command_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
