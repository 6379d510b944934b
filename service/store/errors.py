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


class BeyondLogError(StoreError, ValueError):
    """A proof asked for a tree size, or a leaf, that the signed log does not have (yet)."""
