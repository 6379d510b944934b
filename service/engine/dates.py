"""Calendar arithmetic used by the rules (rules-reference §11)."""

from __future__ import annotations

import calendar
from datetime import date

from service.bilingual import BilingualError
from service.contract.errors import problem
from service.contract.request import EvaluationRequest


class CalendarOverflow(BilingualError):
    """A date the rules count forward to (the next review, the first payment, the end of an
    exit period or of a validity) would fall after 9999-12-31, the last day the calendar
    arithmetic can name: the decision cannot be written, and the request is refused."""

    def __init__(self, start: date):
        self.start = start
        super().__init__(
            "日期过晚：由此推算的复核、发放或期满日期将晚于 9999年12月31日，无法计算",
            "date too late: the review, payment or end dates counted from it would fall after"
            " 9999-12-31, beyond what the calendar can name",
        )

    def problem(self, request: EvaluationRequest) -> dict[str, str]:
        """The refusal's problem, at the request's date the count started from."""
        benefit = request.household.current_benefit
        path = "as_of"
        if (
            self.start != request.as_of
            and benefit is not None
            and benefit.exit_started == self.start
        ):
            path = "household.current_benefit.exit_started"
        return problem(path, self.text.zh, self.text.en, "date_out_of_range")


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
    if not date.min.year <= year <= date.max.year:
        raise CalendarOverflow(start)
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
    if on.year == date.max.year and on.month == 12:
        raise CalendarOverflow(on)
    return date(on.year + (on.month == 12), on.month % 12 + 1, 1)
