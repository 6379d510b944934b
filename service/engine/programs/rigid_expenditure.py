"""刚性支出困难家庭 (rigid-expenditure hardship household): rules-reference §9.

Facts read: the household after its 特困 members leave (countable income), its assets and its
rigid expenditure over 12 months; the 低保 and 低保边缘 results. Steps:
``rigid_expenditure.in_force`` (only where the rule set has the program),
``rigid_expenditure.precondition`` (covered by neither), ``rigid_expenditure.income_test``
(below last year's disposable income), ``rigid_expenditure.asset_test`` (低保边缘's limits),
``rigid_expenditure.share_test`` (expenditure over the year's income).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, TypedDict

import numpy as np

from service.engine.case import (
    ELIGIBLE,
    FAIL,
    INSUFFICIENT,
    INSUFFICIENT_DATA,
    NA,
    NOT_APPLICABLE,
    PASS,
    VARIANT_OF_OUTCOME,
    Case,
    Income,
    Person,
    decided,
    int_text,
    iso,
    money,
)
from service.engine.compiled import Rules
from service.engine.dates import add_months
from service.engine.parameters import BIT
from service.engine.programs import arrays
from service.engine.programs import dibao as dibao_program
from service.engine.programs import marginal as marginal_program

SHARE_PLACES = Decimal("0.0001")  # a share is shown to four places
STEPS = (
    "rigid_expenditure.precondition",
    "rigid_expenditure.income_test",
    "rigid_expenditure.asset_test",
    "rigid_expenditure.share_test",
)
# the outcome, status and reasons of each combination of the steps' outcomes, once worked out
_DECIDED: dict[tuple[str, ...], tuple[str, str, tuple[str, ...]]] = {}


class Result(TypedDict):
    """The program's result document (contract), built as it is sent."""

    status: str
    share: str | None
    valid_until: str | None  # ISO date
    reasons: list[str]


def _not_applicable() -> Result:
    return {"status": NOT_APPLICABLE, "share": None, "valid_until": None, "reasons": []}


def decide(case: Case, dibao: str, marginal: str, remaining: list[Person]) -> Result:
    """``dibao`` and ``marginal``: those programs' statuses."""
    params = case.params
    params.read |= _IN_FORCE  # read off the Place, as ``Parameters`` does, without a call
    if not params.place.rigid_in_force:
        case.step(
            "rigid_expenditure.in_force",
            "rigid_expenditure",
            NA,
            "not_in_force",
            {"as_of": iso(case.as_of)},
        )
        return _not_applicable()
    values: dict[str, Any] = {
        "dibao_status": dibao,
        "marginal_status": marginal,
        "household_size": int_text(len(remaining)),
    }
    if not remaining or dibao == ELIGIBLE or marginal == ELIGIBLE:
        case.step("rigid_expenditure.precondition", "rigid_expenditure", NA, "covered", values)
        return _not_applicable()
    pre = INSUFFICIENT if INSUFFICIENT_DATA in (dibao, marginal) else PASS
    case.step(
        "rigid_expenditure.precondition",
        "rigid_expenditure",
        pre,
        "pass" if pre == PASS else "insufficient",
        values,
    )
    income = case.income(remaining)
    outcomes = [pre, _income_test(case, income)]
    outcomes.append(
        case.asset_step(
            "rigid_expenditure.asset_test",
            "rigid_expenditure",
            params.place.marginal_assets,
            len(remaining),
        )
    )
    return _share_test(case, income, outcomes)


def _income_test(case: Case, income: Income) -> str:
    """Per-capita income below a month of last year's per-capita disposable income."""
    params = case.params
    line = params.disposable_income_monthly()
    values = {
        "per_capita_income": income.per_capita_text,
        "disposable_income_monthly": params.disposable_income_monthly_text(),
        "disposable_income_annual": params.disposable_income_annual_text(),
    }
    if income.per_capita is None or line is None:
        outcome = INSUFFICIENT
        case.need(
            "rigid_expenditure",
            case.income_missing_field() if income.per_capita is None else "residence",
        )
    else:
        outcome = PASS if income.per_capita < line else FAIL
    return case.step(
        "rigid_expenditure.income_test",
        "rigid_expenditure",
        outcome,
        VARIANT_OF_OUTCOME[outcome],
        values,
    )


