"""``DecisionStore.record_many`` (the service's group commit), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from service.store import BundleIntegrityError, DecisionStore, canonical_json, sha256_hex
from service.store.models import RuleBundleRow
from tests.store.conftest import sample_record_kwargs


@pytest.fixture
def store(db_url: str) -> Iterator[DecisionStore]:
    with DecisionStore(db_url) as decision_store:
        yield decision_store


def test_a_batch_is_appended_in_order_with_consecutive_links(store: DecisionStore) -> None:
    store.record(**sample_record_kwargs(0))
    other_bundle = canonical_json({"jurisdiction": "cn-sh", "rules": []})
    items = [sample_record_kwargs(i, actor=f"a{i}") for i in range(1, 6)]
    items[2] = sample_record_kwargs(
        3,
        bundle_sha256=sha256_hex(other_bundle),
        bundle_canonical_json=other_bundle,
        jurisdiction="cn-sh",
    )
    stored = store.record_many(items)
    assert [d.seq for d in stored] == [2, 3, 4, 5, 6]
    assert [d.actor for d in stored][:2] == ["a1", "a2"]
    for earlier, later in zip(stored, stored[1:], strict=False):
        assert later.prev_hash == earlier.record_hash
    assert stored[0].prev_hash == store.get_by_seq(1).record_hash
    assert [store.get(d.id) for d in stored] == stored
    assert store.verify().ok and store.verify().checked == 6
    assert store.get_bundle(sha256_hex(other_bundle)) == other_bundle
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RuleBundleRow)).scalar_one() == 2
    assert store.record_many([]) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"response_json": "{not json"},
        {"bundle_sha256": "0" * 64},
        {"actor": ""},
        {"programs_summary": ["dibao"]},
    ],
)
def test_one_bad_item_leaves_nothing_of_the_batch(
    store: DecisionStore, bad: dict[str, Any]
) -> None:
    items = [sample_record_kwargs(i) for i in range(3)]
    items[1] = {**items[1], **bad}
    with pytest.raises((ValueError, TypeError, BundleIntegrityError)):
        store.record_many(items)
    assert store.head().seq == 0
    assert store.list()[0] == []


def test_the_async_postgres_writer_appends_batches_and_fails_only_a_bad_record(
    db_url: str,
) -> None:
    # The service's PostgreSQL writer: requests queued while a batch is in flight form the
    # next batch; a malformed record fails its own request; the chain stays linear.
    import asyncio

    from service.api.writer import AsyncGroupCommit
    from service.store.async_pg import AsyncAppender

    with DecisionStore(db_url) as store:
        if store.engine.dialect.name != "postgresql":
            return  # SQLite has no asynchronous writer (its appends do not wait on a server)
        batches: list[int] = []
        writer = AsyncGroupCommit(
            store,
            AsyncAppender(store, db_url),
            after_commit=[lambda decisions: batches.append(len(decisions))],
        )

        async def run() -> list[Any]:
            items = [sample_record_kwargs(i, actor=f"a{i}") for i in range(40)]
            items[7] = {**items[7], "actor": ""}
            results = await asyncio.gather(
                *(writer.write(item) for item in items), return_exceptions=True
            )
            await writer.close()
            return results

        results = asyncio.run(run())
        assert isinstance(results[7], ValueError)
        stored = [r for i, r in enumerate(results) if i != 7]
        assert [d.seq for d in stored] == list(range(1, 40))
        assert [d.actor for d in stored] == [f"a{i}" for i in range(40) if i != 7]
        assert sum(batches) == 39 and len(batches) >= 1
        report = store.verify()
        assert report.ok and report.checked == 39
        assert store.get(stored[-1].id) == stored[-1]


def test_the_async_postgres_writer_refuses_a_forged_bundle_text_for_that_request_only(
    db_url: str,
) -> None:
    import asyncio

    from service.api.writer import AsyncGroupCommit
    from service.store.async_pg import AsyncAppender

    with DecisionStore(db_url) as store:
        if store.engine.dialect.name != "postgresql":
            return  # SQLite has no asynchronous writer
        writer = AsyncGroupCommit(store, AsyncAppender(store, db_url))
        items = [sample_record_kwargs(i) for i in range(3)]
        items[1] = {**items[1], "bundle_canonical_json": items[1]["bundle_canonical_json"] + " "}

        async def run() -> list[Any]:
            results = await asyncio.gather(
                *(writer.write(item) for item in items), return_exceptions=True
            )
            await writer.close()
            return results

        first, forged, third = asyncio.run(run())
        assert isinstance(forged, BundleIntegrityError)
        assert [first.seq, third.seq] == [1, 2]
        assert store.verify().ok
