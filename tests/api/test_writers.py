"""The three group commits behind one interface, ``DecisionWriter``: each appends in order, and
runs its ``after_commit`` hooks once per committed transaction with the decisions it committed
(where a checkpoint per batch will be signed), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from service.api.writer import (
    AsyncGroupCommit,
    DecisionWriter,
    InlineGroupCommit,
    ThreadGroupCommit,
)
from service.store import DecisionStore, StoredDecision
from service.store.async_pg import AsyncAppender
from tests.store.conftest import sample_record_kwargs

# Every writer on every backend it serves: the asynchronous writer is PostgreSQL's (SQLite's
# appends never wait for a server), so it is not run on SQLite rather than skipped there.
CASES = pytest.mark.parametrize(
    ("backend", "kind"),
    [
        ("sqlite", "inline"),
        ("sqlite", "thread"),
        ("postgres", "inline"),
        ("postgres", "thread"),
        ("postgres", "async"),
    ],
    indirect=["backend"],
)


def make_writer(kind: str, store: DecisionStore, url: str, hooks: list[Any]) -> DecisionWriter:
    if kind == "async":
        return AsyncGroupCommit(store, AsyncAppender(store, url), max_batch=8, after_commit=hooks)
    writer = InlineGroupCommit if kind == "inline" else ThreadGroupCommit
    return writer(store, max_batch=8, after_commit=hooks)


def write_all(writer: DecisionWriter, items: list[dict[str, Any]]) -> list[Any]:
    async def run() -> list[Any]:
        results = await asyncio.gather(
            *(writer.write(item) for item in items), return_exceptions=True
        )
        await writer.close()
        return results

    return asyncio.run(run())


@CASES
def test_each_committed_batch_goes_to_the_hooks_once_in_chain_order(db_url: str, kind: str) -> None:
    batches: list[list[int]] = []

    def hook(decisions: Sequence[StoredDecision]) -> None:
        batches.append([d.seq for d in decisions])

    with DecisionStore(db_url) as store:
        writer = make_writer(kind, store, db_url, [hook])
        stored = write_all(writer, [sample_record_kwargs(i, actor=f"a{i}") for i in range(30)])
        assert store.verify().ok
    assert sorted(d.seq for d in stored) == list(range(1, 31))
    assert [seq for batch in batches for seq in batch] == list(range(1, 31))
    assert all(1 <= len(batch) <= 8 for batch in batches) and len(batches) >= 4


@CASES
def test_a_malformed_record_fails_alone_and_the_hooks_see_every_committed_decision(
    db_url: str, kind: str
) -> None:
    seen: list[int] = []
    with DecisionStore(db_url) as store:
        writer = make_writer(kind, store, db_url, [lambda ds: seen.extend(d.seq for d in ds)])
        items = [sample_record_kwargs(i, actor=f"a{i}") for i in range(12)]
        items[5] = {**items[5], "actor": ""}
        results = write_all(writer, items)
    assert isinstance(results[5], ValueError)
    stored = [r for i, r in enumerate(results) if i != 5]
    assert [d.actor for d in stored] == [f"a{i}" for i in range(12) if i != 5]
    assert sorted(seen) == sorted(d.seq for d in stored) == list(range(1, 12))


@CASES
def test_a_failing_hook_does_not_fail_committed_decisions(db_url: str, kind: str) -> None:
    def broken(_decisions: Sequence[StoredDecision]) -> None:
        raise RuntimeError("the signer is down")

    counted: list[int] = []
    with DecisionStore(db_url) as store:
        writer = make_writer(kind, store, db_url, [broken, lambda ds: counted.append(len(ds))])
        results = write_all(writer, [sample_record_kwargs(i) for i in range(5)])
        assert store.head().seq == 5
    assert [d.seq for d in results] == [1, 2, 3, 4, 5]
    assert sum(counted) == 5  # the hooks after a failing one still run
