"""Engine construction for the supported backends (SQLite file, PostgreSQL via psycopg 3).

Also what the commands need to find and make a database: where it is (for people, never with
its password), whether it exists, and creating it. A SQLite file and the folder made for it are
owner-only (0600, 0700): they hold pseudonymised personal data.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError
from sqlalchemy.pool import NullPool

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
PG_CONNECT_TIMEOUT_S = 10
"""How long a command waits for a PostgreSQL server before it says the server is unreachable."""

MAINTENANCE_DATABASES = ("postgres", "template1")
"""Databases of a PostgreSQL server to connect to when the target may not exist (as createdb)."""


def make_private_dir(path: Path) -> None:
    """Creates the folder ``path`` owner-only (0700) if it is missing (parents as ``mkdir -p``).

    An existing folder is left as it is: its owner chose its mode.
    """
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL (absolute); None for another backend."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).absolute()


def describe_database(url: str | URL) -> str:
    """Where the database is, for people: a SQLite file's path, or the URL without password."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)


def database_name(url: str | URL) -> str:
    return normalise_url(url).database or ""


def _maintenance_engines(url: URL) -> list[Engine]:
    return [
        create_engine(
            url.set(database=name),
            isolation_level="AUTOCOMMIT",  # CREATE DATABASE cannot run in a transaction
            poolclass=NullPool,
            hide_parameters=True,
            connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
        )
        for name in MAINTENANCE_DATABASES
    ]


def _on_maintenance_database(url: URL, work: Any) -> Any:
    """``work(connection)`` on the first maintenance database that answers; raises the last error."""
    failure: SQLAlchemyError | None = None
    for engine in _maintenance_engines(url):
        try:
            with engine.connect() as conn:
                return work(conn)
        except SQLAlchemyError as error:
            if isinstance(error, ProgrammingError):
                raise  # the server answered (e.g. no right to create): no point asking another
            failure = error
        finally:
            engine.dispose()
    assert failure is not None
    raise failure


def _exists(conn: Connection, name: str) -> bool:
    found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
    return found.first() is not None


def database_exists(url: str | URL) -> bool | None:
    """Whether the database ``url`` names exists: a SQLite file; on PostgreSQL, asked through
    the server's maintenance database. None when no server answered (unreachable, refused)."""
    path = sqlite_file(url)
    if path is not None:
        return path.is_file()
    parsed = normalise_url(url)
    try:
        return bool(_on_maintenance_database(parsed, lambda conn: _exists(conn, parsed.database)))
    except SQLAlchemyError:
        return None


def create_database(url: str | URL) -> bool:
    """Creates the database ``url`` names unless it exists; True if this call created it.

    SQLite: an empty file (0600) in its folder (made 0700). PostgreSQL: ``CREATE DATABASE``
    through the maintenance database (``postgres``, else ``template1``), owned by the URL's user.
    Raises ``SQLAlchemyError`` when the server cannot be reached or refuses.
    """
    path = sqlite_file(url)
    if path is not None:
        return _create_sqlite_file(path)
    parsed = normalise_url(url)
    name = parsed.database
    if not name:
        raise ValueError("the PostgreSQL URL names no database")

    def create(conn: Connection) -> bool:
        if _exists(conn, name):
            return False
        quoted = conn.dialect.identifier_preparer.quote(name)
        try:
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
        except ProgrammingError:
            if _exists(conn, name):  # made by someone else meanwhile
                return False
            raise
        return True

    return bool(_on_maintenance_database(parsed, create))


def _create_sqlite_file(path: Path) -> bool:
    make_private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


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
    # Made here rather than by SQLite, which would follow the umask: the WAL and shared-memory
    # files SQLite adds later take the database file's mode.
    _create_sqlite_file(Path(database).absolute())
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
