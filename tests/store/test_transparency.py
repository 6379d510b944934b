"""The transparency log against an insider who can write to the database (issue 10, point 1).

Each attack is made the way an administrator would: plain SQL behind the store's back, every
plain hash, the chain head and (where said) the stored tree recomputed. What they cannot make is
a checkpoint signed with the log's key, which lives outside the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from service.store import DecisionStore, StoredDecision, upgrade
from service.store.errors import BeyondLogError, LogForkedError
from service.store.hashing import GENESIS_HASH, log_leaf_data, record_hash
from service.store.store import decision_hash_fields
from service.store.transparency import LogKey
from service.tlog import merkle
from service.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from service.tlog.note import Signer
from tests.store.conftest import sample_record_kwargs

RecordSample = Callable[..., StoredDecision]
N = 9


@pytest.fixture
def log(store: DecisionStore, record_sample: RecordSample) -> list[StoredDecision]:
    return [record_sample(i) for i in range(N)]


def sql(store: DecisionStore, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def hash_fields(decision: StoredDecision, **changes: object) -> dict[str, object]:
    fields = decision.to_dict()
    del fields["record_hash"]
    fields.update(
        created_at=decision.created_at,
        as_of=decision.as_of,
        programs_summary=text_summary(decision),
    )
    fields.update(changes)
    return fields


def text_summary(decision: StoredDecision) -> str:
    from service.canonical import canonical_json

    return canonical_json(decision.programs_summary)


def rewrite_as_insider(
    store: DecisionStore, log: list[StoredDecision], seq: int, *, rebuild_tree: bool
) -> None:
    """Change record ``seq``'s response, recompute the plain hashes of it and every later record,
    the chain head and, with ``rebuild_tree``, every stored node of the tree."""
    prev = GENESIS_HASH if seq == 1 else log[seq - 2].record_hash
    new_hashes: list[str] = [d.record_hash for d in log[: seq - 1]]
    with store.engine.begin() as conn:
        for decision in log[seq - 1 :]:
            changes: dict[str, object] = {"prev_hash": prev}
            if decision.seq == seq:
                changes["response_json"] = '{"dibao":{"status":"ineligible"}}'
            fields = hash_fields(decision, **changes)
            new = record_hash(decision_hash_fields(**fields))  # type: ignore[arg-type]
            conn.execute(
                text(
                    "UPDATE decisions SET response_json = :r, prev_hash = :p, record_hash = :h"
                    " WHERE seq = :s"
                ),
                {"r": fields["response_json"], "p": prev, "h": new, "s": decision.seq},
            )
            new_hashes.append(new)
            prev = new
        conn.execute(text("UPDATE chain_head SET record_hash = :h WHERE id = 1"), {"h": prev})
        if rebuild_tree:
            tree = merkle.MemoryTree()
            rows = []
            for h in new_hashes:
                rows += tree.append(merkle.leaf_hash(log_leaf_data(h)))
            conn.execute(text("DELETE FROM log_nodes"))
            conn.execute(
                text("INSERT INTO log_nodes (level, node_index, hash) VALUES (:l, :i, :h)"),
                [{"l": level, "i": index, "h": digest} for level, index, digest in rows],
            )


def test_every_append_is_in_a_signed_checkpoint(
    store: DecisionStore, log: list[StoredDecision], log_key: LogKey
) -> None:
    latest = store.latest_checkpoint()
    assert latest is not None and latest.size == N
    checkpoint = open_checkpoint(latest.note, log_key.verifier, origin=log_key.origin)
    leaves = [merkle.leaf_hash(log_leaf_data(d.record_hash)) for d in log]
    # The RFC 9162 root of the records' leaves, computed here without the store.
    assert checkpoint.root == merkle.root_hash(leaves) == latest.root
    assert [c.size for c in store.checkpoints()] == list(range(1, N + 1))
    report = store.verify()
    assert report.ok, report
    assert (report.checked, report.tree_size, report.checkpoint_size) == (N, N, N)


def test_record_many_is_one_checkpoint(
    store: DecisionStore, record_kwargs: Callable[..., dict[str, object]]
) -> None:
    store.record_many([record_kwargs(i) for i in range(5)])
    store.record_many([record_kwargs(i) for i in range(5, 7)])
    assert [c.size for c in store.checkpoints()] == [5, 7]
    assert store.verify().ok


def test_rewritten_record_with_recomputed_hashes_is_named(
    store: DecisionStore, log: list[StoredDecision]
) -> None:
    # The stored leaves still hold the old hashes: record 5's own leaf gives it away.
    rewrite_as_insider(store, log, 5, rebuild_tree=False)
    report = store.verify()
    assert not report.ok
    assert (report.first_broken_seq, report.first_broken_id) == (5, log[4].id)


def test_rewritten_record_with_rebuilt_tree_is_named_by_the_checkpoints(
    store: DecisionStore, log: list[StoredDecision]
) -> None:
    # Every hash the database holds is consistent again; only the signed checkpoints are not.
    rewrite_as_insider(store, log, 5, rebuild_tree=True)
    report = store.verify()
    assert not report.ok
    assert (report.first_broken_seq, report.first_broken_id) == (5, log[4].id)
    assert "signed" in (report.reason or "")


def test_deleted_last_record_is_truncation(store: DecisionStore, log: list[StoredDecision]) -> None:
    last = log[-1]
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM decisions WHERE seq = :s"), {"s": last.seq})
        conn.execute(
            text("UPDATE chain_head SET seq = :s, record_hash = :h WHERE id = 1"),
            {"s": last.seq - 1, "h": log[-2].record_hash},
        )
        # The insider also removes the leaf and the nodes it completed.
        for level, index, _ in merkle.stored_hashes_for_append(
            N - 1, b"\0" * 32, lambda _l, _i: b"\0" * 32
        ):
            conn.execute(
                text("DELETE FROM log_nodes WHERE level = :l AND node_index = :i"),
                {"l": level, "i": index},
            )
    report = store.verify()
    assert not report.ok
    assert report.first_broken_seq == N
    assert "were removed" in (report.reason or "")


def test_deleted_last_record_and_checkpoint_is_caught_by_a_kept_checkpoint(
    store: DecisionStore, log: list[StoredDecision], log_key: LogKey
) -> None:
    # An insider who also deletes the newest checkpoint rolls the log back to one the store
    # can no longer tell from the truth: the checkpoint an auditor kept can.
    kept = store.latest_checkpoint()
    assert kept is not None
    sql(store, "DELETE FROM decisions WHERE seq = :s", s=N)
    sql(store, "DELETE FROM log_checkpoints WHERE size = :s", s=N)
    latest = store.latest_checkpoint()
    assert latest is not None and latest.size == N - 1
    assert kept.size > latest.size  # the auditor's checkpoint is ahead: records were removed
    with pytest.raises(BeyondLogError):
        store.consistency_proof(latest.size, kept.size)


def test_changed_derived_program_row_is_named(
    store: DecisionStore, log: list[StoredDecision]
) -> None:
    sql(
        store,
        "UPDATE decision_programs SET status = 'ineligible'"
        " WHERE decision_seq = 4 AND program = 'dibao'",
    )
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id) == (4, log[3].id)
    assert "decision_programs (dibao)" in (report.reason or "")
    # A removed index row too (the filtered list would no longer find the decision).
    sql(store, "UPDATE decision_programs SET status = 'eligible' WHERE decision_seq = 4")
    sql(store, "DELETE FROM decision_programs WHERE decision_seq = 2 AND program = 'tekun'")
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id) == (2, log[1].id)


def test_checkpoint_signed_with_another_key_is_refused(
    store: DecisionStore, log: list[StoredDecision], log_key: LogKey
) -> None:
    # The insider rewrites record 3 (tree rebuilt) and signs the new root with a key of their
    # own, under the log's name: the store's key refuses it.
    rewrite_as_insider(store, log, 3, rebuild_tree=True)
    forger = Signer.generate(log_key.origin)
    root = store.tree_root(N)
    note = sign_checkpoint(Checkpoint(log_key.origin, N, root), forger)
    sql(
        store,
        "UPDATE log_checkpoints SET root = :r, note = :n WHERE size = :s",
        r=root,
        n=note,
        s=N,
    )
    # The genuine checkpoints before it still name the rewritten record.
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id) == (3, log[2].id)
    # Without them, the forged one is left, and the log's key refuses it.
    sql(store, "DELETE FROM log_checkpoints WHERE size < :s", s=N)
    report = store.verify()
    assert not report.ok
    assert "not signed by the log's key" in (report.reason or "")
    with pytest.raises(ValueError):
        log_key.open(note)


def test_rewrite_then_one_more_append_is_refused_and_named(
    store: DecisionStore, log: list[StoredDecision], record_sample: RecordSample, db_url: str
) -> None:
    # Every hash the database holds is consistent again; the next append would sign the
    # rewritten tree with the log's key. It is refused, and nothing is recorded.
    rewrite_as_insider(store, log, 5, rebuild_tree=True)
    with pytest.raises(LogForkedError):
        record_sample(N)
    if store.engine.dialect.name == "postgresql":
        # The service's asynchronous PostgreSQL writer runs the same plan: refused too.
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        from service.store.async_pg import AsyncAppender

        async def append() -> None:
            appender = AsyncAppender(store, db_url)
            try:
                await appender.record_many(store.prepare_batch([sample_record_kwargs(N)]))
            finally:
                await appender.aclose()

        # On a thread of its own: another test's browser session may hold this thread's loop.
        with ThreadPoolExecutor(1) as thread, pytest.raises(LogForkedError):
            thread.submit(asyncio.run, append()).result()
    assert store.head().seq == N
    latest = store.latest_checkpoint()
    assert latest is not None and latest.size == N
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id) == (5, log[4].id)
    assert "fork" in (report.reason or "")


def test_rewrite_signed_by_a_later_append_is_named_by_the_earlier_checkpoints(
    store: DecisionStore, log: list[StoredDecision], record_sample: RecordSample, log_key: LogKey
) -> None:
    # The latest checkpoint signs the rewritten tree (as the service did before it checked the
    # tree it extends): the earlier checkpoints signed the old history, and verify holds every
    # one of them, not only the latest.
    rewrite_as_insider(store, log, 5, rebuild_tree=True)
    root = store.tree_root(N)
    sql(
        store,
        "UPDATE log_checkpoints SET root = :r, note = :n WHERE size = :s",
        r=root,
        n=log_key.sign(N, root),
        s=N,
    )
    record_sample(N)  # the tree is now the one its latest checkpoint signed: appended
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id) == (5, log[4].id)
    assert "fork" in (report.reason or "")


def test_rewrite_with_later_checkpoints_deleted_is_named(
    store: DecisionStore, log: list[StoredDecision], record_sample: RecordSample
) -> None:
    # After the refused append the insider removes every checkpoint after record 4's, so that
    # none signed the old records 5 to N: the checkpoints left do not cover the rewrite.
    rewrite_as_insider(store, log, 5, rebuild_tree=True)
    with pytest.raises(LogForkedError):
        record_sample(N)
    sql(store, "DELETE FROM log_checkpoints WHERE size > 4")
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id) == (5, log[4].id)
    assert "not covered by a signed checkpoint" in (report.reason or "")
    # The key signs neither the uncovered records (as the service tries at start) nor an
    # append over them: the rewrite stays unsigned, and verify keeps naming it.
    with pytest.raises(LogForkedError, match="records 5 to 9 are not covered"):
        store.sign_checkpoint()
    with pytest.raises(LogForkedError, match="not covered"):
        record_sample(N)
    latest = store.latest_checkpoint()
    assert latest is not None and latest.size == 4
    assert store.head().seq == N
    assert store.verify().first_broken_seq == 5


def test_forged_old_checkpoint_row_is_named(
    store: DecisionStore, log: list[StoredDecision]
) -> None:
    sql(store, "UPDATE log_checkpoints SET root = :r WHERE size = 3", r=bytes(32))
    report = store.verify()
    assert not report.ok
    assert "checkpoint row of size 3 differs from its signed note" in (report.reason or "")
    # The latest checkpoint is untouched, so only a check of every one finds it.
    latest = store.latest_checkpoint()
    assert latest is not None and latest.size == N


def test_consistency_between_an_old_checkpoint_and_todays(
    store: DecisionStore, log: list[StoredDecision], record_sample: RecordSample, log_key: LogKey
) -> None:
    kept = next(c for c in store.checkpoints() if c.size == 3)  # an auditor kept this one
    for i in range(N, N + 20):
        record_sample(i)
    latest = store.latest_checkpoint()
    assert latest is not None and latest.size == N + 20
    old = open_checkpoint(kept.note, log_key.verifier)
    new = open_checkpoint(latest.note, log_key.verifier)
    second, proof = store.consistency_proof(old.size)
    assert second == new.size
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    # The same proof does not pass for another old root (a rewritten past).
    assert not merkle.verify_consistency(old.size, new.size, bytes(32), new.root, proof)


def test_inclusion_proofs_of_every_record(
    store: DecisionStore, log: list[StoredDecision], log_key: LogKey
) -> None:
    latest = store.latest_checkpoint()
    assert latest is not None
    size, root = log_key.open(latest.note)
    for decision in log:
        proof = store.inclusion_proof(decision.id)
        assert (proof.seq, proof.tree_size) == (decision.seq, size)
        leaf = merkle.leaf_hash(log_leaf_data(decision.record_hash))
        assert merkle.verify_inclusion(leaf, proof.leaf_index, size, proof.hashes, root)
    # Against an older tree too, and never beyond the signed log.
    proof = store.inclusion_proof(log[1].id, tree_size=4)
    assert merkle.verify_inclusion(proof.leaf_hash, 1, 4, proof.hashes, store.tree_root(4))
    with pytest.raises(BeyondLogError):
        store.inclusion_proof(log[5].id, tree_size=4)
    with pytest.raises(BeyondLogError):
        store.inclusion_proof(log[0].id, tree_size=N + 1)
    with pytest.raises(LookupError):
        store.inclusion_proof("0" * 32)


def test_store_without_its_key_cannot_sign(db_url: str, log: list[StoredDecision]) -> None:
    with DecisionStore(db_url) as unsigned, pytest.raises(RuntimeError):
        unsigned.sign_checkpoint()


def test_migration_keeps_existing_records_and_makes_them_leaves(
    empty_db_url: str, log_key: LogKey
) -> None:
    # A log made at revision 0002 (the hash chain only), written as the store then wrote it.
    upgrade(empty_db_url, "0002")
    engine = DecisionStore(empty_db_url).engine
    hashes: list[str] = []
    prev = GENESIS_HASH
    with engine.begin() as conn:
        kwargs = sample_record_kwargs(0)
        conn.execute(
            text(
                "INSERT INTO rule_bundles (sha256, jurisdiction, version, canonical_json,"
                " created_at) VALUES (:s, 'cn-bj', '2024.1', :j, :c)"
            ),
            {
                "s": kwargs["bundle_sha256"],
                "j": kwargs["bundle_canonical_json"],
                "c": datetime.now(UTC),
            },
        )
        for i in range(1, 12):
            kwargs = sample_record_kwargs(i)
            fields = {
                "seq": i,
                "id": f"{i:032x}",
                "created_at": datetime(2026, 1, 1, 12, 0, i, tzinfo=UTC),
                "jurisdiction": kwargs["jurisdiction"],
                "as_of": kwargs["as_of"],
                "bundle_sha256": kwargs["bundle_sha256"],
                "engine_version": kwargs["engine_version"],
                "request_json": kwargs["request_json"],
                "response_json": kwargs["response_json"],
                "actor": kwargs["actor"],
                "programs_summary": '{"dibao":"eligible","tekun":"ineligible"}',
                "prev_hash": prev,
            }
            prev = record_hash(decision_hash_fields(**fields))
            conn.execute(
                text(
                    "INSERT INTO decisions (seq, id, created_at, jurisdiction, as_of,"
                    " bundle_sha256, engine_version, request_json, response_json, actor,"
                    " programs_summary, prev_hash, record_hash) VALUES (:seq, :id, :created_at,"
                    " :jurisdiction, :as_of, :bundle_sha256, :engine_version, :request_json,"
                    " :response_json, :actor, :programs_summary, :prev_hash, :h)"
                ),
                {**fields, "h": prev},
            )
            conn.execute(
                text(
                    "INSERT INTO decision_programs (decision_seq, program, status)"
                    " VALUES (:s, 'dibao', 'eligible'), (:s, 'tekun', 'ineligible')"
                ),
                {"s": i},
            )
            hashes.append(prev)
        conn.execute(text("UPDATE chain_head SET seq = 11, record_hash = :h"), {"h": prev})
    engine.dispose()

    upgrade(empty_db_url)
    with DecisionStore(empty_db_url, signer=log_key) as store:
        with store.engine.connect() as conn:
            stored = conn.execute(text("SELECT record_hash FROM decisions ORDER BY seq")).all()
        assert [h for (h,) in stored] == hashes  # nothing already recorded changed
        root = merkle.root_hash([merkle.leaf_hash(bytes.fromhex(h)) for h in hashes])
        assert store.tree_root(11) == root
        # No checkpoint until the key signs one (the service does at start).
        assert not store.verify().ok
        signed = store.sign_checkpoint()
        assert signed is not None and (signed.size, signed.root) == (11, root)
        assert store.verify().ok
        new = store.record(**sample_record_kwargs(99))
        assert new.seq == 12 and new.prev_hash == hashes[-1]
        report = store.verify()
        assert report.ok and report.checkpoint_size == 12
        second, proof = store.consistency_proof(11)
        latest = store.latest_checkpoint()
        assert latest is not None
        assert merkle.verify_consistency(11, second, root, latest.root, proof)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # PostgreSQL refuses the value
def test_unreadable_timestamp_is_named_not_raised(
    store: DecisionStore, log: list[StoredDecision]
) -> None:
    sql(store, "UPDATE decisions SET created_at = 'garbage' WHERE seq = 3")
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id) == (3, log[2].id)
    assert "damaged" in (report.reason or "") and "created_at" in (report.reason or "")
