"""verify(): recomputation of the hash chain and detection of tampering."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from service.store import GENESIS_HASH, DecisionStore, StoredDecision
from service.store.hashing import record_hash
from service.store.store import decision_hash_fields

RecordSample = Callable[..., StoredDecision]
N = 12


@pytest.fixture
def chain(store: DecisionStore, record_sample: RecordSample) -> list[StoredDecision]:
    return [record_sample(i) for i in range(N)]


def sql(store: DecisionStore, statement: str, **params: object) -> None:
    """Tamper with the database directly, behind the store's back."""
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_empty_chain_verifies(store: DecisionStore) -> None:
    report = store.verify()
    assert report.ok and report.checked == 0


def test_chain_verifies_after_n_records(store: DecisionStore, chain: list[StoredDecision]) -> None:
    report = store.verify()
    assert report.ok, report
    assert report.checked == N
    assert (report.first_broken_seq, report.first_broken_id, report.reason) == (None, None, None)
    assert [d.seq for d in chain] == list(range(1, N + 1))
    assert chain[0].prev_hash == GENESIS_HASH
    for prev, cur in zip(chain, chain[1:], strict=False):
        assert cur.prev_hash == prev.record_hash
    # The stored hash is the documented recipe over the stored fields.
    first = chain[0]
    fields = first.to_dict()
    del fields["record_hash"]
    fields["programs_summary"] = '{"dibao":"eligible","tekun":"ineligible"}'
    fields.update(created_at=first.created_at, as_of=first.as_of)
    assert record_hash(decision_hash_fields(**fields)) == first.record_hash


@pytest.mark.parametrize("batch_size", [1, 5, 1000])
def test_batching_does_not_change_the_result(
    store: DecisionStore, chain: list[StoredDecision], batch_size: int
) -> None:
    assert store.verify(batch_size=batch_size).checked == N
    sql(store, "UPDATE decisions SET actor = 'mallory' WHERE seq = 9")
    report = store.verify(batch_size=batch_size)
    assert (report.first_broken_seq, report.first_broken_id) == (9, chain[8].id)
    assert report.checked == 8


def test_edited_response_names_exactly_that_record(
    store: DecisionStore, chain: list[StoredDecision]
) -> None:
    sql(store, 'UPDATE decisions SET response_json = \'{"dibao":"ineligible"}\' WHERE seq = 5')
    report = store.verify()
    assert not report.ok
    assert report.first_broken_seq == 5
    assert report.first_broken_id == chain[4].id
    assert report.reason is not None and "record_hash" in report.reason
    assert report.checked == 4


@pytest.mark.parametrize(
    "assignment",
    [
        "request_json = '{}'",
        "jurisdiction = 'cn-sh'",
        "as_of = '2020-01-01'",
        "engine_version = '9.9.9'",
        'programs_summary = \'{"dibao":"ineligible"}\'',
        "bundle_sha256 = bundle_sha256",  # no-op control: must stay valid
    ],
)
def test_any_field_edit_is_detected(
    store: DecisionStore, chain: list[StoredDecision], assignment: str
) -> None:
    sql(store, f"UPDATE decisions SET {assignment} WHERE seq = 3")
    report = store.verify()
    if assignment.startswith("bundle_sha256"):
        assert report.ok
    else:
        assert (report.first_broken_seq, report.first_broken_id) == (3, chain[2].id)


def test_rehashed_edit_breaks_the_next_link(
    store: DecisionStore, chain: list[StoredDecision]
) -> None:
    # A forger who also recomputes record 5's hash no longer matches the log's leaf.
    forged = chain[4]
    fields = forged.to_dict()
    del fields["record_hash"]
    fields.update(
        response_json='{"forged":true}',
        programs_summary='{"dibao":"eligible","tekun":"ineligible"}',
        created_at=forged.created_at,
        as_of=forged.as_of,
    )
    new_hash = record_hash(decision_hash_fields(**fields))
    sql(
        store,
        "UPDATE decisions SET response_json = :r, record_hash = :h WHERE seq = 5",
        r='{"forged":true}',
        h=new_hash,
    )
    report = store.verify()
    # The log's stored leaf of record 5 is its old hash: record 5 itself is named.
    assert (report.first_broken_seq, report.first_broken_id) == (5, chain[4].id)
    assert report.reason is not None and "leaf" in report.reason


def test_deleted_row_is_a_missing_link(store: DecisionStore, chain: list[StoredDecision]) -> None:
    sql(store, "DELETE FROM decisions WHERE seq = 5")
    report = store.verify()
    assert report.first_broken_seq == 5
    assert report.first_broken_id is None
    assert report.reason is not None and "missing link" in report.reason
    assert report.checked == 4


def test_deleted_first_row_is_a_missing_link(
    store: DecisionStore, chain: list[StoredDecision]
) -> None:
    sql(store, "DELETE FROM decisions WHERE seq = 1")
    report = store.verify()
    assert report.first_broken_seq == 1 and "missing link" in (report.reason or "")


def test_truncated_tail_is_detected(store: DecisionStore, chain: list[StoredDecision]) -> None:
    sql(store, f"DELETE FROM decisions WHERE seq >= {N - 1}")
    report = store.verify()
    # The chain head is not trusted: the latest signed checkpoint says how long the log was.
    assert report.first_broken_seq == N - 1
    assert "were removed" in (report.reason or "")
    assert report.checked == N - 2


def test_row_inserted_past_the_head_is_detected(
    store: DecisionStore, chain: list[StoredDecision]
) -> None:
    last = chain[-1]
    sql(
        store,
        "INSERT INTO decisions (id, seq, created_at, jurisdiction, as_of, bundle_sha256,"
        " engine_version, request_json, response_json, actor, programs_summary, prev_hash,"
        " record_hash) SELECT :rogue_id, seq + 1, created_at, jurisdiction, as_of,"
        " bundle_sha256, engine_version, request_json, response_json, actor,"
        " programs_summary, record_hash, record_hash FROM decisions WHERE seq = :s",
        s=last.seq,
        # Not a uuid4 hex (those have the version digit 4 at index 12), so never taken.
        rogue_id="f00d" * 8,
    )
    report = store.verify()
    assert report.first_broken_seq == N + 1
    assert report.first_broken_id == "f00d" * 8


def test_range_verification(store: DecisionStore, chain: list[StoredDecision]) -> None:
    assert store.verify(seq_from=4, seq_to=8).checked == 5
    assert store.verify(seq_from=N + 5).checked == 0
    sql(store, "UPDATE decisions SET response_json = '{}' WHERE seq = 10")
    assert store.verify(seq_from=1, seq_to=9).ok
    report = store.verify(seq_from=6)
    assert (report.first_broken_seq, report.checked) == (10, 4)
    sql(store, "DELETE FROM decisions WHERE seq = 3")
    report = store.verify(seq_from=4, seq_to=6)  # its anchor (seq 3) is gone
    assert report.first_broken_seq == 3 and "missing link" in (report.reason or "")
