"""最低生活保障 (低保): rules-reference §3 (household), §4 (渐退, gradual exit), §6 (单人户).

Facts read: the household after its 特困 members leave (size, countable income), its assets,
the current benefit (for a gradual exit), each member's age, disability, schooling and illness
(for 分类施保 supplements and the review interval). Steps: ``dibao.household``,
``dibao.income_test``, ``dibao.asset_test``; on a pass ``dibao.classified_supplement`` per member
and ``dibao.amount``; else for a household on 低保 whose income rose ``dibao.gradual_exit.*``;
after 低保边缘 and 刚性支出 are decided, ``dibao.single_person`` per candidate member (with its
own ``dibao.classified_supplement``). Paths are alternatives: one eligible path is enough.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypedDict

import numpy as np

from service.engine.case import (
    ELIGIBLE,
    FAIL,
    INELIGIBLE,
    INSUFFICIENT,
    INSUFFICIENT_DATA,
    NA,
    NOT_APPLICABLE,
    PASS,
    VARIANT_OF_OUTCOME,
    ZERO,
    Case,
    Person,
    combine,
    combine_paths,
    int_text,
    iso,
    money,
    status,
)
from service.engine.compiled import Rules, grades_match
from service.engine.dates import add_months, first_of_next_month, whole_months_between
from service.engine.programs import arrays
from service.engine.programs import tekun as tekun_program


class Result(TypedDict):
    """The program's result document (contract), built as it is sent."""

    status: str
    basis: str | None
    members: list[str]
    monthly_amount: str | None
    per_capita_income: str | None
    standard: str | None
    payment_starts: str | None  # ISO dates
    next_review: str | None
    exit_ends: str | None
    single_person: list[dict[str, str]]
    reasons: list[str]


def _without_amount(
    status: str, per_capita_income: str | None, standard: str | None, reasons: list[str]
) -> Result:
    """The result of a household 低保 does not cover (yet): no basis, members or amount."""
    return {
        "status": status,
        "basis": None,
        "members": [],
        "monthly_amount": None,
        "per_capita_income": per_capita_income,
        "standard": standard,
        "payment_starts": None,
        "next_review": None,
        "exit_ends": None,
        "single_person": [],
        "reasons": reasons,
    }


@dataclass(slots=True)
class ExitPath:
    outcome: str
    reasons: tuple[str, ...]
    result: Result | None  # when eligible


def household(case: Case, remaining: list[Person], tekun: tekun_program.Result) -> Result:
    """The household basis, then the gradual exit; ``single_person`` comes later."""
    params = case.params
    # reported as it is, whatever rule reads it: not a parameter read of any step
    standard_text = case.place.result_standard_text
    size_text = int_text(len(remaining))
    values: dict[str, Any] = {"household_size": size_text, "tekun_members": tekun.eligible}
    if not remaining:
        case.step("dibao.household", "dibao", NA, "empty", values)
        return _without_amount(NOT_APPLICABLE, None, standard_text, [])
    # Only members found 特困 leave; a member whose 特困 result is undecided stays in the
    # household (as the contract's Wuhan example does) and the trace says so.
    if tekun.undecided:
        values["tekun_undecided"] = tekun.undecided
        case.step("dibao.household", "dibao", PASS, "pass_undecided", values)
    else:
        case.step("dibao.household", "dibao", PASS, "pass", values)
    income = case.income(remaining)
    per_capita = income.per_capita
    # read off the Place with its bit or-ed in, as ``Parameters`` does, without a call each
    place = params.place
    standard = place.standard
    params.read |= place.standard_bit
    values = {
        "per_capita_income": income.per_capita_text,
        "standard": place.standard_text,
        "household_income": money(income.total) if income.total is not None else None,
        "household_size": size_text,
    }
    if per_capita is None or standard is None:
        income_outcome = INSUFFICIENT
        case.need("dibao", case.income_missing_field() if per_capita is None else "residence")
    else:
        income_outcome = PASS if per_capita < standard else FAIL
    case.step(
        "dibao.income_test", "dibao", income_outcome, VARIANT_OF_OUTCOME[income_outcome], values
    )
    assets = case.asset_step("dibao.asset_test", "dibao", params.place.dibao_assets, len(remaining))
    # combine, inline
    path = (
        FAIL
        if FAIL in (income_outcome, assets)
        else INSUFFICIENT
        if INSUFFICIENT in (income_outcome, assets)
        else PASS
    )
    if path == PASS:
        assert per_capita is not None and standard is not None
        return _household_amount(
            case, remaining, per_capita, standard, income.per_capita_text, standard_text
        )
    exit_path = None
    current = case.household.current_benefit
    if income_outcome == FAIL and current is not None and current.program == "dibao":
        assert per_capita is not None
        exit_path = _gradual_exit(
            case, remaining, per_capita, assets, income.per_capita_text, standard_text
        )
        if exit_path.result is not None:
            return exit_path.result
    outcome = path if exit_path is None else combine_paths([path, exit_path.outcome])
    failing = FAIL if outcome == FAIL else INSUFFICIENT
    reasons = []
    if income_outcome == failing:
        reasons.append("dibao.income_test")
    if assets == failing:
        reasons.append("dibao.asset_test")
    if exit_path is not None:
        reasons.extend(exit_path.reasons)
    return _without_amount(status(outcome), income.per_capita_text, standard_text, reasons)


