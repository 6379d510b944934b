"""SHA-256 helpers of the hash chain and the bundle store.

Everything that is hashed goes through :func:`service.canonical.canonical_json` (the engine's
bundles too), so that the same logical value always yields the same bytes, whichever process or
backend produced it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from service.canonical import canonical_json

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first record of the chain."""


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 encoding of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_hash(fields: Mapping[str, Any]) -> str:
    """Hash of one decision record: SHA-256 over the canonical JSON of its fields.

    ``fields`` must contain every stored column except ``record_hash`` itself (including
    ``prev_hash``), already reduced to JSON scalars (ISO-8601 strings for dates).
    """
    if "record_hash" in fields:
        raise ValueError("record_hash cannot be part of its own input")
    return hashlib.sha256(canonical_json_bytes(fields)).hexdigest()


def canonical_json_bytes(fields: Mapping[str, Any]) -> bytes:
    """``canonical_json(fields).encode()``, by orjson when that gives the same bytes.

    For a flat object of strings, integers, booleans and nulls -- a record's fields -- the two
    serialisers agree byte for byte (a property test checks it), and orjson is several times
    faster on the long request and response texts. Anything else (floats, which orjson
    writes differently; nested values; integers beyond 64 bits) goes the slow way.
    """
    if type(fields) is dict and all(type(v) in _FLAT_SCALARS for v in fields.values()):
        try:
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # non-string keys, integers beyond 64 bits, lone surrogates
            pass
    return canonical_json(dict(fields)).encode("utf-8")


_FLAT_SCALARS = frozenset({str, int, bool, type(None)})


def is_hex64(value: str) -> bool:
    """True for a 64-character lower-case hex string (a SHA-256 digest)."""
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def log_leaf_data(record_hash_hex: str) -> bytes:
    """The data of a record's leaf in the transparency log: its ``record_hash``, as 32 bytes.

    The record hash covers every stored field and the previous record's hash, so the leaf
    commits to the record and to the chain before it (RFC 9162 hashes it as
    ``SHA-256(0x00 || data)``).
    """
    if not is_hex64(record_hash_hex):
        raise ValueError("a record hash is 64 lower-case hex digits")
    return bytes.fromhex(record_hash_hex)
