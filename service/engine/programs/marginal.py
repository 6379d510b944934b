"""低保边缘家庭 (marginal low-income household): rules-reference §5.

Facts read: the household after its 特困 members leave (size, countable income) and its assets;
the 低保 result. Steps: ``marginal.precondition`` (not covered by 低保),
``marginal.income_test`` (per-capita income up to the multiple of the standard, and above the
standard where the rule set asks), ``marginal.asset_test`` (低保's limits with the rule set's
overrides).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
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
    Case,
    Person,
    decided,
)
from service.engine.compiled import Rules
from service.engine.parameters import BIT
from service.engine.programs import arrays
from service.engine.programs import dibao as dibao_program

STEPS = ("marginal.precondition", "marginal.income_test", "marginal.asset_test")
# the outcome, status and reasons of each combination of the steps' outcomes, once worked out
_DECIDED: dict[tuple[str, ...], tuple[str, str, tuple[str, ...]]] = {}


class Result(TypedDict):
    """The program's result document (contract), built as it is sent."""

    status: str
    threshold: str | None
    reasons: list[str]


def decide(case: Case, dibao: dibao_program.Result, remaining: list[Person]) -> Result:
    # reported as it is, whatever rule reads it: not a parameter read of any step
    threshold_text = case.place.result_threshold_text
    values: dict[str, Any] = {"dibao_status": dibao["status"], "dibao_basis": dibao["basis"]}
    if not remaining:
        case.step("marginal.precondition", "marginal", NA, "empty", values)
        return {"status": NOT_APPLICABLE, "threshold": threshold_text, "reasons": []}
    if dibao["status"] == ELIGIBLE:
        case.step("marginal.precondition", "marginal", NA, "covered", values)
        return {"status": NOT_APPLICABLE, "threshold": threshold_text, "reasons": []}
    pre = INSUFFICIENT if dibao["status"] == INSUFFICIENT_DATA else PASS
    case.step(
        "marginal.precondition",
        "marginal",
        pre,
        "pass" if pre == PASS else "insufficient",
        values,
    )
    income = _income_test(case, remaining)
    assets = case.asset_step(
        "marginal.asset_test", "marginal", case.params.place.marginal_assets, len(remaining)
    )
    key = (pre, income, assets)
    found = _DECIDED.get(key)
    if found is None:
        found = _DECIDED[key] = decided(STEPS, key)
    _, program_status, reasons = found
    return {"status": program_status, "threshold": threshold_text, "reasons": [*reasons]}


def _income_test(case: Case, remaining: list[Person]) -> str:
    """Per-capita income up to the threshold (multiple × standard), above the standard if asked."""
    params = case.params
    income = case.income(remaining)
    per_capita = income.per_capita
    # read off the Place with their bits or-ed in, as ``Parameters`` does, without a call each
    place = params.place
    threshold = place.marginal_threshold
    standard = place.standard
    params.read |= place.standard_bit | _MULTIPLIER
    values = {
        "per_capita_income": income.per_capita_text,
        "standard": place.standard_text,
        "threshold": place.marginal_threshold_text,
        "multiplier": place.marginal_multiplier_text,
    }
    if per_capita is None or threshold is None or standard is None:
        outcome, variant = INSUFFICIENT, "insufficient"
        case.need("marginal", case.income_missing_field() if per_capita is None else "residence")
    else:
        inclusive = place.marginal_upper_inclusive
        params.read |= _UPPER_INCLUSIVE | _ABOVE_REQUIRED
        below = per_capita <= threshold if inclusive else per_capita < threshold
        above = per_capita > standard if place.marginal_above_standard_required else True
        outcome = PASS if below and above else FAIL
        if outcome == PASS:
            variant = "pass_inclusive" if inclusive else "pass"
        elif not above:
            variant = "fail_not_above"
        else:
            variant = "fail_inclusive" if inclusive else "fail"
    return case.step("marginal.income_test", "marginal", outcome, variant, values)


_MULTIPLIER = BIT["marginal.multiplier"]
_UPPER_INCLUSIVE = BIT["marginal.upper_inclusive"]
_ABOVE_REQUIRED = BIT["marginal.above_standard_required"]


# --- batch form ---------------------------------------------------------------------------------
# The same decision for a whole batch of households at once (``arrays``), without the trace: the
# caseload path's form, checked against ``decide`` household by household by the tests.

BATCH_RULES = frozenset(
    {
        "marginal_assets", "marginal_multiplier", "marginal_upper_inclusive",
        "marginal_above_standard_required",
    }
)  # fmt: skip
"""The compiled rules the batch form applies."""


@dataclass
class BatchParams:
    threshold: np.ndarray  # fen by residence: the multiple of the standard, rounded half up
    upper_inclusive: bool
    above_standard_required: bool
    assets: arrays.AssetParams | None  # None: 低保's limits


def batch_params(rules: Rules) -> BatchParams:
    standards = arrays.by_residence(rules)
    threshold = np.array(
        [
            arrays.fen(
                (rules.marginal_multiplier * standard).quantize(
                    Decimal("0.01"), rounding="ROUND_HALF_UP"
                ),
                "marginal threshold",
            )
            if standard is not None
            else 0
            for standard in standards
        ],
        dtype=np.int64,
    )
    same_limits = rules.marginal_assets is rules.dibao_assets
    return BatchParams(
        threshold=threshold,
        upper_inclusive=rules.marginal_upper_inclusive,
        above_standard_required=rules.marginal_above_standard_required,
        assets=None if same_limits else arrays.asset_params(rules.marginal_assets, standards),
    )


@dataclass
class BatchResult:
    status: np.ndarray  # by household, a status code
    assets: np.ndarray  # the asset test's outcome (刚性支出 applies the same limits)


def decide_batch(
    batch: arrays.Batch,
    params: BatchParams,
    facts: arrays.Households,
    dibao: dibao_program.BatchResult,
) -> BatchResult:
    """``decide`` for every household of ``batch``, after 低保's household test."""
    per_capita = dibao.per_capita_income
    status = np.full(facts.count, arrays.NOT_APPLICABLE, dtype=np.int8)
    consider = (dibao.remaining_count > 0) & (dibao.status != arrays.ELIGIBLE)
    precondition = np.where(
        dibao.status == arrays.INSUFFICIENT_DATA, arrays.INSUFFICIENT, arrays.PASS
    )
    threshold = params.threshold[facts.residence]
    below = per_capita <= threshold if params.upper_inclusive else per_capita < threshold
    if params.above_standard_required:
        below = below & (per_capita > facts.standard)
    income_outcome = np.where(
        ~dibao.per_capita_known | ~facts.standard_known,
        arrays.INSUFFICIENT,
        np.where(below, arrays.PASS, arrays.FAIL),
    )
    assets = (
        dibao.assets
        if params.assets is None
        else arrays.asset_outcome(
            batch, params.assets, dibao.remaining_count, facts.residence, facts.standard_known
        )
    )
    outcome = np.maximum.reduce([precondition, income_outcome, assets])
    status[consider] = arrays.STATUS_OF[outcome[consider]]
    return BatchResult(status=status, assets=assets)
