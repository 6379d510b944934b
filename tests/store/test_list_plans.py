"""list() looks for a page first in a window of positions after the cursor, then reads a date
filter by one of two plans (the as_of index when the range matches few decisions, the seq order
otherwise); every way gives the same pages, in both orders."""

from __future__ import annotations

from datetime import date

import pytest

import service.store.store as store_module
from service.store import DecisionStore, StoredDecision
from tests.store.test_list import FILTER_CASES, all_pages, population

__all__ = ["population"]  # the fixture, shared with test_list

DATED = [
    (
        {"date_from": date(2024, 2, 1), "jurisdiction": "cn-bj"},
        lambda d: d.as_of >= date(2024, 2, 1) and d.jurisdiction == "cn-bj",
    ),
    (
        {"date_to": date(2024, 4, 1), "actor": "key-1", "status": "eligible"},
        lambda d: (
            d.as_of <= date(2024, 4, 1)
            and d.actor == "key-1"
            and "eligible" in d.programs_summary.values()
        ),
    ),
    (
        {"date_from": date(2024, 3, 1), "date_to": date(2024, 3, 1), "program": "dibao"},
        lambda d: d.as_of == date(2024, 3, 1),
    ),
]


@pytest.mark.parametrize("window", [1, 4, 1_000_000])
@pytest.mark.parametrize("narrow_below", [1, 1_000_000], ids=["seq-order", "as_of-index"])
def test_every_plan_gives_the_same_pages(
    store: DecisionStore,
    population: list[StoredDecision],
    monkeypatch: pytest.MonkeyPatch,
    narrow_below: int,
    window: int,
) -> None:
    monkeypatch.setattr(store_module, "_NARROW_DATES", narrow_below)
    monkeypatch.setattr(store_module, "_WINDOW", window)
    for filters, predicate in [*FILTER_CASES, *DATED]:
        for newest_first in (True, False):
            seen, _ = all_pages(store, limit=3, newest_first=newest_first, **filters)
            expected = [d for d in population if predicate(d)]
            if newest_first:
                expected.reverse()
            assert [d.seq for d in seen] == [d.seq for d in expected], (filters, newest_first)
            assert seen == expected
