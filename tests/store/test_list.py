"""list(): keyset pagination and filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from service.store import MAX_LIST_LIMIT, DecisionStore, InvalidCursorError, StoredDecision

RecordSample = Callable[..., StoredDecision]
PROGRAMS = ["eligible", "ineligible", "needs_review"]


@pytest.fixture
def population(store: DecisionStore, record_sample: RecordSample) -> list[StoredDecision]:
    """30 decisions varying jurisdiction, as_of, actor and program outcomes."""
    out = []
    for i in range(30):
        out.append(
            record_sample(
                i,
                jurisdiction="cn-bj" if i % 3 else "cn-sh",
                as_of=date(2024, 1 + i % 6, 1),
                actor=f"key-{i % 2}",
                programs_summary={"dibao": PROGRAMS[i % 3], "tekun": PROGRAMS[(i + 1) % 3]},
            )
        )
    return out


def all_pages(store: DecisionStore, **kwargs: object) -> tuple[list[StoredDecision], int]:
    seen: list[StoredDecision] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = store.list(cursor=cursor, **kwargs)  # type: ignore[arg-type]
        pages += 1
        seen.extend(page)
        if cursor is None:
            return seen, pages
        assert pages < 100, "pagination does not terminate"


def test_every_record_exactly_once(store: DecisionStore, population: list[StoredDecision]) -> None:
    # One population, every page size and order (cheaper than one fixture per case).
    for newest_first in (True, False):
        for limit in (1, 7, 30, 31, MAX_LIST_LIMIT):
            case = f"limit={limit} newest_first={newest_first}"
            seen, pages = all_pages(store, limit=limit, newest_first=newest_first)
            expected = [d.seq for d in population]
            if newest_first:
                expected.reverse()
            assert [d.seq for d in seen] == expected, case
            # Full pages and no empty trailing page.
            assert pages == max(1, -(-len(population) // limit)), case
            assert seen == (population[::-1] if newest_first else population), case


def test_pages_are_full_except_the_last(
    store: DecisionStore, population: list[StoredDecision]
) -> None:
    page, cursor = store.list(limit=8, program="dibao", status="eligible")
    assert len(page) == 8 and cursor is not None
    page2, cursor2 = store.list(limit=8, program="dibao", status="eligible", cursor=cursor)
    assert len(page2) == 2 and cursor2 is None


def test_empty_store(store: DecisionStore) -> None:
    assert store.list() == ([], None)


def _seqs(items: list[StoredDecision]) -> list[int]:
    return sorted(d.seq for d in items)


FILTER_CASES: list[tuple[dict[str, Any], Callable[[StoredDecision], bool]]] = [
    ({"jurisdiction": "cn-sh"}, lambda d: d.jurisdiction == "cn-sh"),
    ({"actor": "key-1"}, lambda d: d.actor == "key-1"),
    ({"date_from": date(2024, 3, 1)}, lambda d: d.as_of >= date(2024, 3, 1)),
    ({"date_to": date(2024, 2, 1)}, lambda d: d.as_of <= date(2024, 2, 1)),
    (
        {"date_from": date(2024, 2, 1), "date_to": date(2024, 4, 1)},
        lambda d: date(2024, 2, 1) <= d.as_of <= date(2024, 4, 1),
    ),
    ({"program": "tekun"}, lambda d: "tekun" in d.programs_summary),
    ({"program": "linshi"}, lambda d: False),
    (
        {"program": "dibao", "status": "needs_review"},
        lambda d: d.programs_summary["dibao"] == "needs_review",
    ),
    ({"status": "ineligible"}, lambda d: "ineligible" in d.programs_summary.values()),
    (
        {"jurisdiction": "cn-bj", "actor": "key-0", "program": "tekun", "status": "eligible"},
        lambda d: (
            d.jurisdiction == "cn-bj"
            and d.actor == "key-0"
            and d.programs_summary["tekun"] == "eligible"
        ),
    ),
]


def test_filters(store: DecisionStore, population: list[StoredDecision]) -> None:
    for filters, predicate in FILTER_CASES:
        seen, _ = all_pages(store, limit=4, **filters)
        expected = [d for d in population if predicate(d)]
        assert _seqs(seen) == _seqs(expected), filters
        assert all(predicate(d) for d in seen), filters


def test_bad_cursor_and_limit(store: DecisionStore, population: list[StoredDecision]) -> None:
    _, cursor = store.list(limit=5)
    assert cursor is not None
    with pytest.raises(InvalidCursorError):
        store.list(cursor=cursor, newest_first=False)  # cursor of the other order
    for junk in ["", "!!!", "bm9wZQ", "YzE6ZDotMQ"]:  # ..., "nope", "c1:d:-1"
        with pytest.raises(InvalidCursorError):
            store.list(cursor=junk)
    for limit in [0, -1, MAX_LIST_LIMIT + 1]:
        with pytest.raises(ValueError):
            store.list(limit=limit)