def _household_amount(
    case: Case,
    remaining: list[Person],
    per_capita: Decimal,
    standard: Decimal,
    per_capita_text: str | None,
    standard_text: str | None,
) -> Result:
    """(standard − per-capita income) × size, plus each member's 分类施保 supplement."""
    params = case.params
    supplements = _supplements(case, remaining)
    difference = (standard - per_capita) * len(remaining)
    monthly = difference + supplements
    payment_starts, next_review = _schedule(case, remaining)
    case.step(
        "dibao.amount",
        "dibao",
        PASS,
        "difference",
        {
            "standard": params.standard_text(),
            "per_capita_income": str(per_capita),
            "household_size": int_text(len(remaining)),
            "difference_amount": money(difference),
            "supplements": money(supplements),
            "monthly_amount": money(monthly),
        },
    )
    return {
        "status": ELIGIBLE,
        "basis": "household",
        "members": [p.id for p in remaining],
        "monthly_amount": money(monthly),
        "per_capita_income": per_capita_text,
        "standard": standard_text,
        "payment_starts": iso(payment_starts),
        "next_review": iso(next_review),
        "exit_ends": None,
        "single_person": [],
        "reasons": ["dibao.income_test", "dibao.asset_test"],
    }


def _gradual_exit(
    case: Case,
    remaining: list[Person],
    per_capita: Decimal,
    assets: str,
    per_capita_text: str | None,
    standard_text: str | None,
) -> ExitPath:
    """渐退: a household on 低保 whose income rose from employment keeps it for a while."""
    params = case.params
    current = case.household.current_benefit
    rule = params.gradual_exit()
    rise = current.income_rise_from_employment
    values: dict[str, Any] = {
        "current_program": current.program,
        "income_rise_from_employment": None if rise is None else str(rise).lower(),
        "asset_test": assets,
        "per_capita_income": str(per_capita),
    }
    parts = []
    if rise is None:
        parts.append(INSUFFICIENT)
        case.need("dibao", "household.current_benefit.income_rise_from_employment")
    else:
        parts.append(PASS if rise else FAIL)
    parts.append(assets)
    if rule.income_ceiling is not None:
        standard = params.standard()
        assert standard is not None
        ceiling = rule.income_ceiling * standard
        values["income_ceiling"] = money(ceiling)
        parts.append(PASS if per_capita < ceiling else FAIL)
    eligible = combine(parts)
    case.step(
        "dibao.gradual_exit.eligible", "dibao", eligible, VARIANT_OF_OUTCOME[eligible], values
    )
    as_of = case.as_of
    rule = params.gradual_exit()
    start = current.exit_started or as_of
    months = whole_months_between(start, as_of)
    exit_ends = add_months(start, rule.max_months)
    period = PASS if months < rule.max_months else FAIL
    case.step(
        "dibao.gradual_exit.period",
        "dibao",
        period,
        "pass" if period == PASS else "fail",
        {
            "exit_started": iso(start),
            "months_elapsed": int_text(months),
            "max_months": str(rule.max_months),
            "exit_ends": iso(exit_ends),
        },
    )
    outcome = combine([eligible, period])
    if outcome == PASS and current.monthly_amount is None:
        outcome = INSUFFICIENT
        case.need("dibao", "household.current_benefit.monthly_amount")
    if outcome != PASS:
        failing = FAIL if outcome == FAIL else INSUFFICIENT
        reasons = tuple(
            s
            for s, o in (
                ("dibao.gradual_exit.eligible", eligible),
                ("dibao.gradual_exit.period", period),
            )
            if o == failing
        )
        return ExitPath(outcome, reasons, None)
    rule = params.gradual_exit()
    amount = (
        current.monthly_amount
        if rule.amount == "keep"
        else current.monthly_amount * (rule.fraction or ZERO)
    )
    payment_starts, next_review = _schedule(case, remaining)
    case.step(
        "dibao.amount",
        "dibao",
        PASS,
        "gradual_exit",
        {
            "current_amount": money(current.monthly_amount),
            "monthly_amount": money(amount),
            "exit_ends": iso(exit_ends),
        },
    )
    result: Result = {
        "status": ELIGIBLE,
        "basis": "gradual_exit",
        "members": [p.id for p in remaining],
        "monthly_amount": money(amount),
        "per_capita_income": per_capita_text,
        "standard": standard_text,
        "payment_starts": iso(payment_starts),
        "next_review": iso(min(next_review, exit_ends)),
        "exit_ends": iso(exit_ends),
        "single_person": [],
        "reasons": ["dibao.gradual_exit.eligible", "dibao.gradual_exit.period"],
    }
    return ExitPath(PASS, (), result)


