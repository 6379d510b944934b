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

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypedDict

import numpy as np

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
from service.engine.compiled import Rules
from service.engine.programs import arrays, rigid_expenditure
from service.engine.programs import dibao as dibao_program
from service.engine.programs import marginal as marginal_program
from service.engine.programs import tekun as tekun_program

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


# --- batch form ---------------------------------------------------------------------------------
# The same decision for a whole batch of households at once (``arrays``), without the trace: the
# caseload path's form, checked against ``decide`` household by household by the tests.

BATCH_RULES = frozenset(
    {
        "urgent_causes", "urgent_cap", "expenditure_tiers", "expenditure_cap_multiple",
        "special_groups", "disposable_income_monthly",
        # the advance a street office may pay: not part of the decision
        "advance_cap",
    }
)  # fmt: skip
"""The compiled rules the batch form applies (or knows change none of its decisions)."""
BATCH_FIELDS = {
    "Cap": {"fixed", "standard_multiple"},
    "Tier": {"from_", "to", "multiple"},
    "SpecialGroups": {"residence", "programs", "cap_multiple", "tiers"},
}  # fmt: skip
"""The fields of the structured rules above that the batch form applies."""

_NO_END = 2**62  # fen: a tier without an upper end


@dataclass
class Tiers:
    """An expenditure tier table: a tier holds spending in [starts, ends) (fen)."""

    starts: np.ndarray
    ends: np.ndarray  # spending < to  ⇔  spending < ceil(to × 100) for whole fen
    amounts: np.ndarray  # fen by (residence code, tier): the tier's multiple, up to the cap


@dataclass
class BatchParams:
    urgent_cause_ok: np.ndarray  # by cause code
    urgent_fixed: int | None  # fen
    urgent_multiple: tuple[np.ndarray, int] | None  # multiple × standard = values / scale fen
    line: np.ndarray  # last year's monthly disposable income, fen by residence
    line_known: np.ndarray
    tiers: dict[bool, Tiers]  # in a special group → its tiers
    group_programs: tuple[str, ...]
    group_residence: str | None


def _tiers(tier_list: Any, cap_multiple: Decimal, standards: list[Decimal | None]) -> Tiers:
    starts = np.array([math.ceil(Fraction(tier.from_) * 100) for tier in tier_list], np.int64)
    ends = np.array(
        [
            math.ceil(Fraction(tier.to) * 100) if tier.to is not None else _NO_END
            for tier in tier_list
        ],
        dtype=np.int64,
    )
    amounts = np.zeros((3, max(len(tier_list), 1)), dtype=np.int64)
    for residence, standard in enumerate(standards):
        if standard is None:
            continue
        cap = arrays.share_of(cap_multiple, standard, "cap")
        for index, tier in enumerate(tier_list):
            amount = arrays.share_of(tier.multiple, standard, "tier")
            amounts[residence, index] = arrays.half_up(min(amount, cap) * 100)
    return Tiers(starts=starts, ends=ends, amounts=amounts)


def batch_params(rules: Rules) -> BatchParams:
    standards = arrays.by_residence(rules)
    cap = rules.urgent_cap
    urgent_fixed = urgent_multiple = None
    if cap.fixed is not None:
        urgent_fixed = arrays.fen(cap.fixed, "urgent cap")
    else:
        exact = [
            arrays.share_of(cap.standard_multiple, standard, "urgent cap") * 100
            if standard is not None
            else Fraction(0)
            for standard in standards
        ]
        scale = math.lcm(*(value.denominator for value in exact))
        if scale > 10**6:
            raise arrays.NotExact("urgent cap")
        urgent_multiple = (np.array([int(value * scale) for value in exact], np.int64), scale)
    groups = rules.special_groups
    tiers = {False: _tiers(rules.expenditure_tiers, rules.expenditure_cap_multiple, standards)}
    if groups is not None:
        tiers[True] = _tiers(groups.tiers, groups.cap_multiple, standards)
    line, line_known = rigid_expenditure.disposable_income(rules)
    return BatchParams(
        urgent_cause_ok=np.array(
            [cause in rules.urgent_causes for cause in arrays.EMERGENCY_CAUSES]
        ),
        urgent_fixed=urgent_fixed,
        urgent_multiple=urgent_multiple,
        line=line,
        line_known=line_known,
        tiers=tiers,
        group_programs=tuple(groups.programs) if groups is not None else (),
        group_residence=groups.residence if groups is not None else None,
    )


@dataclass
class BatchResult:
    status: np.ndarray  # by household, a status code
    amount: np.ndarray  # fen, by household; -1: none


