"""PostgreSQL appends on an asynchronous connection, for an event loop that must not wait.

A worker of the service is one thread running an event loop. A synchronous append holds that
loop for the whole transaction, and on PostgreSQL most of it is waiting: a batch of 15
decisions was measured at 11 ms, 7 of them waiting for the server. On psycopg's asynchronous
connection those waits let the loop go on with the next requests.

The statements are those of :meth:`DecisionStore.append_plan`, the very plan
:meth:`DecisionStore.record_many` runs on a synchronous connection, so both paths append the
same rows and hashes; the retry rules are the same too.
"""

from __future__ import annotations

import asyncio
import builtins
import random
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL

from service.store.database import PG_LOCK_TIMEOUT_MS, normalise_url
from service.store.errors import IdempotencyKeyTaken, StoreBusyError, StoreUnavailableError
from service.store.records import StoredDecision
from service.store.store import (
    MAX_WRITE_ATTEMPTS,
    DecisionStore,
    PreparedBatch,
    is_idempotency_conflict,
    is_transient_driver_error,
)

CONNECT_TIMEOUT_SECONDS = 5


def libpq_conninfo(url: str | URL) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (same server and options
    as the synchronous engine: a bounded wait for the chain lock)."""
    parsed = normalise_url(url)
    params: dict[str, Any] = {
        key: value for key, value in parsed.query.items() if isinstance(value, str)
    }
    params.setdefault("options", f"-c lock_timeout={PG_LOCK_TIMEOUT_MS}")
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return make_conninfo(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        **params,
    )


class AsyncAppender:
    """Appends prepared batches over one asynchronous connection (one append at a time)."""

    def __init__(self, store: DecisionStore, url: str | URL):
        if store.engine.dialect.name != "postgresql":
            raise ValueError("the asynchronous appender is for PostgreSQL")
        self._store = store
        self._conninfo = libpq_conninfo(url)
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def record_many(self, batch: PreparedBatch) -> builtins.list[StoredDecision]:
        """Appends ``batch`` (from :meth:`DecisionStore.prepare_batch`) in one transaction."""
        for number in range(1, MAX_WRITE_ATTEMPTS + 1):
            conn = await self._connection()
            try:
                # Pipeline mode: statements whose rows are not needed are sent without waiting
                # for their answers, so after the chain lock is taken the inserts, the head
                # update and the commit travel together and the lock is held for one round trip.
                async with conn.pipeline(), conn.transaction():
                    return await self._run_plan(conn, batch)
            except psycopg.Error as error:
                if is_idempotency_conflict(error):  # rolled back: the caller looks it up
                    raise IdempotencyKeyTaken() from None
                lost = isinstance(error, psycopg.OperationalError) and error.sqlstate is None
                if lost or conn.closed:  # the connection failed, not the statement
                    await self.aclose()
                    raise StoreUnavailableError(type(error).__name__) from None
                if not is_transient_driver_error(error):
                    # As the synchronous path's DBAPIError: the database is not as this code
                    # needs it (a table gone, a constraint). The type and SQLSTATE only: a
                    # server message can quote the row's values.
                    raise StoreUnavailableError(
                        f"{type(error).__name__} ({error.sqlstate})"
                    ) from None
                last = error
            if number < MAX_WRITE_ATTEMPTS:
                # Jittered exponential back-off, as the synchronous path does.
                await asyncio.sleep(random.uniform(0, 0.02 * 2**number))
        raise StoreBusyError(
            f"database still busy after {MAX_WRITE_ATTEMPTS} attempts: {last.sqlstate}"
        )

    async def _run_plan(
        self, conn: psycopg.AsyncConnection[Any], batch: PreparedBatch
    ) -> builtins.list[StoredDecision]:
        plan = self._store.append_plan(batch)
        step = next(plan)
        async with conn.cursor() as cursor:
            while True:
                if isinstance(step.params, list):
                    await cursor.executemany(step.sql, step.params)
                else:
                    await cursor.execute(step.sql, step.params)
                rows = await cursor.fetchall() if step.returns_rows else None
                try:
                    step = plan.send(rows)
                except StopIteration as done:
                    stored: builtins.list[StoredDecision] = done.value
                    return stored

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = await psycopg.AsyncConnection.connect(self._conninfo)
            except psycopg.OperationalError as error:
                raise StoreUnavailableError(type(error).__name__) from None
        return self._conn

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            await conn.close()