def _supplement_items(case: Case, person: Person) -> list[tuple[Decimal, str]]:
    """分类施保: the member's supplements (the highest item, plus the additional ones)."""
    params = case.params
    plan = params.supplements()
    if plan is None:
        return []
    best: tuple[Decimal, str] | None = None
    for item in plan.items:
        if _applies(item.when, person):
            amount = _item_amount(params, item)
            if best is None or amount > best[0]:
                best = (amount, item.id)
    extra = [(_item_amount(params, i), i.id) for i in plan.additional if _applies(i.when, person)]
    return ([best] if best else []) + extra


def _item_amount(params: Any, item: Any) -> Decimal:
    if item.amount is not None:
        return item.amount  # type: ignore[no-any-return]
    return item.share_of_standard * params.standard()  # type: ignore[no-any-return]


def _supplement_step(case: Case, person: Person, chosen: list[tuple[Decimal, str]]) -> Decimal:
    """The member's supplement as its own step; its total."""
    total = sum((a for a, _ in chosen), ZERO)
    case.step(
        "dibao.classified_supplement",
        "dibao",
        PASS,
        "pass",
        {"categories": [c for _, c in chosen], "supplement": money(total)},
        person.id,
    )
    return total


def _supplements(case: Case, remaining: list[Person]) -> Decimal:
    """The household's supplements, one step per member who has one.

    A member without one was still looked up: that read goes to the next step written (another
    member's supplement, or the amount, which both depend on the plan).
    """
    total = ZERO
    for person in remaining:
        chosen = _supplement_items(case, person)
        if chosen:
            total += _supplement_step(case, person, chosen)
    return total


def _applies(conditions: Any, person: Person) -> bool:
    for c in conditions:
        if c.age_at_least is not None and person.age < c.age_at_least:
            continue
        if c.age_below is not None and person.age >= c.age_below:
            continue
        if c.schooling_in is not None and person.schooling not in c.schooling_in:
            continue
        if c.severe_disability and not person.severe_disability:
            continue
        if c.any_disability and person.disability is None:
            continue
        if c.disability_grade_at_most is not None and (
            person.disability is None or person.disability.grade > c.disability_grade_at_most
        ):
            continue
        if c.serious_illness and not person.serious_illness:
            continue
        return True
    return False


def _schedule(case: Case, covered: list[Person]) -> tuple[date, date]:
    """The first month paid and the next review (sooner when a covered member can work)."""
    params = case.params
    months = (
        params.review_able_to_work_months()
        if any(p.able_to_work() for p in covered)
        else params.review_months()
    )
    return first_of_next_month(case.as_of), add_months(case.as_of, months)


