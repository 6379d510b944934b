"""Sign-in sessions of the web console: a random token in the browser, its SHA-256 here.

A session is opened with an API key (checked by the caller) and names that key; it ends at
sign-out, after ``idle`` without a request, or when its key is revoked (checked at every look-up,
so a revocation ends every session of the key at once, in every process). Neither the token nor
the key is stored: a copy of the table opens nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from service.store.database import WRITE_OPTION
from service.store.hashing import sha256_hex
from service.store.models import ApiKeyRow, ConsoleSessionRow
from service.store.records import ApiKey

# A session's last use is written at most this often: a page view is a read, not a write.
TOUCH_EVERY = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; everything written here is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """An open session: its key (id, name, role) and when it was last used."""

    key: ApiKey
    last_seen_at: datetime


class ConsoleSessions:
    """The ``console_sessions`` table (schema: migration 0005)."""

    def __init__(self, engine: Engine, idle: timedelta):
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self.idle = idle

    def open(self, key_id: str) -> str:
        """A new session for the (active, already checked) key; returns the token, shown once."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with Session(self._write_engine) as session, session.begin():
            # Expired sessions go when a new one comes: the table holds only live ones (and
            # those that expired since the last sign-in).
            session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.last_seen_at < now - self.idle)
            )
            session.add(
                ConsoleSessionRow(
                    token_hash=sha256_hex(token), key_id=key_id, created_at=now, last_seen_at=now
                )
            )
        return token

    def get(self, token: str) -> ConsoleSession | None:
        """The live session of ``token`` (its last use moved to now), or None: unknown, ended,
        idle too long (then deleted) or its key revoked."""
        if not token or len(token) > 100:
            return None
        digest = sha256_hex(token)
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            found = session.execute(
                select(ConsoleSessionRow, ApiKeyRow)
                .join(ApiKeyRow, ApiKeyRow.id == ConsoleSessionRow.key_id)
                .where(ConsoleSessionRow.token_hash == digest)
            ).one_or_none()
        if found is None:
            return None
        row, key = found
        now = _now()
        last_seen = _utc(row.last_seen_at)
        if key.revoked_at is not None or now - last_seen > self.idle:
            self.close(token)
            return None
        if now - last_seen > TOUCH_EVERY:
            with Session(self._write_engine) as session, session.begin():
                session.execute(
                    update(ConsoleSessionRow)
                    .where(ConsoleSessionRow.token_hash == digest)
                    .values(last_seen_at=now)
                )
            last_seen = now
        api_key = ApiKey(
            id=key.id,
            name=key.name,
            role=key.role,
            created_at=_utc(key.created_at),
            revoked_at=None,
        )
        return ConsoleSession(api_key, last_seen)

    def close(self, token: str) -> bool:
        """Ends the session (sign-out); False if there was none."""
        with Session(self._write_engine) as session, session.begin():
            result = session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == sha256_hex(token))
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]
