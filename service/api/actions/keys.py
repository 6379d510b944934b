"""API keys: create (the secret is shown once), list, revoke."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool

from service.api import errors
from service.api.runtime import Runtime
from service.contract.errors import CONTROL_CHARACTERS, Refusal, control_characters
from service.store import ApiKey

# What a key id is (``service.store.keys``): anything else names no key, and never reaches the
# database (PostgreSQL refuses a NUL in a text outright).
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def key_info(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.id,
        "name": key.name,
        "role": key.role,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


async def create_key(runtime: Runtime, role: str, name: str) -> dict[str, Any]:
    """A new key; its secret is in the answer and nowhere else (only its hash is stored)."""
    if CONTROL_CHARACTERS.search(name):
        raise Refusal(422, [control_characters("body.name")])
    store = runtime.store
    key_id, secret = await run_in_threadpool(store.create_key, role, name)
    key = await run_in_threadpool(store.get_key, key_id)
    assert key is not None  # just created
    return {**key_info(key), "key": secret}


async def list_keys(runtime: Runtime) -> list[dict[str, Any]]:
    return [key_info(k) for k in await run_in_threadpool(runtime.store.list_keys)]


async def revoke_key(runtime: Runtime, key_id: str) -> dict[str, Any]:
    """Revokes an active key. Once this answers, every worker refuses it: a worker checks the
    revocation stamp before it trusts its key cache (:mod:`service.api.auth`)."""
    if not _KEY_ID.fullmatch(key_id) or not await run_in_threadpool(runtime.store.revoke, key_id):
        raise errors.not_found("该有效密钥", "active key", "key_id")
    runtime.auth.forget(key_id)
    key = await run_in_threadpool(runtime.store.get_key, key_id)
    assert key is not None  # just revoked
    return key_info(key)