def single_person(
    case: Case, dibao: Result, remaining: list[Person], marginal: str, rigid: str
) -> Result:
    """单人户: members of a 低保边缘 (or listed-type) household assessed as households of one.

    Only when 低保 is not already eligible on another path. An included member is a covered
    低保 member like any other: standard − own income, plus the member's 分类施保 supplement.
    """
    if dibao["status"] == ELIGIBLE or not remaining:
        return dibao
    params = case.params
    rule = params.single_person()
    candidates = []
    for p in remaining:  # a loop: a comprehension costs a call, and most members are not
        disability = p.disability
        if (
            disability is not None
            and grades_match(rule.disability, disability.category, disability.grade)
        ) or (rule.serious_illness and p.serious_illness):
            candidates.append(p)
    if not candidates:
        case.no_step()  # the rule was read, and no member is assessed under it
        return dibao
    types = {"marginal": marginal, "rigid_expenditure": rigid}
    type_statuses = [types[t] for t in rule.household_types]
    if ELIGIBLE in type_statuses:
        type_outcome = PASS
    elif INSUFFICIENT_DATA in type_statuses:
        type_outcome = INSUFFICIENT
    else:
        type_outcome = FAIL
    included: list[dict[str, str]] = []
    covered: list[Person] = []
    outcomes = []
    for person in candidates:
        outcome = _single_person_member(case, person, types, type_outcome, included)
        outcomes.append(outcome)
        if outcome == PASS:
            covered.append(person)
    if included:
        payment_starts, next_review = _schedule(case, covered)
        case.no_step()  # the review interval: the members' steps are written
        total = sum((Decimal(i["monthly_amount"]) for i in included), ZERO)
        return {
            "status": ELIGIBLE,
            "basis": "single_person",
            "members": [i["member"] for i in included],
            "monthly_amount": money(total),
            "per_capita_income": dibao["per_capita_income"],
            "standard": dibao["standard"],
            "payment_starts": iso(payment_starts),
            "next_review": iso(next_review),
            "exit_ends": None,
            "single_person": included,
            "reasons": ["dibao.single_person"],
        }
    # 低保 was not eligible on another path: only its status and reasons can change
    if dibao["status"] == INELIGIBLE and INSUFFICIENT in outcomes:
        dibao["status"], dibao["reasons"] = INSUFFICIENT_DATA, ["dibao.single_person"]
    elif dibao["status"] == INELIGIBLE:
        dibao["reasons"] = [*dibao["reasons"], "dibao.single_person"]
    return dibao


def _single_person_member(
    case: Case,
    person: Person,
    types: dict[str, str],
    type_outcome: str,
    included: list[dict[str, str]],
) -> str:
    params = case.params
    rule = params.single_person()
    standard = params.standard()
    own = case.incomes(False)[person.position]
    values: dict[str, Any] = {
        "household_types": list(rule.household_types),
        "household_type_status": [f"{t}:{types[t]}" for t in rule.household_types],
        "own_income": money(own) if own is not None else None,
        "standard": params.standard_text(),
    }
    chosen: list[tuple[Decimal, str]] = []
    if own is not None and standard is not None and own >= standard:
        outcome, variant = FAIL, "fail_income"  # fails on known facts, whatever the type
    elif type_outcome == FAIL:
        outcome, variant = FAIL, "fail_household"
    elif own is None or standard is None:
        outcome, variant = INSUFFICIENT, "insufficient"
        case.need("dibao", case.income_missing_field() if own is None else "residence")
    elif type_outcome == INSUFFICIENT:
        outcome, variant = INSUFFICIENT, "insufficient"
        # The facts that would decide the household type decide this path too.
        undecided = {t for t in rule.household_types if types[t] == INSUFFICIENT_DATA}
        case.need("dibao", *(f for (f, p) in list(case.missing) if p in undecided))
    else:
        outcome, variant = PASS, "pass"
        difference = standard - own
        values["monthly_amount"] = money(difference)
        # An included member is a covered 低保 member like any other: the member's amount adds
        # the 分类施保 supplement (rules-reference §6), shown as its own step below.
        chosen = _supplement_items(case, person)
    case.step("dibao.single_person", "dibao", outcome, variant, values, person.id)
    if outcome == PASS:
        supplement = ZERO
        if chosen:
            chosen = _supplement_items(case, person)  # read again: the supplement's own step
            supplement = _supplement_step(case, person, chosen)
        included.append({"member": person.id, "monthly_amount": money(difference + supplement)})
    return outcome


# --- batch form ---------------------------------------------------------------------------------
# The same decisions for a whole batch of households at once (``arrays``), without the trace:
# ``decide_batch`` is ``household`` (with the gradual exit), ``single_person_batch`` is
# ``single_person``. The caseload path's form, checked against them household by household.

