"""Replaying a stored decision: under its own bundle (it must come out identical), or under other
rules (what would change), compared field by field with the stored response."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import orjson
from starlette.concurrency import run_in_threadpool

from service.api import errors
from service.api.actions.decisions import load_decision, stored_documents
from service.api.actions.rulesets import bundle_ref, resolve
from service.api.auth import Principal
from service.api.runtime import Runtime
from service.engine import Bundle, RequestRejected, RuleSetError, diff_bundles, evaluate
from service.store import BundleIntegrityError, StoredDecision

_MISSING = None  # a field present on one side only is reported against null

IGNORED = frozenset({"decision_id"})
# What a newer engine may say differently about the same decision: the wording of its trace and
# its own version. A replay that differs only there decided the same (``decision_identical``).
WORDING = frozenset({"message_zh", "message_en", "engine_version"})


def diff_documents(stored: Any, replayed: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs, as ``{path, stored, replayed}`` (paths like ``trace[3].outcome``)."""
    out: list[dict[str, Any]] = []
    _walk(stored, replayed, path, out)
    return out


def decision_changes(diff: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of ``diff`` that are not wording: statuses, amounts, steps, values."""
    return [entry for entry in diff if entry["path"].rpartition(".")[2] not in WORDING]


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if not path and key in IGNORED:
                continue
            child = f"{path}.{key}" if path else str(key)
            _walk(a.get(key, _MISSING), b.get(key, _MISSING), child, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            _walk(
                a[index] if index < len(a) else _MISSING,
                b[index] if index < len(b) else _MISSING,
                f"{path}[{index}]",
                out,
            )
        return
    if a != b or type(a) is not type(b):
        out.append({"path": path, "stored": a, "replayed": b})


async def replay_decision(
    runtime: Runtime,
    principal: Principal,
    decision_id: str,
    rules: Literal["stored", "current"] = "stored",
    as_of: date | None = None,
    *,
    with_response: bool = False,
) -> dict[str, Any]:
    """The replay report: the stored bundle, or the rules in force today (``rules="current"``)
    or on ``as_of``; ``identical``, ``decision_identical`` and the differences. With
    ``with_response``, the replayed response too (``replayed``: the console shows it beside the
    stored one)."""
    if as_of is not None and rules == "current":
        raise errors.conflicting_rules_choice()
    decision = await load_decision(runtime, principal, decision_id)
    stored_request, stored_response = stored_documents(decision)
    stored_bundle = await _stored_bundle(runtime, decision)
    try:
        parsed = runtime.decider.parse(stored_request["request"])
    except (RequestRejected, ValueError, KeyError):
        raise errors.record_not_replayable(decision.seq, decision.id) from None
    mode, target = "stored", stored_bundle
    if rules == "current" or as_of is not None:
        mode = "current" if as_of is None else "as_of"
        on = as_of or date.today()
        target = resolve(runtime, decision.jurisdiction, on, "query.as_of", unknown_status=409)
    replayed = orjson.loads(orjson.dumps(evaluate(parsed, target)))
    diff = diff_documents(stored_response, replayed)
    report = {
        "decision_id": decision.id,
        "rules": mode,
        "stored_bundle": bundle_ref(stored_bundle),
        "bundle": bundle_ref(target),
        "identical": not diff,
        "decision_identical": not decision_changes(diff),
        "diff": diff,
        "rule_changes": diff_bundles(stored_bundle, target) if mode != "stored" else [],
    }
    if with_response:
        report["replayed"] = replayed
    return report


async def _stored_bundle(runtime: Runtime, decision: StoredDecision) -> Bundle:
    """The bundle recorded with a decision, by its hash; 409 if missing, altered or unreadable."""
    try:
        text = await run_in_threadpool(runtime.store.get_bundle, decision.bundle_sha256)
    except BundleIntegrityError:
        text = None
    if text is None:
        raise errors.bundle_altered()
    try:
        return Bundle.from_canonical(text)
    except (RuleSetError, ValueError, KeyError):
        raise errors.record_not_replayable(decision.seq, decision.id) from None
