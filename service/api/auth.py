"""API keys and roles.

A key is sent as ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). Only its SHA-256 is
stored (see :mod:`service.store.keys`). Successful look-ups are cached for a few seconds
(``ELIGIBILITY_KEY_CACHE_SECONDS``, 0 to disable) so that the hot path does not query the
database for every request; a key revoked through the API is dropped from this process's cache
at once, one revoked from the command line stops working within that many seconds.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from service.store import ApiKey, DecisionStore

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


class Authenticator:
    def __init__(self, store: DecisionStore, ttl_seconds: float = 5.0, max_entries: int = 10_000):
        self._store = store
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(secret: str) -> bytes:
        return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()

    def cached(self, secret: str) -> Principal | None:
        """The principal if this key was verified within the TTL; never touches the database."""
        if self._ttl <= 0:
            return None
        entry = self._cache.get(self._digest(secret))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def authenticate(self, secret: str) -> Principal | None:
        """Checks the key against the database (raises the store's errors if it is down)."""
        key: ApiKey | None = self._store.authenticate(secret)
        if key is None:
            return None
        principal = Principal(key.id, key.name, key.role)
        if self._ttl > 0:
            with self._lock:
                if len(self._cache) >= self._max:
                    self._cache.clear()
                self._cache[self._digest(secret)] = (time.monotonic() + self._ttl, principal)
        return principal

    def forget(self, key_id: str) -> None:
        with self._lock:
            for digest, (_, principal) in list(self._cache.items()):
                if principal.key_id == key_id:
                    del self._cache[digest]
