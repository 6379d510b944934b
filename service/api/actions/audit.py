"""Verifying the hash chain of the decision log."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from service.api.runtime import Runtime


async def verify_chain(
    runtime: Runtime, seq_from: int | None = None, seq_to: int | None = None
) -> dict[str, Any]:
    """Walks the records in order; the first broken or missing link, if any."""
    store = runtime.store
    report = await run_in_threadpool(lambda: store.verify(seq_from=seq_from, seq_to=seq_to))
    head = await run_in_threadpool(store.head)
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
        "head_seq": head.seq,
    }