BATCH_RULES = frozenset(
    {
        "dibao_excluded", "supplements", "gradual_exit", "single_person",
        # when the next review is due: not part of the batch's decision
        "review_months", "review_able_to_work_months",
    }
)  # fmt: skip
"""The compiled rules the batch form applies (or knows change none of its decisions)."""
BATCH_FIELDS = {
    "SupplementCondition": {
        "age_at_least", "age_below", "schooling_in", "severe_disability",
        "disability_grade_at_most", "any_disability", "serious_illness",
    },
    "Supplement": {"id", "when", "amount", "share_of_standard"},
    "ClassifiedSupplements": {"stacking", "items", "additional"},
    "GradualExit": {"max_months", "income_ceiling", "amount", "fraction"},
    "SinglePerson": {"household_types", "disability", "serious_illness"},
}  # fmt: skip
"""The fields of the structured rules above that the batch form applies."""


@dataclass
class BatchParams:
    counted: np.ndarray  # by income type
    supplement_items: list[tuple[Any, np.ndarray]]  # (conditions, fen by residence)
    supplement_additional: list[tuple[Any, np.ndarray]]
    exit_max_months: int
    exit_ceiling: np.ndarray | None  # per-capita income must be below this (fen, by residence)
    exit_fraction: tuple[int, int] | None  # numerator, denominator
    single_person_disability: np.ndarray  # highest qualifying grade by category code
    single_person_illness: bool
    single_person_household_types: tuple[str, ...]


def batch_params(rules: Rules) -> BatchParams:
    standards = arrays.by_residence(rules)
    plan = rules.supplements
    if plan is not None and plan.stacking != "highest":
        raise arrays.NotExact("supplement stacking")

    def supplement_amounts(items: Any) -> list[tuple[Any, np.ndarray]]:
        out = []
        for item in items:
            amounts = []
            for standard in standards:
                if item.amount is not None:
                    amounts.append(arrays.fen(item.amount, "supplement"))
                elif standard is None:
                    amounts.append(0)
                else:
                    share = arrays.share_of(item.share_of_standard, standard, "supplement")
                    amounts.append(arrays.fen(share, "supplement"))
            out.append((item.when, np.array(amounts, dtype=np.int64)))
        return out

    exit_rule = rules.gradual_exit
    exit_ceiling = None
    if exit_rule.income_ceiling is not None:
        exit_ceiling = np.array(
            [
                math.ceil(arrays.share_of(exit_rule.income_ceiling, standard, "exit ceiling") * 100)
                if standard is not None
                else 0
                for standard in standards
            ],
            dtype=np.int64,
        )
    exit_fraction = None
    if exit_rule.amount == "fraction":
        fraction = Fraction(exit_rule.fraction or 0)
        if fraction.denominator > 10**6:
            raise arrays.NotExact("exit fraction")
        exit_fraction = (fraction.numerator, fraction.denominator)
    single = rules.single_person
    return BatchParams(
        counted=arrays.counted_income(rules.dibao_excluded),
        supplement_items=supplement_amounts(plan.items) if plan is not None else [],
        supplement_additional=supplement_amounts(plan.additional) if plan is not None else [],
        exit_max_months=exit_rule.max_months,
        exit_ceiling=exit_ceiling,
        exit_fraction=exit_fraction,
        single_person_disability=arrays.grade_table(single.disability),
        single_person_illness=single.serious_illness,
        single_person_household_types=tuple(single.household_types),
    )


@dataclass
class BatchResult:
    # the decision, by household (amount -1: none)
    status: np.ndarray
    basis: np.ndarray  # a basis code (arrays.BASES)
    members: np.ndarray
    amount: np.ndarray
    # what the later programs read: the household after its 特困 members leave
    remaining: np.ndarray  # by member
    remaining_count: np.ndarray
    income: np.ndarray  # each member's countable income, fen
    total: np.ndarray  # the remaining members' income, fen
    per_capita_income: np.ndarray  # fen, half up
    per_capita_known: np.ndarray
    assets: np.ndarray  # the asset test's outcome
    supplements: np.ndarray  # each member's 分类施保 supplement, fen


