"""``Idempotency-Key`` on ``POST /v1/decisions`` (IETF httpapi draft "The Idempotency-Key HTTP
Header Field"): a request retried after a lost answer is recorded once.

The key is chosen by the client, unique per request it means (a UUID, say), and scoped to its
API key. It is stored with the decision, in the same transaction, as its SHA-256, together with a
fingerprint of the request body: an HMAC with the pseudonymisation key, since the body holds
names and ID numbers and a plain hash of it could be checked against guesses. So:

- same key, same body: the first answer again (201, same decision id, same bytes), marked
  ``Idempotent-Replayed: true``; nothing new is recorded;
- same key, another body: 422 (the key was used for another request);
- same key while the first request is still being recorded by this process: 409, retry later;
  two workers racing with one key cannot both record: the database keeps one key per API key,
  and the loser answers with the winner's decision (or 422 for another body).
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from service.api import errors

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A retry whose key another request committed first looks again; a few rounds settle it.
MAX_ATTEMPTS = 3

# The draft's form is a Structured Field string ("..."); a bare token, as many clients send,
# means the same key. Visible ASCII and spaces only (RFC 8941 sf-string).
_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_BARE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


class Fingerprinter(Protocol):
    def pseudonym(self, kind: str, value: str) -> str: ...


@dataclass(frozen=True)
class Key:
    """One request's idempotency key, as stored: per API key, hashed, with its fingerprint."""

    actor: str
    key_hash: str
    request_hash: str

    @classmethod
    def parse(cls, header: str, actor: str, fingerprinter: Fingerprinter, body: bytes) -> Key:
        """The key of a header value; 422 naming the header if it is not one."""
        quoted = _QUOTED.fullmatch(header)
        if quoted is not None:
            key = re.sub(r'\\(["\\])', r"\1", quoted.group(1))
        elif _BARE.fullmatch(header):
            key = header
        else:
            raise errors.idempotency_key_invalid(MAX_KEY_LENGTH)
        if not key or len(key) > MAX_KEY_LENGTH:
            raise errors.idempotency_key_invalid(MAX_KEY_LENGTH)
        body_digest = hashlib.sha256(body).hexdigest()
        return cls(
            actor=actor,
            key_hash=hashlib.sha256(key.encode("ascii")).hexdigest(),
            request_hash=fingerprinter.pseudonym("idempotency-request", body_digest),
        )


def header_value(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The raw ``Idempotency-Key`` of ASGI headers; 422 if it is given more than once."""
    values = [v for k, v in headers if k == b"idempotency-key"]
    if not values:
        return None
    if len(values) > 1:
        raise errors.idempotency_key_invalid(MAX_KEY_LENGTH)
    return values[0].decode("latin-1")


# The keys being recorded, per service process (one event loop: no lock needed).
_IN_FLIGHT: weakref.WeakKeyDictionary[Any, set[tuple[str, str]]] = weakref.WeakKeyDictionary()


@contextmanager
def in_flight(owner: Any, key: Key) -> Iterator[None]:
    """Holds ``key`` as being recorded; 409 if it already is."""
    held = _IN_FLIGHT.setdefault(owner, set())
    slot = (key.actor, key.key_hash)
    if slot in held:
        raise errors.idempotency_key_in_flight()
    held.add(slot)
    try:
        yield
    finally:
        held.discard(slot)
