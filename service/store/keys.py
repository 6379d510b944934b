"""API key secrets: format, parsing and hashing (the storage is in :mod:`.store`)."""

from __future__ import annotations

import hmac
import re
import secrets

from service.store.hashing import sha256_hex

SECRET_PREFIX = "elig_"
KEY_ID_BYTES = 8  # 16 hex characters: short enough to show, long enough never to collide
_KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
_MAX_SECRET_LEN = 200  # anything longer is not ours; do not hash attacker-sized input

# Compared against when the key id is unknown, so lookups of unknown and known ids cost
# the same work.
_DUMMY_HASH = sha256_hex("elig_0000000000000000_not-a-real-key")


def new_key_id() -> str:
    return secrets.token_hex(KEY_ID_BYTES)


def new_secret(key_id: str) -> str:
    """``elig_<key id>_<random>``: the id inside lets us look the key up without scanning."""
    return f"{SECRET_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    # A plain SHA-256 is enough: the secret carries 256 random bits, so there is nothing
    # to brute-force that a slow KDF would protect.
    return sha256_hex(secret)


def parse_key_id(secret: str) -> str | None:
    """The key id embedded in ``secret``, or ``None`` if it is not one of our secrets."""
    if len(secret) > _MAX_SECRET_LEN or not secret.startswith(SECRET_PREFIX):
        return None
    parts = secret.split("_", 2)
    if len(parts) != 3 or not _KEY_ID_RE.fullmatch(parts[1]) or not parts[2]:
        return None
    return parts[1]


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of ``secret``'s hash with ``stored_hash``."""
    presented = hash_secret(secret)
    expected = stored_hash if stored_hash is not None else _DUMMY_HASH
    return hmac.compare_digest(presented, expected) and stored_hash is not None
