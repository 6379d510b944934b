"""What one service process holds: rules, store, writer, keys, secret; and rule reloads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from service.api import metrics
from service.api.auth import Authenticator, RevocationStamp
from service.api.logs import get_logger
from service.api.privacy import Pseudonymizer, pseudonym_key
from service.api.settings import Settings
from service.api.signing import load_or_create_key
from service.api.writer import (
    AsyncGroupCommit,
    DecisionWriter,
    InlineGroupCommit,
    ThreadGroupCommit,
)
from service.engine import Decider, RuleBase, RuleSetError
from service.store import (
    DecisionStore,
    StoredDecision,
    StoreError,
    alembic_config,
    make_engine,
    make_private_dir,
    upgrade,
)
from service.store.async_pg import AsyncAppender
from service.store.database import is_sqlite
from service.store.errors import LogDamagedError

log = get_logger("runtime")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def database_engine(settings: Settings) -> Engine:
    url = settings.database_url
    kwargs: dict[str, Any] = {
        # SQL parameters (stored requests) never appear in exception messages or logs.
        "hide_parameters": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size * 2,
        "pool_timeout": 10,
    }
    if not is_sqlite(url):
        kwargs["connect_args"] = {"connect_timeout": 5}
    return make_engine(url, **kwargs)


def writer_lock_file(settings: Settings) -> Path:
    """The file through which the worker processes of one host take turns appending.

    SQLite: beside the database file (whoever opens it). PostgreSQL: in the data directory
    (the workers of one ``serve``); writers on other hosts still queue on the chain lock.
    """
    url = settings.database_url
    if is_sqlite(url):
        database = make_url(url).database
        if database:
            return Path(f"{database}.writelock")
    make_private_dir(settings.data_dir)
    return settings.data_dir / "writer.lock"


class WalCheckpointer:
    """SQLite: checkpoints the WAL from a background thread instead of inside a commit.

    By default the connection whose commit pushes the WAL past 1,000 pages copies it back into
    the database file there and then: tens of milliseconds during which that request (and, with
    the group commit on the event loop, the whole worker) waits. Here the service's connections
    never checkpoint; this thread does, every ``interval`` seconds, in PASSIVE mode (it never
    blocks a writer, and SQLite releases the GIL while it works).
    """

    def __init__(self, db: Engine, interval: float = 0.5):
        self._db = db
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    @staticmethod
    def install(db: Engine) -> None:
        @event.listens_for(db, "connect")
        def _no_auto_checkpoint(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            finally:
                cursor.close()

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._db.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except (SQLAlchemyError, OSError):
                pass  # busy or unreachable: the next round tries again

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)


def _count_batch(decisions: Sequence[StoredDecision]) -> None:
    metrics.BATCH_SIZE.observe(len(decisions))


def decision_writer(settings: Settings, store: DecisionStore) -> DecisionWriter:
    """The group commit of ``ELIGIBILITY_WRITER`` for the database of ``settings``."""
    hooks = (_count_batch,)
    if settings.writer == "inline" and not is_sqlite(settings.database_url):
        # PostgreSQL: the transaction's waits for the server do not hold up the loop.
        appender = AsyncAppender(store, settings.database_url)
        return AsyncGroupCommit(store, appender, max_batch=settings.batch_max, after_commit=hooks)
    writer = InlineGroupCommit if settings.writer == "inline" else ThreadGroupCommit
    return writer(
        store,
        max_batch=settings.batch_max,
        lock_file=writer_lock_file(settings),
        after_commit=hooks,
    )


class Runtime:
    """Per-process state of the service (``app.state.runtime``)."""

    def __init__(self, settings: Settings, rule_base: RuleBase | None = None):
        self.settings = settings
        self.decider = Decider(settings.rules_dir, rule_base=rule_base)
        self.db = database_engine(settings)
        self.checkpointer: WalCheckpointer | None = None
        if is_sqlite(settings.database_url):
            WalCheckpointer.install(self.db)
            self.checkpointer = WalCheckpointer(self.db)
        # The log's key, from its file outside the data folder: every append signs a checkpoint.
        self.log_key = load_or_create_key(settings.signing_key_path, create=not settings.production)
        self.store = DecisionStore(self.db, signer=self.log_key)
        self.pseudonymizer = Pseudonymizer(pseudonym_key(settings))
        revocations = RevocationStamp(settings.database_url)
        self.auth = Authenticator(self.store, settings.key_cache_seconds, revocations=revocations)
        self.writer = decision_writer(settings, self.store)
        self.schema_ok = False
        self.schema_problem: str | None = "not checked yet"
        self._schema_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._seen_signal = self._signal_stamp()

    # --- database schema --------------------------------------------------------------------

    def ensure_schema(self) -> bool:
        """True when the database is reachable and at the code's revision.

        An empty database is migrated (``ELIGIBILITY_MIGRATE_ON_START``); one at another
        revision is left alone and reported: run ``eligibility db upgrade``.
        """
        if self.schema_ok:
            return True
        with self._schema_lock:
            if self.schema_ok:
                return True
            head = head_revision()
            try:
                with self.db.connect() as conn:
                    from alembic.runtime.migration import MigrationContext

                    current = MigrationContext.configure(conn).get_current_revision()
                if current is None and self.settings.migrate_on_start:
                    upgrade(self.settings.database_url)
                    current = head
                    log.info("database migrated", extra={"revision": head})
            except (SQLAlchemyError, OSError) as error:
                self.schema_problem = f"database unreachable ({type(error).__name__})"
                return False
            if current != head:
                self.schema_problem = (
                    f"database schema is at revision {current}, the service needs {head}:"
                    " run `eligibility db upgrade`"
                )
                return False
            try:
                # A log migrated from the hash chain gets its first checkpoint (a no-op after).
                self.store.sign_checkpoint()
            except LogDamagedError as damaged:
                # Not signed, and every append is refused (503 log_damaged); the service stays
                # up so that auditors can verify and export the log.
                log.error("decision log damaged", extra={"reason": str(damaged)})
            except (SQLAlchemyError, OSError, StoreError) as error:
                self.schema_problem = f"database unreachable ({type(error).__name__})"
                return False
            self.schema_ok = True
            self.schema_problem = None
            return True

    # --- rules ------------------------------------------------------------------------------

    def _signal_stamp(self) -> int | None:
        try:
            return os.stat(self.settings.reload_signal_file).st_mtime_ns
        except OSError:
            return None

    def rule_base(self) -> RuleBase:
        """The rule base to use for one request; picks up a reload done by another worker."""
        stamp = self._signal_stamp()
        if stamp != self._seen_signal:
            with self._reload_lock:
                if stamp != self._seen_signal:
                    self._seen_signal = stamp
                    try:
                        self.decider.reload()
                        log.info("rules reloaded (signalled by another worker)")
                    except RuleSetError as error:
                        log.error(
                            "rules reload failed; previous rules keep serving",
                            extra={"problems": len(error.problems)},
                        )
        return self.decider.rule_base

    def reload_rules(self) -> RuleBase:
        """Load and validate ``rules/``; swap them in and tell the other workers.

        Raises ``RuleSetError`` (and changes nothing) if the files are invalid.
        """
        with self._reload_lock:
            fresh = self.decider.reload()
            signal = self.settings.reload_signal_file
            signal.parent.mkdir(parents=True, exist_ok=True)
            temp = signal.with_name(f".{signal.name}.{os.getpid()}")
            temp.write_text(f"{time.time_ns()} {os.getpid()}\n", encoding="ascii")
            os.replace(temp, signal)
            self._seen_signal = self._signal_stamp()
            return fresh

    def start_background(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.start()

    def close(self) -> None:
        """Off the event loop, after ``writer.close()`` on it."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.auth.close()
        self.store.close()
        self.db.dispose()
