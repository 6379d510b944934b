"""临时救助 (temporary assistance): rules-reference §8.

Facts read: the emergency (kind, cause, assessed need, whether already assisted), the household
(size; after its 特困 members leave, or everyone if all are 特困: countable income and assets),
its rigid expenditure, the current benefit; the other programs' results (a special group).
Steps: ``temporary.emergency`` (none, or no members), ``temporary.repeat_event``; for an urgent
emergency ``temporary.urgent.cause`` and ``temporary.urgent.amount`` (the need, up to the cap);
for an expenditure emergency ``temporary.expenditure.income_test``,
``temporary.expenditure.asset_test`` and ``temporary.expenditure.tier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from service.engine.case import (
    ELIGIBLE,
    FAIL,
    INSUFFICIENT,
    NA,
    NOT_APPLICABLE,
    PASS,
    Case,
    Person,
    decided,
    money,
)

URGENT_STEPS = ("temporary.repeat_event", "temporary.urgent.cause", "temporary.urgent.amount")
EXPENDITURE_STEPS = (
    "temporary.repeat_event",
    "temporary.expenditure.income_test",
    "temporary.expenditure.asset_test",
    "temporary.expenditure.tier",
)
# the outcome, status and reasons of each combination of a kind's steps' outcomes, once worked out
_DECIDED: dict[tuple[Any, ...], tuple[str, str, tuple[str, ...]]] = {}


class Result(TypedDict):
    """The program's result document (contract), built as it is sent."""

    status: str
    kind: str | None
    amount: str | None
    cap: str | None
    advance_cap: str | None
    case_by_case: bool | None
    tier: str | None
    reasons: list[str]


def _not_applicable() -> Result:
    return {
        "status": NOT_APPLICABLE,
        "kind": None,
        "amount": None,
        "cap": None,
        "advance_cap": None,
        "case_by_case": None,
        "tier": None,
        "reasons": [],
    }


@dataclass(slots=True)
class Assessment:
    """The amount part of a kind of emergency: its steps' outcomes and the figures found."""

    outcomes: list[str]
    amount: str | None = None
    cap: str | None = None
    advance_cap: str | None = None
    case_by_case: bool | None = None
    tier: str | None = None


def decide(case: Case, programs: dict[str, str], remaining: list[Person]) -> Result:
    """``programs``: the statuses of 特困, 低保 and 低保边缘 (a special group depends on them)."""
    emergency = case.emergency
    if emergency is None:
        case.step("temporary.emergency", "temporary", NA, "none", {})
        return _not_applicable()
    if not case.people:
        case.step("temporary.emergency", "temporary", NA, "no_members", {})
        return _not_applicable()
    assisted = emergency.already_assisted
    values = {"already_assisted": None if assisted is None else str(assisted).lower()}
    if assisted is None:
        repeat = case.step(
            "temporary.repeat_event", "temporary", INSUFFICIENT, "insufficient", values
        )
        case.need("temporary", "emergency.already_assisted")
    else:
        repeat = case.step(
            "temporary.repeat_event",
            "temporary",
            FAIL if assisted else PASS,
            "fail" if assisted else "pass",
            values,
        )
    if emergency.kind == "urgent":
        found = _urgent(case, repeat)
        steps = URGENT_STEPS
    else:
        found = _expenditure(case, repeat, programs, remaining)
        steps = EXPENDITURE_STEPS
    key = (steps, *found.outcomes)
    known = _DECIDED.get(key)
    if known is None:
        known = _DECIDED[key] = decided(steps, tuple(found.outcomes))
    outcome, program_status, reasons = known
    paid = outcome == PASS
    return {
        "status": program_status,
        "kind": emergency.kind,
        "amount": found.amount if paid else None,
        "cap": found.cap,
        "advance_cap": found.advance_cap,
        "case_by_case": found.case_by_case
        if paid
        else (None if outcome == INSUFFICIENT else False),
        "tier": found.tier,
        "reasons": [*reasons],
    }


