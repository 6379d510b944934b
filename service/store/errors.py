"""Exceptions raised by the decision store (the HTTP layer maps them to status codes)."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class BundleIntegrityError(StoreError):
    """A rule bundle's text does not hash to the SHA-256 it is stored or offered under."""


class InvalidCursorError(StoreError, ValueError):
    """A pagination cursor that this store did not produce (or for another sort order)."""


class StoreBusyError(StoreError):
    """The database stayed locked / kept failing serialisation after all retries."""


class StoreUnavailableError(StoreError):
    """The database could not be reached, or refused the append for a reason no retry cures
    (a table missing, say): the service answers 503 and records nothing."""


class LogDamagedError(StoreUnavailableError):
    """The transparency log's stored tree lacks hashes an append needs (rows removed behind
    the store's back): nothing is appended until an operator has looked (503)."""


class LogForkedError(LogDamagedError):
    """The tree an append would extend is not the tree the latest checkpoint signed (records
    or stored hashes rewritten, or records removed, behind the store's back): signing over it
    would lend the log's key to a rewritten history, so nothing is appended (503)."""


class BeyondLogError(StoreError, ValueError):
    """A proof asked for a tree size, or a leaf, that the signed log does not have (yet)."""


class DamagedRecordError(StoreError):
    """A stored decision row that no longer reads as a record (a field that does not parse):
    changed outside the store. Names the record by its position and id."""

    def __init__(self, seq: int | None, decision_id: str, field: str):
        self.seq = seq
        self.decision_id = decision_id
        self.field = field
        super().__init__(f"record seq {seq}, id {decision_id}: {field} cannot be read")


class IdempotencyKeyTaken(StoreError, ValueError):
    """An append carried an idempotency key that another request had committed meanwhile: the
    append is rolled back (nothing recorded) and the caller looks the key up again. A
    ValueError, so that the group commit writes the other requests of the batch one by one."""