def decide_batch(
    batch: arrays.Batch,
    params: BatchParams,
    shared: arrays.SharedParams,
    facts: arrays.Households,
    tekun: tekun_program.BatchResult,
) -> BatchResult:
    """``household`` for every household of ``batch``: the household test, else a gradual exit."""
    count = facts.count
    household = facts.household
    residence = facts.residence
    standard = facts.standard
    standard_known = facts.standard_known
    income = arrays.net_income(batch, facts, params.counted)
    remaining = facts.counted & ~tekun.eligible
    remaining_count = arrays.count_by(household, remaining, count)
    empty = remaining_count == 0
    total = arrays.sum_by(household, income, remaining, count)
    per_capita_known = ~empty & (
        arrays.count_by(household, remaining & ~facts.income_known, count) == 0
    )
    size = np.maximum(remaining_count, 1)
    per_capita = (2 * total + size) // (2 * size)  # cents(total / size), half up
    income_outcome = np.where(
        ~per_capita_known | ~standard_known,
        arrays.INSUFFICIENT,
        np.where(per_capita < standard, arrays.PASS, arrays.FAIL),
    )
    assets = arrays.asset_outcome(
        batch, shared.dibao_assets, remaining_count, residence, standard_known
    )
    household_outcome = np.maximum(income_outcome, assets)

    status = np.full(count, arrays.INELIGIBLE, dtype=np.int8)
    basis = np.zeros(count, dtype=np.int8)
    members = np.zeros(count, dtype=np.int64)
    amount = np.full(count, -1, dtype=np.int64)
    status[empty] = arrays.NOT_APPLICABLE

    household_pass = ~empty & (household_outcome == arrays.PASS)
    supplements = _supplements_batch(batch, params, facts)
    household_amount = (standard - per_capita) * remaining_count + arrays.sum_by(
        household, supplements, remaining, count
    )
    status[household_pass] = arrays.ELIGIBLE
    basis[household_pass] = arrays.BASIS_CODE["household"]
    members[household_pass] = remaining_count[household_pass]
    amount[household_pass] = household_amount[household_pass]

    # gradual exit (渐退): a household on 低保 whose income rose above the standard
    try_exit = ~empty & ~household_pass & (income_outcome == arrays.FAIL) & (batch.ben_prog == 1)
    eligible_outcome = np.maximum(arrays.must_hold(batch.ben_rise), assets)
    if params.exit_ceiling is not None:
        eligible_outcome = np.maximum(
            eligible_outcome,
            np.where(per_capita < params.exit_ceiling[residence], arrays.PASS, arrays.FAIL),
        )
    start = np.where(
        batch.ben_exit == arrays.UNKNOWN_DAY, facts.as_of, batch.ben_exit.astype(np.int64)
    )
    period_outcome = np.where(
        arrays.whole_months_between(start, facts.as_of) < params.exit_max_months,
        arrays.PASS,
        arrays.FAIL,
    )
    exit_outcome = np.maximum(eligible_outcome, period_outcome)
    exit_outcome = np.where(
        (exit_outcome == arrays.PASS) & ~batch.ben_amount_known, arrays.INSUFFICIENT, exit_outcome
    )
    if params.exit_fraction is None:
        exit_amount = batch.ben_amount
    else:
        numerator, denominator = params.exit_fraction
        exit_amount = (2 * batch.ben_amount * numerator + denominator) // (2 * denominator)
    exit_eligible = try_exit & (exit_outcome == arrays.PASS)
    status[exit_eligible] = arrays.ELIGIBLE
    basis[exit_eligible] = arrays.BASIS_CODE["gradual_exit"]
    members[exit_eligible] = remaining_count[exit_eligible]
    amount[exit_eligible] = exit_amount[exit_eligible]
    other = ~empty & ~household_pass & ~exit_eligible
    outcome = np.where(try_exit, np.minimum(household_outcome, exit_outcome), household_outcome)
    status[other] = arrays.STATUS_OF[outcome[other]]
    return BatchResult(
        status=status,
        basis=basis,
        members=members,
        amount=amount,
        remaining=remaining,
        remaining_count=remaining_count,
        income=income,
        total=total,
        per_capita_income=per_capita,
        per_capita_known=per_capita_known,
        assets=assets,
        supplements=supplements,
    )


def _supplements_batch(
    batch: arrays.Batch, params: BatchParams, facts: arrays.Households
) -> np.ndarray:
    """Each member's 分类施保 supplement (fen): the highest item that applies, plus every
    additional one that applies."""
    supplements = np.zeros(len(facts.household), dtype=np.int64)
    if not (params.supplement_items or params.supplement_additional):
        return supplements
    severe = (batch.m_cat >= 0) & (
        (batch.m_grade <= 2)
        | (
            (batch.m_grade == 3)
            & np.isin(
                batch.m_cat,
                [arrays.CATEGORY_INDEX["intellectual"], arrays.CATEGORY_INDEX["mental"]],
            )
        )
    )
    by_member = facts.residence[facts.household]
    for conditions, amounts in params.supplement_items:
        supplements = np.maximum(
            supplements,
            np.where(_applies_batch(conditions, facts.age, batch, severe), amounts[by_member], 0),
        )
    for conditions, amounts in params.supplement_additional:
        supplements = supplements + np.where(
            _applies_batch(conditions, facts.age, batch, severe), amounts[by_member], 0
        )
    return supplements


