"""Recording and reading decisions and rule bundles."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from service.store import (
    GENESIS_HASH,
    BundleIntegrityError,
    DecisionStore,
    StoredDecision,
    canonical_json,
    sha256_hex,
)
from service.store.models import DecisionProgramRow, DecisionRow, RuleBundleRow

RecordSample = Callable[..., StoredDecision]


def count(store: DecisionStore, model: type) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_record_get_round_trip(
    store: DecisionStore, record_kwargs: Callable[..., dict[str, Any]]
) -> None:
    kwargs = record_kwargs(7, programs_summary={"dibao": "eligible", "linshi": "needs_review"})
    before = datetime.now(UTC)
    stored = store.record(**kwargs)

    assert stored.seq == 1
    assert stored.prev_hash == GENESIS_HASH
    assert len(stored.id) == 32 and int(stored.id, 16) >= 0
    assert before <= stored.created_at <= datetime.now(UTC)
    assert stored.created_at.tzinfo is not None
    for field in (
        "jurisdiction",
        "as_of",
        "bundle_sha256",
        "engine_version",
        "request_json",
        "response_json",
        "actor",
        "programs_summary",
    ):
        assert getattr(stored, field) == kwargs[field], field

    fetched = store.get(stored.id)
    assert fetched == stored  # every field, including hashes and the timestamp
    assert store.get_by_seq(1) == stored
    assert store.get("0" * 32) is None

    second = store.record(**record_kwargs(8))
    assert second.seq == 2 and second.prev_hash == stored.record_hash
    assert store.head().seq == 2 and store.head().record_hash == second.record_hash


def test_unicode_and_timestamps_survive_storage(
    store: DecisionStore, record_kwargs: Callable[..., dict[str, Any]]
) -> None:
    request = canonical_json({"name": "张三", "emoji": "👪", "quote": '"\\'})
    stored = store.record(**record_kwargs(request_json=request, as_of=date(2023, 12, 31)))
    fetched = store.get(stored.id)
    assert fetched is not None
    assert fetched.request_json == request
    assert fetched.as_of == date(2023, 12, 31)
    assert fetched.created_at == stored.created_at
    assert store.verify().ok


def test_bundle_is_stored_once_and_fetched(
    store: DecisionStore, record_sample: RecordSample, sample_bundle: tuple[str, str]
) -> None:
    sha, bundle = sample_bundle
    assert store.get_bundle(sha) is None
    for i in range(3):
        record_sample(i)
    store.put_bundle(sha, "cn-bj", "2024.1", bundle)  # already there: no-op
    assert count(store, RuleBundleRow) == 1
    assert store.get_bundle(sha) == bundle

    other = canonical_json({"rules": ["other"]})
    other_sha = sha256_hex(other)
    store.put_bundle(other_sha, "cn-sh", "v2", other)
    store.put_bundle(other_sha, "cn-sh", "v2", other)
    assert count(store, RuleBundleRow) == 2
    assert store.get_bundle(other_sha) == other


def test_bundle_hash_mismatch_rejected(
    store: DecisionStore,
    record_kwargs: Callable[..., dict[str, Any]],
    sample_bundle: tuple[str, str],
) -> None:
    sha, bundle = sample_bundle
    with pytest.raises(BundleIntegrityError):
        store.put_bundle(sha, "cn-bj", "2024.1", bundle + " ")
    with pytest.raises(BundleIntegrityError):
        store.put_bundle("not-a-hash", "cn-bj", "2024.1", bundle)
    with pytest.raises(BundleIntegrityError):
        store.record(**record_kwargs(bundle_canonical_json=bundle.replace("1320", "9999")))
    # Nothing was written by the rejected calls.
    assert count(store, RuleBundleRow) == 0
    assert count(store, DecisionRow) == 0
    assert store.head().seq == 0


def test_tampered_bundle_detected_on_read(
    store: DecisionStore, record_sample: RecordSample, sample_bundle: tuple[str, str]
) -> None:
    sha, bundle = sample_bundle
    record_sample()
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE rule_bundles SET canonical_json = :t WHERE sha256 = :s"),
            {"t": bundle.replace("1320", "9999"), "s": sha},
        )
    with pytest.raises(BundleIntegrityError):
        store.get_bundle(sha)


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"as_of": datetime(2024, 1, 1, tzinfo=UTC)}, TypeError),
        ({"as_of": "2024-01-01"}, TypeError),
        ({"request_json": "{not json"}, ValueError),
        ({"response_json": {"a": 1}}, TypeError),
        ({"actor": ""}, ValueError),
        ({"jurisdiction": "x" * 101}, ValueError),
        ({"programs_summary": {"dibao": ""}}, ValueError),
        ({"programs_summary": ["dibao"]}, TypeError),
    ],
)
def test_invalid_input_rejected_before_writing(
    store: DecisionStore,
    record_kwargs: Callable[..., dict[str, Any]],
    override: dict[str, Any],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        store.record(**record_kwargs(**override))
    assert count(store, DecisionRow) == 0


def _install_failing_trigger(store: DecisionStore) -> None:
    """Make the database itself reject decision_programs inserts (fault injection, no mocks)."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON decision_programs "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON decision_programs "
                "FOR EACH ROW EXECUTE FUNCTION boom()"
            )


def test_failed_record_leaves_nothing_behind(
    store: DecisionStore, record_sample: RecordSample, sample_bundle: tuple[str, str]
) -> None:
    first = record_sample(0)
    new_bundle = canonical_json({"rules": ["only-in-the-failed-call"]})
    _install_failing_trigger(store)
    with pytest.raises(Exception, match="injected failure"):
        record_sample(1, bundle_sha256=sha256_hex(new_bundle), bundle_canonical_json=new_bundle)
    # Neither the decision, its program rows, the new bundle nor a head move survived.
    assert count(store, DecisionRow) == 1
    assert count(store, DecisionProgramRow) == 2
    assert store.get_bundle(sha256_hex(new_bundle)) is None
    assert store.head().seq == 1 and store.head().record_hash == first.record_hash
    assert store.verify().ok


def test_programs_summary_is_stored_as_canonical_json(
    store: DecisionStore, record_sample: RecordSample
) -> None:
    stored = record_sample(programs_summary={"tekun": "ineligible", "dibao": "eligible"})
    with store.engine.connect() as conn:
        raw = conn.execute(
            select(DecisionRow.programs_summary).where(DecisionRow.id == stored.id)
        ).scalar_one()
    assert raw == '{"dibao":"eligible","tekun":"ineligible"}'
    assert json.loads(raw) == stored.programs_summary


def test_ping(store: DecisionStore) -> None:
    assert store.ping() is True
    # An unreachable server is "not reachable", not an exception.
    with DecisionStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1") as down:
        assert down.ping() is False


def test_concurrent_first_use_of_a_bundle_is_race_safe(store: DecisionStore) -> None:
    bundle = canonical_json({"rules": ["raced"]})
    sha = sha256_hex(bundle)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def put() -> None:
        try:
            barrier.wait()
            store.put_bundle(sha, "cn-bj", "v1", bundle)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(store, RuleBundleRow) == 1
    assert store.get_bundle(sha) == bundle
