"""Canonical JSON and SHA-256 helpers."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.store import GENESIS_HASH, canonical_json, sha256_hex
from service.store.hashing import canonical_json_bytes, is_hex64, record_hash

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def test_canonical_json_is_sorted_compact_and_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1, 2], "c": "低保"}) == '{"a":[1,2],"b":1,"c":"低保"}'


def test_canonical_json_rejects_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})


def test_sha256_hex_matches_hashlib_on_utf8() -> None:
    assert sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_hex("低保") == hashlib.sha256("低保".encode()).hexdigest()
    assert is_hex64(sha256_hex("x")) and is_hex64(GENESIS_HASH)
    assert not is_hex64("A" * 64) and not is_hex64("0" * 63)


@given(json_values)
def test_canonical_json_round_trips(value: object) -> None:
    text = canonical_json(value)
    assert json.loads(text) == value
    assert canonical_json(json.loads(text)) == text


@given(st.dictionaries(st.text(), st.integers(), min_size=2))
def test_canonical_json_ignores_key_order(value: dict[str, int]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(reordered) == canonical_json(value)


def test_record_hash_covers_every_field_and_refuses_itself() -> None:
    fields = {"seq": 1, "prev_hash": GENESIS_HASH, "response_json": "{}"}
    base = record_hash(fields)
    for key in fields:
        changed = dict(fields, **{key: "different"})
        assert record_hash(changed) != base, key
    with pytest.raises(ValueError):
        record_hash({**fields, "record_hash": base})


flat_fields = st.dictionaries(
    st.text(),
    st.none() | st.booleans() | st.integers() | st.text() | json_values,
    max_size=14,
)


@given(flat_fields)
def test_fast_record_serialisation_is_byte_identical_to_canonical_json(fields: dict) -> None:
    # The chain's hashes must not depend on which serialiser wrote them: records hashed
    # before orjson was used must still verify.
    try:
        expected = canonical_json(fields).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        with pytest.raises((ValueError, UnicodeEncodeError)):
            canonical_json_bytes(fields)
        return
    assert canonical_json_bytes(fields) == expected


def test_record_hash_is_sha256_of_canonical_json() -> None:
    fields = {"seq": 7, "id": "a" * 32, "request_json": '{"name":"王小明\\u0000"}', "x": None}
    assert record_hash(fields) == sha256_hex(canonical_json(fields))
