"""API keys: creation, authentication, revocation; only hashes are stored."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from service.store import ROLES, ApiKey, DecisionStore, sha256_hex
from service.store.models import ApiKeyRow


def test_create_then_authenticate(store: DecisionStore) -> None:
    key_id, secret = store.create_key("intake", "front desk")
    assert secret.startswith(f"elig_{key_id}_")
    key = store.authenticate(secret)
    assert isinstance(key, ApiKey)
    assert (key.id, key.name, key.role, key.revoked_at) == (key_id, "front desk", "intake", None)
    assert key.active


def test_wrong_secret_fails(store: DecisionStore) -> None:
    key_id, secret = store.create_key("auditor", "audit")
    other_id, _ = store.create_key("auditor", "audit 2")
    wrong = [
        secret[:-1] + ("A" if secret[-1] != "A" else "B"),  # last character changed
        secret.replace(key_id, other_id),  # right random part, another key's id
        f"elig_{'0' * 16}_{secret.split('_', 2)[2]}",  # unknown id
        secret[:-2],
        "",
        "elig_",
        "Bearer " + secret,
        secret + "x" * 500,
    ]
    for candidate in wrong:
        assert store.authenticate(candidate) is None, candidate


def test_revoked_key_fails(store: DecisionStore) -> None:
    key_id, secret = store.create_key("integrator", "partner")
    assert store.revoke(key_id) is True
    assert store.authenticate(secret) is None
    assert store.revoke(key_id) is False  # already revoked
    assert store.revoke("doesnotexist") is False
    (listed,) = store.list_keys()
    assert listed.id == key_id and listed.revoked_at is not None and not listed.active


def test_only_the_hash_is_stored(store: DecisionStore) -> None:
    key_id, secret = store.create_key("admin", "root")
    random_part = secret.split("_", 2)[2]
    with store.engine.connect() as conn:
        row = conn.execute(select(ApiKeyRow.__table__).where(ApiKeyRow.id == key_id)).one()
    values = [str(v) for v in row]
    assert all(secret not in v and random_part not in v for v in values)
    assert row.key_hash == sha256_hex(secret)


def test_list_keys_exposes_no_secret_material(store: DecisionStore) -> None:
    created = {store.create_key(role, f"{role} key") for role in ROLES}
    keys = store.list_keys()
    assert {k.id for k in keys} == {key_id for key_id, _ in created}
    assert {k.role for k in keys} == set(ROLES)
    for key in keys:
        assert {f.name for f in dataclasses.fields(key)} == {
            "id",
            "name",
            "role",
            "created_at",
            "revoked_at",
        }
        assert store.get_key(key.id) == key


def test_unknown_role_rejected(store: DecisionStore) -> None:
    with pytest.raises(ValueError):
        store.create_key("superuser", "x")
    assert store.list_keys() == []