def _share_test(case: Case, income: Income, outcomes: list[str]) -> Result:
    """The year's rigid expenditure over the year's income, against the rule set's share; the
    program's result (the validity of a recognition is read before the last step is written)."""
    params = case.params
    spending = case.rigid_total("rigid_expenditure")
    total = income.total
    values: dict[str, Any] = {
        "rigid_expenditure_12m": money(spending) if spending is not None else None,
        "income_12m": money(total * 12) if total is not None else None,
        "share_threshold": params.rigid_share_threshold_text(),
    }
    shown = None
    if spending is None or total is None:
        if total is None:
            case.need("rigid_expenditure", case.income_missing_field())
        share_outcome, variant = INSUFFICIENT, "insufficient"
    elif total == 0:
        share_outcome = PASS if spending > 0 else FAIL
        values["share"] = None
        variant = "no_income_pass" if share_outcome == PASS else "no_income_fail"
    else:
        share = spending / (total * 12)
        shown = str(share.quantize(SHARE_PLACES, ROUND_HALF_UP))
        values["share"] = shown
        threshold = params.rigid_share_threshold()
        inclusive = params.rigid_threshold_inclusive()
        over = share >= threshold if inclusive else share > threshold
        share_outcome = PASS if over else FAIL
        variant = (
            ("pass_inclusive" if inclusive else "pass")
            if over
            else ("fail_inclusive" if inclusive else "fail")
        )
    outcomes.append(share_outcome)
    key = tuple(outcomes)
    found = _DECIDED.get(key)
    if found is None:
        found = _DECIDED[key] = decided(STEPS, key)
    outcome, program_status, reasons = found
    valid_until = None
    if outcome == PASS:
        valid_until = add_months(case.as_of, params.rigid_validity_months())
    case.step("rigid_expenditure.share_test", "rigid_expenditure", share_outcome, variant, values)
    return {
        "status": program_status,
        "share": shown,
        "valid_until": iso(valid_until) if valid_until else None,
        "reasons": [*reasons],
    }


_IN_FORCE = BIT["rigid_expenditure.in_force"]


# --- batch form ---------------------------------------------------------------------------------
# The same decision for a whole batch of households at once (``arrays``), without the trace: the
# caseload path's form, checked against ``decide`` household by household by the tests.

BATCH_RULES = frozenset(
    {
        "rigid_in_force", "disposable_income_monthly", "rigid_share_threshold",
        "rigid_threshold_inclusive",
        # shown in the trace, or when the next review is due: not part of the batch's decision
        "disposable_income_annual", "rigid_validity_months",
    }
)  # fmt: skip
"""The compiled rules the batch form applies (or knows change none of its decisions)."""


@dataclass
class BatchParams:
    in_force: bool
    line: np.ndarray  # last year's monthly disposable income, fen by residence
    line_known: np.ndarray
    share: tuple[int, int]  # the threshold as numerator, denominator
    threshold_inclusive: bool


def disposable_income(rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """Last year's monthly disposable income (fen) by residence code, and where it is known."""
    lines = [
        None,
        rules.disposable_income_monthly["urban"],
        rules.disposable_income_monthly["rural"],
    ]
    return (
        np.array(
            [arrays.fen(line, "disposable income") if line is not None else 0 for line in lines],
            np.int64,
        ),
        np.array([line is not None for line in lines]),
    )


def batch_params(rules: Rules) -> BatchParams:
    line, line_known = disposable_income(rules)
    threshold = Fraction(rules.rigid_share_threshold)
    if threshold.denominator > 10**6 or threshold.numerator > 10**6:
        raise arrays.NotExact("rigid share threshold")
    return BatchParams(
        in_force=rules.rigid_in_force,
        line=line,
        line_known=line_known,
        share=(threshold.numerator, threshold.denominator),
        threshold_inclusive=rules.rigid_threshold_inclusive,
    )


@dataclass
class BatchResult:
    status: np.ndarray  # by household, a status code


def decide_batch(
    batch: arrays.Batch,
    params: BatchParams,
    facts: arrays.Households,
    dibao: dibao_program.BatchResult,
    marginal: marginal_program.BatchResult,
) -> BatchResult:
    """``decide`` for every household of ``batch``, after 低保 and 低保边缘."""
    status = np.full(facts.count, arrays.NOT_APPLICABLE, dtype=np.int8)
    if not params.in_force:
        return BatchResult(status=status)
    per_capita_known = dibao.per_capita_known
    consider = (
        (dibao.remaining_count > 0)
        & (dibao.status != arrays.ELIGIBLE)
        & (marginal.status != arrays.ELIGIBLE)
    )
    precondition = np.where(
        (dibao.status == arrays.INSUFFICIENT_DATA) | (marginal.status == arrays.INSUFFICIENT_DATA),
        arrays.INSUFFICIENT,
        arrays.PASS,
    )
    line = params.line[facts.residence]
    income_outcome = np.where(
        ~per_capita_known | ~params.line_known[facts.residence],
        arrays.INSUFFICIENT,
        np.where(dibao.per_capita_income < line, arrays.PASS, arrays.FAIL),
    )
    numerator, denominator = params.share
    spending = batch.rigid_total
    total = dibao.total
    if params.threshold_inclusive:
        over = spending * denominator >= 12 * total * numerator
    else:
        over = spending * denominator > 12 * total * numerator
    share_outcome = np.where(
        ~batch.rigid_known | ~per_capita_known,
        arrays.INSUFFICIENT,
        np.where(
            total == 0,
            np.where(spending > 0, arrays.PASS, arrays.FAIL),
            np.where(over, arrays.PASS, arrays.FAIL),
        ),
    )
    outcome = np.maximum.reduce([precondition, income_outcome, marginal.assets, share_outcome])
    status[consider] = arrays.STATUS_OF[outcome[consider]]
    return BatchResult(status=status)