def _applies_batch(
    conditions: Any, age: np.ndarray, batch: arrays.Batch, severe: np.ndarray
) -> np.ndarray:
    """``_applies`` for every member: any condition whose facts all hold."""
    result = np.zeros(len(age), dtype=bool)
    for condition in conditions:
        holds = np.ones(len(age), dtype=bool)
        if condition.age_at_least is not None:
            holds &= age >= condition.age_at_least
        if condition.age_below is not None:
            holds &= age < condition.age_below
        if condition.schooling_in is not None:
            holds &= np.isin(
                batch.m_school, [arrays.SCHOOLING_INDEX[level] for level in condition.schooling_in]
            )
        if condition.severe_disability:
            holds &= severe
        if condition.any_disability:
            holds &= batch.m_cat >= 0
        if condition.disability_grade_at_most is not None:
            holds &= (batch.m_cat >= 0) & (batch.m_grade <= condition.disability_grade_at_most)
        if condition.serious_illness:
            holds &= batch.m_ill
        result |= holds
    return result


def single_person_batch(
    batch: arrays.Batch,
    params: BatchParams,
    facts: arrays.Households,
    dibao: BatchResult,
    statuses: dict[str, np.ndarray],
) -> BatchResult:
    """``single_person`` for every household of ``batch``: ``dibao`` with the members included
    as single-person households (单人户); ``statuses`` holds 低保边缘's and 刚性支出's."""
    count = facts.count
    household = facts.household
    remaining = dibao.remaining
    candidate = remaining & (
        arrays.grades(params.single_person_disability, batch)
        | (params.single_person_illness & batch.m_ill)
    )
    candidates = arrays.count_by(household, candidate, count)
    any_eligible = np.zeros(count, dtype=bool)
    any_undecided = np.zeros(count, dtype=bool)
    for kind in params.single_person_household_types:
        any_eligible |= statuses[kind] == arrays.ELIGIBLE
        any_undecided |= statuses[kind] == arrays.INSUFFICIENT_DATA
    type_outcome = np.where(
        any_eligible, arrays.PASS, np.where(any_undecided, arrays.INSUFFICIENT, arrays.FAIL)
    )
    # own income at or above the standard fails whatever the household type; then the type
    own_known = facts.income_known & facts.member_standard_known
    member_type = type_outcome[household]
    candidate_outcome = np.select(
        [
            own_known & (dibao.income >= facts.member_standard),
            member_type == arrays.FAIL,
            ~own_known,
            member_type == arrays.INSUFFICIENT,
        ],
        [arrays.FAIL, arrays.FAIL, arrays.INSUFFICIENT, arrays.INSUFFICIENT],
        arrays.PASS,
    )
    included = candidate & (candidate_outcome == arrays.PASS)
    included_count = arrays.count_by(household, included, count)
    undecided = arrays.count_by(
        household, candidate & (candidate_outcome == arrays.INSUFFICIENT), count
    )
    # an included member is a covered 低保 member: own difference plus the 分类施保 supplement
    amount = arrays.sum_by(
        household, facts.member_standard - dibao.income + dibao.supplements, included, count
    )
    active = (dibao.remaining_count > 0) & (dibao.status != arrays.ELIGIBLE) & (candidates > 0)
    eligible = active & (included_count > 0)
    undecided_only = (
        active & (included_count == 0) & (dibao.status == arrays.INELIGIBLE) & (undecided > 0)
    )
    status = dibao.status.copy()
    basis = dibao.basis.copy()
    members = dibao.members.copy()
    amounts = dibao.amount.copy()
    status[eligible] = arrays.ELIGIBLE
    basis[eligible] = arrays.BASIS_CODE["single_person"]
    members[eligible] = included_count[eligible]
    amounts[eligible] = amount[eligible]
    status[undecided_only] = arrays.INSUFFICIENT_DATA
    return dataclasses.replace(dibao, status=status, basis=basis, members=members, amount=amounts)
