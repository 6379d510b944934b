"""Engine construction for the supported backends (SQLite file, PostgreSQL via psycopg 3)."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the database write lock before giving up."""

WRITE_OPTION = "eligibility_store_write"
"""Execution option marking a connection whose transaction will write (see :func:`make_engine`)."""


def normalise_url(url: str | URL) -> URL:
    """Parse ``url``; a bare ``postgresql://`` URL is routed to psycopg 3 (the installed driver)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine_or_url: Engine | Connection | str | URL) -> bool:
    if isinstance(engine_or_url, Engine | Connection):
        return engine_or_url.dialect.name == "sqlite"
    return normalise_url(engine_or_url).get_backend_name() == "sqlite"


PG_LOCK_TIMEOUT_MS = 30_000


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``).

    SQLite connections get WAL journaling (readers do not block the writer), a busy timeout
    and enforced foreign keys. SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN`` so
    that write transactions can start with ``BEGIN IMMEDIATE``: the write lock is then held
    *before* the chain head is read, which is what keeps concurrent appends linear.
    """
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _make_sqlite_engine(parsed, **kwargs)
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        # A bounded wait for the chain lock, like SQLite's busy_timeout (a timeout, 55P03, is
        # retried by the store); set per connection, not per transaction: one round trip less.
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("options", f"-c lock_timeout={PG_LOCK_TIMEOUT_MS}")
        return create_engine(parsed, connect_args=connect_args, **kwargs)
    raise ValueError(f"unsupported database backend {backend!r} (use sqlite or postgresql)")


def _ensure_wal(cursor: Any) -> None:
    """Switch the database file to WAL journaling (a persistent setting of the file).

    SQLite does not run the busy handler for this switch, so on a brand-new file that other
    connections are opening at the same moment it can fail with "database is locked":
    retry until the file reports WAL (normally already true, and then this is one read).
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            message = str(exc).lower()
            if ("locked" not in message and "busy" not in message) or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("could not switch the database to WAL journal mode")
        time.sleep(random.uniform(0.005, 0.02))


def _make_sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        # Each pooled connection would see its own empty database: nothing durable to chain.
        raise ValueError(
            "the decision store needs a SQLite *file* URL, e.g. sqlite:///decisions.db"
        )
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Disable the sqlite3 module's implicit BEGIN; _on_begin below issues our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _ensure_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the RESERVED lock up front (waiting up to busy_timeout); readers stay
        # deferred so that, under WAL, they never block or get blocked by a writer.
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine
