"""Immutable values returned by the store (plain dataclasses, no ORM state attached)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """One decision as stored in the hash chain.

    ``request_json``/``response_json``/``programs_summary`` are exactly what was recorded;
    ``created_at`` is timezone-aware UTC.
    """

    seq: int
    id: str
    created_at: datetime
    jurisdiction: str
    as_of: date
    bundle_sha256: str
    engine_version: str
    request_json: str
    response_json: str
    actor: str
    programs_summary: dict[str, str]
    prev_hash: str
    record_hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (dates as ISO-8601 strings); handy for audit endpoints."""
        return {
            "seq": self.seq,
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "jurisdiction": self.jurisdiction,
            "as_of": self.as_of.isoformat(),
            "bundle_sha256": self.bundle_sha256,
            "engine_version": self.engine_version,
            "request_json": self.request_json,
            "response_json": self.response_json,
            "actor": self.actor,
            "programs_summary": dict(self.programs_summary),
            "prev_hash": self.prev_hash,
            "record_hash": self.record_hash,
        }


# The decisions table's columns, in the order batch inserts and verify read them: the fields of
# a stored decision.
DECISION_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(StoredDecision))


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Outcome of :meth:`DecisionStore.verify`.

    ``checked`` counts the records that verified before the first break (all of them when
    ``ok``). For a missing link ``first_broken_seq`` is the absent position and
    ``first_broken_id`` is ``None`` (the record is gone); for a problem of the log as a whole
    (a checkpoint not signed by the log's key) both are ``None`` and ``reason`` says it.
    """

    checked: int
    first_broken_seq: int | None
    first_broken_id: str | None
    reason: str | None
    tree_size: int = 0  # records stored (the highest seq)
    checkpoint_size: int | None = None  # the latest signed checkpoint, checked (None: not)

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None and self.reason is None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Position and hash of the last record (``seq`` 0 and the genesis hash when empty)."""

    seq: int
    record_hash: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    """Public view of an API key: never carries the secret nor its hash."""

    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
