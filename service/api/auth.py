"""API keys and roles.

A key is sent as ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). Only its SHA-256 is
stored (see :mod:`service.store.keys`). Successful look-ups are cached for a few seconds
(``ELIGIBILITY_KEY_CACHE_SECONDS``, 0 to disable) so that the hot path does not look the key up
for every request. A revoked key must not outlive its revocation in any worker's cache, though:
each request served from the cache first reads the *revocation stamp* (how many keys exist, how
many are revoked, the last revocation time: one small query on ``api_keys``), and a stamp other
than the one the cached entry was made under sends the key back to the database. The stamp is
read by a query sent after the request arrived, so a revocation committed before it, by any
worker or by ``eligibility keys revoke``, is always seen. Requests arriving together share one
such query (:class:`RevocationStamp`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool

from service.store import ApiKey, DecisionStore, sqlite_file
from service.store.async_pg import libpq_conninfo
from service.store.errors import StoreUnavailableError

# What each role may do. Reading decisions: intake and integrator see the ones they recorded,
# the auditor sees all of them.
EVALUATE = "evaluate"
RECORD = "record"
READ = "read"
REPLAY = "replay"
VERIFY = "verify"
RULES = "rules"
RELOAD = "reload"
KEYS = "keys"
CASELOAD = "caseload"

PERMISSIONS: dict[str, frozenset[str]] = {
    EVALUATE: frozenset({"intake", "integrator"}),
    RECORD: frozenset({"intake", "integrator"}),
    READ: frozenset({"intake", "integrator", "auditor"}),
    REPLAY: frozenset({"auditor"}),
    VERIFY: frozenset({"auditor"}),
    RULES: frozenset({"intake", "integrator", "auditor", "admin"}),
    RELOAD: frozenset({"admin"}),
    KEYS: frozenset({"admin"}),
    # What-if of a rule change over a posted caseload (service.caseload): no personal decision
    # data, but a rule-policy tool.
    CASELOAD: frozenset({"admin", "auditor"}),
}
READS_ALL = frozenset({"auditor"})


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    role: str

    @property
    def reads_all(self) -> bool:
        return self.role in READS_ALL


def secret_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request presents: ``X-API-Key``, else ``Authorization: Bearer`` (raw ASGI
    headers; the FastAPI routes and the fast path both read the key here)."""
    bearer = None
    for name, value in headers:
        if name == b"x-api-key":
            text = value.decode("latin-1").strip()
            if text:
                return text
        elif name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                bearer = credentials.strip()
    return bearer


REVOCATION_STAMP_SQL = "SELECT count(*), count(revoked_at), max(revoked_at) FROM api_keys"
"""Changes with every revocation (keys are revoked, never un-revoked or deleted by the service;
the total count and the last time catch a row deleted behind its back)."""

Stamp = tuple[Any, ...]


class RevocationStamp:
    """The revocation stamp, read fresh for each request that asks, one query for all the
    requests that ask while none is under way.

    SQLite: on its own connection, on the event loop (a read in WAL mode never waits for the
    writer; it costs microseconds). PostgreSQL: on its own connection in a thread, so the loop
    goes on during the round trip.
    """

    def __init__(self, url: str):
        self._sqlite = sqlite_file(url)
        self._conninfo = None if self._sqlite is not None else libpq_conninfo(url)
        self._conn: Any = None
        self._lock = threading.Lock()
        self._started = 0  # queries sent so far
        self._finished = 0  # the number of the last query that answered
        self._value: Stamp | None = None
        self._flight: asyncio.Future[None] | None = None

    def _connect(self) -> Any:
        if self._sqlite is not None:
            return sqlite3.connect(
                self._sqlite, timeout=5, isolation_level=None, check_same_thread=False
            )
        return psycopg.connect(self._conninfo, autocommit=True)

    def read(self) -> Stamp:
        """One query, now (raises ``StoreUnavailableError`` if the database cannot answer)."""
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                row = self._conn.execute(REVOCATION_STAMP_SQL).fetchone()
            except (sqlite3.Error, psycopg.Error, OSError) as error:
                self._close()
                raise StoreUnavailableError(type(error).__name__) from None
            return tuple(row)

    async def fresh(self) -> Stamp:
        """A stamp read by a query sent after this call began."""
        if self._sqlite is not None:
            return self.read()
        need = self._started + 1
        while True:
            flight = self._flight
            if flight is None:
                self._started += 1
                flight = self._flight = asyncio.ensure_future(self._query(self._started))
            await asyncio.shield(flight)
            if self._finished >= need:
                assert self._value is not None
                return self._value

    async def _query(self, number: int) -> None:
        try:
            self._value = await run_in_threadpool(self.read)
            self._finished = number
        finally:
            self._flight = None

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error, psycopg.Error, OSError):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close()


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    stamp: Stamp | None  # the revocation stamp read before the key was looked up
    principal: Principal


class Authenticator:
    def __init__(
        self,
        store: DecisionStore,
        ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        revocations: RevocationStamp | None = None,
    ):
        self._store = store
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: dict[bytes, _Entry] = {}
        self._lock = threading.Lock()
        self._revocations = revocations
        self._stamp: Stamp | None = None  # the latest stamp read

    @staticmethod
    def _digest(secret: str) -> bytes:
        return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()

    async def cached(self, secret: str) -> Principal | None:
        """The principal if this key was verified within the TTL and no key was revoked since
        (one revocation-stamp query; never the key's own look-up)."""
        if self._ttl <= 0:
            return None
        digest = self._digest(secret)
        entry = self._cache.get(digest)
        if entry is None or entry.expires < time.monotonic():
            return None
        if self._revocations is not None:
            stamp = await self._revocations.fresh()
            self._stamp = stamp
            if entry.stamp != stamp:
                with self._lock:
                    self._cache.pop(digest, None)
                return None
        return entry.principal

    def authenticate(self, secret: str) -> Principal | None:
        """Checks the key against the database (raises the store's errors if it is down)."""
        # Read before the look-up: a revocation after it changes the stamp, so the entry made
        # here will not be trusted under the new one.
        stamp = self._stamp
        key: ApiKey | None = self._store.authenticate(secret)
        if key is None:
            return None
        principal = Principal(key.id, key.name, key.role)
        if self._ttl > 0:
            with self._lock:
                if len(self._cache) >= self._max:
                    self._cache.clear()
                expires = time.monotonic() + self._ttl
                self._cache[self._digest(secret)] = _Entry(expires, stamp, principal)
        return principal

    def forget(self, key_id: str) -> None:
        with self._lock:
            for digest, entry in list(self._cache.items()):
                if entry.principal.key_id == key_id:
                    del self._cache[digest]

    def close(self) -> None:
        if self._revocations is not None:
            self._revocations.close()