def decide_batch(
    batch: arrays.Batch,
    params: BatchParams,
    facts: arrays.Households,
    tekun: tekun_program.BatchResult,
    dibao: dibao_program.BatchResult,
    marginal: marginal_program.BatchResult,
) -> BatchResult:
    """``decide`` for every household of ``batch``, after the other four programs."""
    count = facts.count
    status = np.full(count, arrays.NOT_APPLICABLE, dtype=np.int8)
    amount = np.full(count, -1, dtype=np.int64)
    # not already assisted for this event
    repeat = arrays.must_hold(np.where(batch.em_assisted == -1, -1, 1 - batch.em_assisted))
    urgent = batch.em_kind == 1
    if urgent.any():
        _urgent_batch(batch, params, facts, repeat, urgent, status, amount)
    expenditure = batch.em_kind == 2
    if expenditure.any():
        _expenditure_batch(
            batch, params, facts, tekun, dibao, marginal, repeat, expenditure, status, amount
        )
    return BatchResult(status=status, amount=amount)


def _urgent_batch(
    batch: arrays.Batch,
    params: BatchParams,
    facts: arrays.Households,
    repeat: np.ndarray,
    urgent: np.ndarray,
    status: np.ndarray,
    amount: np.ndarray,
) -> None:
    """An urgent emergency's status and amount, written into ``status`` and ``amount``."""
    count = facts.count
    cause_outcome = np.where(
        batch.em_cause < 0,
        arrays.INSUFFICIENT,
        np.where(params.urgent_cause_ok[np.maximum(batch.em_cause, 0)], arrays.PASS, arrays.FAIL),
    )
    need = batch.em_need
    if params.urgent_fixed is not None:
        cap_known = np.ones(count, dtype=bool)
        within = need <= params.urgent_fixed
        capped = np.full(count, params.urgent_fixed, dtype=np.int64)
    else:
        multiple, scale = params.urgent_multiple  # type: ignore[misc]
        cap = multiple[facts.residence] * facts.people
        cap_known = facts.standard_known
        within = need * scale <= cap
        capped = (2 * cap + scale) // (2 * scale)
    amount_outcome = np.where(~batch.em_need_known | ~cap_known, arrays.INSUFFICIENT, arrays.PASS)
    outcome = np.maximum.reduce([repeat, cause_outcome, amount_outcome])
    status[urgent] = arrays.STATUS_OF[outcome[urgent]]
    paid = urgent & (outcome == arrays.PASS)
    amount[paid] = np.where(within, need, capped)[paid]


def _expenditure_batch(
    batch: arrays.Batch,
    params: BatchParams,
    facts: arrays.Households,
    tekun: tekun_program.BatchResult,
    dibao: dibao_program.BatchResult,
    marginal: marginal_program.BatchResult,
    repeat: np.ndarray,
    expenditure: np.ndarray,
    status: np.ndarray,
    amount: np.ndarray,
) -> None:
    """An expenditure emergency's status and amount, written into ``status`` and ``amount``."""
    count = facts.count
    household = facts.household
    residence = facts.residence
    # the household after 特困 members leave, or everyone if all of them are 特困
    empty = dibao.remaining_count == 0
    everyone_total = arrays.sum_by(household, dibao.income, facts.counted, count)
    everyone_known = (facts.people > 0) & (
        arrays.count_by(household, facts.counted & ~facts.income_known, count) == 0
    )
    people = np.maximum(facts.people, 1)
    per_capita = np.where(
        empty, (2 * everyone_total + people) // (2 * people), dibao.per_capita_income
    )
    per_capita_known = np.where(empty, everyone_known, dibao.per_capita_known)
    income_outcome = np.where(
        ~per_capita_known | ~params.line_known[residence],
        arrays.INSUFFICIENT,
        np.where(per_capita < params.line[residence], arrays.PASS, arrays.FAIL),
    )
    assets = np.where(empty, tekun.assets, dibao.assets)
    in_group = np.zeros(count, dtype=bool)
    if params.group_residence is not None:
        statuses = {"dibao": dibao.status, "tekun": tekun.status, "marginal": marginal.status}
        for program in params.group_programs:
            in_group |= statuses[program] == arrays.ELIGIBLE
            if program in arrays.BENEFIT_PROGRAMS:
                in_group |= batch.ben_prog == arrays.BENEFIT_PROGRAMS.index(program) + 1
        if params.group_residence != "any":
            in_group &= residence == arrays.RESIDENCES.index(params.group_residence) + 1
    spending = batch.rigid_total
    tier_outcome = np.full(count, arrays.INSUFFICIENT, dtype=np.int8)
    tier_amount = np.full(count, -1, dtype=np.int64)
    decided = batch.rigid_known & facts.standard_known
    for group, tiers in params.tiers.items():
        rows = decided & (in_group == group)
        found = np.full(count, -1, dtype=np.int64)
        for index in range(len(tiers.starts) - 1, -1, -1):  # the first matching tier wins
            hit = rows & (spending >= tiers.starts[index]) & (spending < tiers.ends[index])
            found[hit] = index
        tier_outcome[rows] = np.where(found[rows] >= 0, arrays.PASS, arrays.FAIL)
        matched = rows & (found >= 0)
        tier_amount[matched] = tiers.amounts[residence[matched], found[matched]]
    outcome = np.maximum.reduce([repeat, income_outcome, assets, tier_outcome])
    status[expenditure] = arrays.STATUS_OF[outcome[expenditure]]
    paid = expenditure & (outcome == arrays.PASS)
    amount[paid] = tier_amount[paid]
