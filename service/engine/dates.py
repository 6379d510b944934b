"""Calendar arithmetic used by the rules (rules-reference §11)."""

from __future__ import annotations

import calendar
from datetime import date


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on`` (a person born on 29 February turns a year older on 1 March)."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def add_months(start: date, months: int) -> date:
    """Same day number ``months`` later, clamped to the end of a shorter month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def whole_months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (0 if ``end`` is not after ``start``)."""
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


def first_of_next_month(on: date) -> date:
    return date(on.year + (on.month == 12), on.month % 12 + 1, 1)