def _urgent(case: Case, repeat: str) -> Assessment:
    params = case.params
    emergency = case.emergency
    cause = emergency.cause
    causes = params.urgent_causes()
    values: dict[str, Any] = {"cause": cause, "urgent_causes": sorted(causes)}
    if cause is None:
        cause_outcome, variant = INSUFFICIENT, "insufficient"
        case.need("temporary", "emergency.cause")
    elif cause in causes:
        cause_outcome, variant = PASS, "pass"
    else:
        cause_outcome, variant = FAIL, "fail"
    case.step("temporary.urgent.cause", "temporary", cause_outcome, variant, values)
    cap_rule = params.urgent_cap()
    cap: Decimal | None
    if cap_rule.fixed is not None:
        cap = cap_rule.fixed
    else:
        standard = params.standard()
        cap = (
            cap_rule.standard_multiple * standard * len(case.people)  # type: ignore[operator]
            if standard is not None
            else None
        )
    need = emergency.assessed_need
    advance_cap = params.advance_cap_text()
    cap_text = money(cap) if cap is not None else None
    values = {
        "assessed_need": money(need) if need is not None else None,
        "urgent_cap": cap_text,
        "advance_cap": advance_cap,
    }
    if need is None or cap is None:
        case.need("temporary", "emergency.assessed_need" if need is None else "residence")
        amount_outcome = case.step(
            "temporary.urgent.amount", "temporary", INSUFFICIENT, "insufficient", values
        )
        return Assessment([repeat, cause_outcome, amount_outcome], None, cap_text, advance_cap)
    case_by_case = need > cap
    amount = money(min(need, cap))
    values["amount"] = amount
    values["case_by_case"] = str(case_by_case).lower()
    amount_outcome = case.step(
        "temporary.urgent.amount",
        "temporary",
        PASS,
        "case_by_case" if case_by_case else "within_cap",
        values,
    )
    return Assessment(
        [repeat, cause_outcome, amount_outcome], amount, cap_text, advance_cap, case_by_case
    )


def _expenditure(
    case: Case, repeat: str, programs: dict[str, str], remaining: list[Person]
) -> Assessment:
    params = case.params
    people = remaining or case.people
    income = _income_test(case, people)
    assets = case.asset_step(
        "temporary.expenditure.asset_test", "temporary", params.place.dibao_assets, len(people)
    )
    group = params.special_groups()
    in_group = False
    if group is not None:
        current = case.household.current_benefit
        by_program = any(programs[p] == ELIGIBLE for p in group.programs) or (
            current is not None and current.program in group.programs
        )
        by_residence = group.residence == "any" or group.residence == case.residence
        in_group = by_program and by_residence
    if in_group and group is not None:
        tiers, cap_multiple = group.tiers, group.cap_multiple
    else:
        tiers, cap_multiple = params.expenditure_tiers(), params.expenditure_cap_multiple()
    spending = case.rigid_total("temporary")
    standard = params.standard()
    values: dict[str, Any] = {
        "rigid_expenditure_12m": money(spending) if spending is not None else None,
        "special_group": str(in_group).lower(),
        "cap_multiple": str(cap_multiple),
        "standard": params.standard_text(),
    }
    if spending is None or standard is None:
        if standard is None:
            case.need("temporary", "residence")
        tier_outcome = case.step(
            "temporary.expenditure.tier", "temporary", INSUFFICIENT, "insufficient", values
        )
        return Assessment([repeat, income, assets, tier_outcome], case_by_case=False)
    cap = cap_multiple * standard
    values["cap"] = money(cap)
    tier = next(
        (t for t in tiers if spending >= t.from_ and (t.to is None or spending < t.to)), None
    )
    if tier is None:
        values["lowest_tier_from"] = money(tiers[0].from_)
        tier_outcome = case.step(
            "temporary.expenditure.tier", "temporary", FAIL, "below_tiers", values
        )
        return Assessment(
            [repeat, income, assets, tier_outcome], cap=money(cap), case_by_case=False
        )
    amount = money(min(tier.multiple * standard, cap))
    shown = f"[{tier.from_}, {'' if tier.to is None else tier.to})"
    values.update(tier=shown, multiple=str(tier.multiple), amount=amount)
    tier_outcome = case.step("temporary.expenditure.tier", "temporary", PASS, "pass", values)
    return Assessment(
        [repeat, income, assets, tier_outcome], amount, money(cap), None, False, shown
    )


def _income_test(case: Case, people: list[Person]) -> str:
    params = case.params
    income = case.income(people)
    per_capita = income.per_capita
    line = params.disposable_income_monthly()
    values: dict[str, Any] = {
        "per_capita_income": income.per_capita_text,
        "disposable_income_monthly": params.disposable_income_monthly_text(),
    }
    if per_capita is None or line is None:
        case.need("temporary", case.income_missing_field() if per_capita is None else "residence")
        outcome, variant = INSUFFICIENT, "insufficient"
    else:
        outcome = PASS if per_capita < line else FAIL
        variant = "pass" if outcome == PASS else "fail"
    return case.step("temporary.expenditure.income_test", "temporary", outcome, variant, values)
