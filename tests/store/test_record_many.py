"""record_many(): several decisions appended in one transaction (group commit)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from service.store import BundleIntegrityError, DecisionStore, canonical_json, sha256_hex
from service.store.models import DecisionRow, RuleBundleRow

RecordKwargs = Callable[..., dict[str, Any]]


def count(store: DecisionStore, model: type) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_batch_gets_consecutive_linked_positions(
    store: DecisionStore, record_kwargs: RecordKwargs
) -> None:
    first = store.record(**record_kwargs(0))
    batch = store.record_many([record_kwargs(i) for i in range(1, 6)])
    assert [d.seq for d in batch] == [2, 3, 4, 5, 6]
    assert batch[0].prev_hash == first.record_hash
    for prev, cur in zip(batch, batch[1:], strict=False):
        assert cur.prev_hash == prev.record_hash
    for stored in batch:
        assert store.get(stored.id) == stored  # returned == written
    assert [d.request_json for d in batch] == [
        record_kwargs(i)["request_json"] for i in range(1, 6)
    ]
    assert store.head().record_hash == batch[-1].record_hash
    report = store.verify()
    assert report.ok and report.checked == 6


def test_empty_batch_writes_nothing(store: DecisionStore) -> None:
    assert store.record_many([]) == []
    assert store.head().seq == 0


def test_one_bad_item_rejects_the_whole_batch(
    store: DecisionStore, record_kwargs: RecordKwargs
) -> None:
    items = [record_kwargs(i) for i in range(4)]
    items[2]["response_json"] = "{broken"
    with pytest.raises(ValueError):
        store.record_many(items)
    items[2] = record_kwargs(2, bundle_canonical_json=items[2]["bundle_canonical_json"] + " ")
    with pytest.raises(BundleIntegrityError):
        store.record_many(items)
    assert count(store, DecisionRow) == 0 and count(store, RuleBundleRow) == 0


def test_batch_with_several_bundles_stores_each_once(
    store: DecisionStore, record_kwargs: RecordKwargs
) -> None:
    other = canonical_json({"rules": ["cn-sh"]})
    items = [
        record_kwargs(i)
        if i % 2
        else record_kwargs(i, bundle_sha256=sha256_hex(other), bundle_canonical_json=other)
        for i in range(6)
    ]
    store.record_many(items)
    store.record_many(items)
    assert count(store, RuleBundleRow) == 2
    assert store.get_bundle(sha256_hex(other)) == other
    assert store.verify().checked == 12


def test_batches_and_single_records_interleave_without_forking(
    store: DecisionStore, record_kwargs: RecordKwargs
) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def batcher(t: int) -> None:
        try:
            barrier.wait()
            for b in range(10):
                store.record_many([record_kwargs(t * 1000 + b * 10 + i) for i in range(10)])
        except BaseException as exc:
            errors.append(exc)

    def single(t: int) -> None:
        try:
            barrier.wait()
            for i in range(50):
                store.record(**record_kwargs(t * 1000 + i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=f, args=(t,)) for t, f in enumerate([batcher, single] * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.engine.connect() as conn:
        seqs = conn.execute(select(DecisionRow.seq).order_by(DecisionRow.seq)).scalars().all()
    assert seqs == list(range(1, 301))
    report = store.verify()
    assert report.ok and report.checked == 300


def test_batch_rows_read_back_as_an_orm_insert_stores_them(
    store: DecisionStore, record_kwargs: RecordKwargs
) -> None:
    # The batch insert bypasses the ORM; what it stores must be indistinguishable from an
    # ORM-written row (an API key's timestamp here), or later reads and replays would differ.
    store.create_key("auditor", "compare")
    stored = store.record_many([record_kwargs(i) for i in range(3)])
    with store.engine.connect() as conn:
        raw = conn.exec_driver_sql(
            "SELECT d.created_at, d.as_of, k.created_at FROM decisions d, api_keys k"
        ).all()
        rows = conn.execute(
            select(DecisionRow.id, DecisionRow.created_at).order_by(DecisionRow.seq)
        ).all()
    for decision_ts, as_of, key_ts in raw:
        assert type(decision_ts) is type(key_ts)
        if isinstance(decision_ts, str):  # SQLite keeps text: the same shape as the ORM's
            assert len(decision_ts) == len(key_ts) and decision_ts[10] == key_ts[10]
        assert str(as_of) == stored[0].as_of.isoformat()
    assert [r.id for r in rows] == [d.id for d in stored]
    assert [r.created_at.replace(tzinfo=None) for r in rows] == [
        d.created_at.replace(tzinfo=None) for d in stored
    ]


def test_a_writer_waits_for_the_chain_lock_a_bounded_time(store: DecisionStore) -> None:
    # A writer stuck behind a dead lock holder must fail (and be retried or answered 503),
    # not hang: 30 s on both backends.
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "30s"
        else:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
