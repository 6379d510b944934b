"""Auditing the decision log: verify it, its signed checkpoints, inclusion and consistency proofs.

Hashes travel in base64, as in the checkpoints themselves (RFC 9162's hashes, SHA-256).
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.concurrency import run_in_threadpool

from service.api import errors
from service.api.runtime import Runtime
from service.contract.errors import Refusal
from service.store.errors import BeyondLogError
from service.store.transparency import InclusionProof, StoredCheckpoint


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def verify_chain(
    runtime: Runtime, seq_from: int | None = None, seq_to: int | None = None
) -> dict[str, Any]:
    """Recomputes the log from its records: the first broken record, if any."""
    store = runtime.store
    report = await run_in_threadpool(lambda: store.verify(seq_from=seq_from, seq_to=seq_to))
    broken = None
    if not report.ok:
        broken = {
            "seq": report.first_broken_seq,
            "decision_id": report.first_broken_id,
            "reason": report.reason,
        }
    return {
        "ok": report.ok,
        "checked": report.checked,
        "first_broken": broken,
        "head_seq": report.tree_size,
        "tree_size": report.tree_size,
        "checkpoint_size": report.checkpoint_size,
    }


def _no_checkpoint() -> Refusal:
    return errors.not_found("签名检查点（日志尚无记录）", "signed checkpoint (the log is empty)")


async def latest_checkpoint(runtime: Runtime) -> StoredCheckpoint:
    """The latest signed checkpoint; 404 before the first decision."""
    latest = await run_in_threadpool(runtime.store.latest_checkpoint)
    if latest is None:
        raise _no_checkpoint()
    return latest


def checkpoint_json(checkpoint: StoredCheckpoint, origin: str) -> dict[str, Any]:
    return {
        "origin": origin,
        "tree_size": checkpoint.size,
        "root_hash": b64(checkpoint.root),
        "note": checkpoint.note,
    }


async def _signed_size(runtime: Runtime) -> int:
    latest = await run_in_threadpool(runtime.store.latest_checkpoint)
    return 0 if latest is None else latest.size


def proof_json(proof: InclusionProof) -> dict[str, Any]:
    return {
        "decision_id": proof.decision_id,
        "seq": proof.seq,
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": b64(proof.leaf_hash),
        "hashes": [b64(h) for h in proof.hashes],
    }


async def inclusion_proof(
    runtime: Runtime, decision_id: str, tree_size: int | None
) -> dict[str, Any]:
    """The decision's inclusion proof in the tree of ``tree_size`` (default: the latest
    checkpoint's, whose signed note comes with it)."""
    store = runtime.store
    try:
        proof = await run_in_threadpool(store.inclusion_proof, decision_id, tree_size)
    except LookupError:
        raise errors.not_found("该决定", "decision", "query.decision_id") from None
    except BeyondLogError:
        signed = await _signed_size(runtime)
        raise errors.beyond_log("query.tree_size", tree_size or signed, signed) from None
    body = proof_json(proof)
    latest = await run_in_threadpool(store.latest_checkpoint)
    if latest is not None and latest.size == proof.tree_size:
        body["checkpoint"] = latest.note
    return body


async def consistency_proof(runtime: Runtime, first: int, second: int | None) -> dict[str, Any]:
    """The proof that the tree of ``second`` leaves (default: the latest checkpoint's) extends
    the tree of ``first``."""
    store = runtime.store
    signed = await _signed_size(runtime)
    if second is not None and second > signed:
        raise errors.beyond_log("query.second", second, signed)
    try:
        size, hashes = await run_in_threadpool(store.consistency_proof, first, second)
    except BeyondLogError:
        raise errors.beyond_log("query.first", first, second or signed) from None
    body: dict[str, Any] = {"first": first, "second": size, "hashes": [b64(h) for h in hashes]}
    latest = await run_in_threadpool(store.latest_checkpoint)
    if latest is not None and latest.size == size:
        body["checkpoint"] = latest.note
    return body


async def decision_proof(runtime: Runtime, decision_id: str) -> dict[str, Any]:
    """A stored decision's inclusion proof against the latest checkpoint, with its note."""
    return await inclusion_proof(runtime, decision_id, None)
