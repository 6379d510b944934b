"""A row changed outside the store so that it no longer reads as a record: the store names it
(``DamagedRecordError`` with its seq and id) instead of failing with whatever the parser raised;
``list`` skips and reports it, ``verify`` names it. SQLite and PostgreSQL (PostgreSQL's types
refuse a garbage timestamp, so that case is SQLite's own)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from service.store import DecisionStore, StoredDecision
from service.store.errors import DamagedRecordError

TAMPERS = {
    "summary not JSON": "programs_summary = '{'",
    "summary not an object": "programs_summary = '[]'",
    "summary values not text": "programs_summary = '{\"dibao\": 1}'",
}


def _tamper(store: DecisionStore, decision_id: str, assignment: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE decisions SET {assignment} WHERE id = :id"), {"id": decision_id})


def _three(record_sample: Callable[..., StoredDecision]) -> list[StoredDecision]:
    return [record_sample(i, actor="desk") for i in range(3)]


@pytest.mark.parametrize("assignment", list(TAMPERS.values()), ids=list(TAMPERS))
def test_a_damaged_summary_is_named_by_get_and_skipped_by_list(
    store: DecisionStore, record_sample: Callable[..., StoredDecision], assignment: str
) -> None:
    first, middle, last = _three(record_sample)
    _tamper(store, middle.id, assignment)
    for read in (lambda: store.get(middle.id), lambda: store.get_by_seq(middle.seq)):
        with pytest.raises(DamagedRecordError) as caught:
            read()
        assert (caught.value.seq, caught.value.decision_id) == (2, middle.id)
        assert caught.value.field == "programs_summary"
    assert store.get(first.id) == first and store.get(last.id) == last

    damaged: list[DamagedRecordError] = []
    page, cursor = store.list(damaged=damaged)
    assert [d.id for d in page] == [last.id, first.id] and cursor is None
    assert [(e.seq, e.decision_id) for e in damaged] == [(2, middle.id)]
    # Without asking, the damaged row is skipped all the same.
    assert [d.id for d in store.list()[0]] == [last.id, first.id]


def test_a_skipped_row_still_moves_the_cursor_on(
    store: DecisionStore, record_sample: Callable[..., StoredDecision]
) -> None:
    stored = [record_sample(i) for i in range(5)]
    _tamper(store, stored[3].id, TAMPERS["summary not JSON"])  # seq 4: on the first page of 2
    damaged: list[DamagedRecordError] = []
    page, cursor = store.list(limit=2, damaged=damaged)
    assert [d.seq for d in page] == [5] and cursor is not None and len(damaged) == 1
    rest, end = store.list(limit=10, cursor=cursor)
    assert [d.seq for d in rest] == [3, 2, 1] and end is None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("column", ["created_at", "as_of"])
def test_sqlite_a_timestamp_that_does_not_parse_is_named_everywhere(
    store: DecisionStore, record_sample: Callable[..., StoredDecision], column: str
) -> None:
    first, middle, last = _three(record_sample)
    _tamper(store, middle.id, f"{column} = 'garbage'")
    with pytest.raises(DamagedRecordError) as caught:
        store.get(middle.id)
    assert (caught.value.seq, caught.value.decision_id) == (2, middle.id)
    damaged: list[DamagedRecordError] = []
    page, _ = store.list(damaged=damaged)
    assert [d.id for d in page] == [last.id, first.id]
    assert [e.decision_id for e in damaged] == [middle.id]
    # Filters that go through the damaged column still answer.
    assert [d.id for d in store.list(actor="desk", newest_first=False)[0]] == [first.id, last.id]

    report = store.verify()
    assert not report.ok
    assert (report.first_broken_seq, report.first_broken_id) == (2, middle.id)
    assert report.checked == 1 and report.reason is not None and "damaged" in report.reason
    # Small batches: the damaged row is found in its batch all the same.
    again = store.verify(batch_size=2)
    assert (again.first_broken_seq, again.first_broken_id, again.checked) == (2, middle.id, 1)


def test_verify_names_a_damaged_summary_as_an_altered_record(
    store: DecisionStore, record_sample: Callable[..., StoredDecision]
) -> None:
    _, middle, _ = _three(record_sample)
    _tamper(store, middle.id, TAMPERS["summary not JSON"])
    report = store.verify()
    assert (report.first_broken_seq, report.first_broken_id, report.checked) == (2, middle.id, 1)
    assert report.reason is not None and "altered" in report.reason
