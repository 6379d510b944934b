"""特困人员 (people in extreme poverty), decided per member: rules-reference §7.

Facts read: each counted member's age, disability, schooling, own countable income (with the
特困 exclusions), whether a capable supporter exists, and the self-care assessment; the
household's assets. Steps, for each member: ``tekun.no_work_capacity`` (第五条),
``tekun.no_means`` (第六条: own income below the standard, and the asset test),
``tekun.no_capable_supporter`` (第八条); then ``tekun.amount`` for an eligible member (basic
support plus the care tier's amount).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from service.engine.case import (
    ELIGIBLE,
    FAIL,
    INELIGIBLE,
    INSUFFICIENT,
    INSUFFICIENT_DATA,
    NOT_APPLICABLE,
    PASS,
    SMALL_INT_TEXT,
    STATUS_OF_OUTCOME,
    ZERO,
    Case,
    Person,
    money,
)
from service.engine.compiled import Rules, grades_match
from service.engine.parameters import BIT
from service.engine.programs import arrays

STEPS = ("tekun.no_work_capacity", "tekun.no_means", "tekun.no_capable_supporter")
_SUPPORT_VARIANT = {PASS: "pass", FAIL: "fail", INSUFFICIENT: "insufficient"}
# the parameters the no-work-capacity step reads, by how far down its conditions it goes
_AGES = BIT["tekun.elderly_age"] | BIT["tekun.minor_age"]
_AGES_SCHOOLING = _AGES | BIT["tekun.schooling_beyond_minor"]
_AGES_SCHOOLING_DISABILITY = _AGES_SCHOOLING | BIT["tekun.disability"]


# A member's result document, copied and filled in: a dict literal per member costs more.
_MEMBER_DOCUMENT: dict[str, Any] = {
    "member": None,
    "status": None,
    "basic_monthly": None,
    "care_tier": None,
    "care_monthly": None,
    "monthly_amount": None,
    "reasons": None,
}


@dataclass(slots=True)
class Result:
    status: str
    document: dict[str, Any]  # the program's result document: status and members
    eligible: list[str]  # the members found 特困: they leave the 低保 household
    undecided: list[str]  # the members whose result is undecided: they stay, and the trace says


def _combined(outcomes: tuple[str, str, str]) -> tuple[str, str, tuple[str, ...]]:
    """A member's outcome, status and reasons from its three steps' outcomes."""
    outcome = FAIL if FAIL in outcomes else INSUFFICIENT if INSUFFICIENT in outcomes else PASS
    return (
        outcome,
        STATUS_OF_OUTCOME[outcome],
        tuple(s for s, o in zip(STEPS, outcomes, strict=True) if o == outcome),
    )


# every combination of the three steps' outcomes, worked out once: this runs for every member
_COMBINED = {
    (a, b, c): _combined((a, b, c))
    for a in (PASS, FAIL)
    for b in (PASS, FAIL, INSUFFICIENT)
    for c in (PASS, FAIL, INSUFFICIENT)
}


def decide(case: Case) -> Result:
    """Every counted member, one after the other: its three steps, then its amount if eligible.

    The steps run for every member, so they are written out in this loop rather than called;
    each reads its parameters from the ``Place`` where it uses them and records them by or-ing
    their bits into ``params.read``, as the ``Parameters`` methods do, without a call each.
    """
    params = case.params
    place = params.place
    people = case.people
    step = case.step
    members: list[dict[str, Any]] = []
    eligible: list[str] = []
    undecided: list[str] = []
    if not people:
        return Result(NOT_APPLICABLE, {"status": NOT_APPLICABLE, "members": members}, [], [])
    assets = case.asset_step("tekun.asset_test", "tekun", place.dibao_assets, len(people))
    for person in people:
        # The facts one member lacks are kept only if that member's result is undecided (or,
        # for an eligible member, the care assessment): a clerk needs facts that change a result.
        household_missing, case.missing = case.missing, {}
        person_id = person.id
        # 1. no capacity to work (第五条): elderly, a minor (or a student beyond), a disability
        age = person.age
        disability = person.disability
        schooling = person.schooling
        elderly_age = place.tekun_elderly_age
        minor_age = place.tekun_minor_age
        # (both ages are read whatever the member's age, as the rule states them together)
        if age >= elderly_age:
            params.read |= _AGES
            variant = "pass_elderly"
        elif age < minor_age:
            params.read |= _AGES
            variant = "pass_minor"
        elif schooling in place.tekun_schooling_beyond_minor:
            params.read |= _AGES_SCHOOLING
            variant = "pass_student"
        elif disability and grades_match(
            place.tekun_disability, disability.category, disability.grade
        ):
            params.read |= _AGES_SCHOOLING_DISABILITY
            variant = "pass_disability"
        else:
            params.read |= _AGES_SCHOOLING_DISABILITY if disability else _AGES_SCHOOLING
            variant = "fail"
        capacity = step(
            "tekun.no_work_capacity",
            "tekun",
            FAIL if variant == "fail" else PASS,
            variant,
            {
                "age": SMALL_INT_TEXT[age] if 0 <= age < 256 else str(age),
                "disability": f"{disability.category}-{disability.grade}" if disability else "none",
                "schooling": schooling,
                "elderly_age": SMALL_INT_TEXT[elderly_age]
                if 0 <= elderly_age < 256
                else str(elderly_age),
                "minor_age": SMALL_INT_TEXT[minor_age] if 0 <= minor_age < 256 else str(minor_age),
            },
            person_id,
        )
        # 2. no means (第六条): own income (特困 exclusions) below the standard, and assets
        income = case.incomes(True)[person.position]
        standard = place.standard
        params.read |= place.standard_bit
        if income is None or standard is None:
            income_outcome = INSUFFICIENT
            case.need("tekun", case.income_missing_field() if income is None else "residence")
        else:
            income_outcome = PASS if income < standard else FAIL
        if income_outcome == FAIL:
            means, variant = FAIL, "fail_income"
        elif assets == FAIL:
            means, variant = FAIL, "fail_assets"
        elif income_outcome == INSUFFICIENT or assets == INSUFFICIENT:
            means, variant = INSUFFICIENT, "insufficient"
        else:
            means, variant = PASS, "pass"
        # The asset test's own step came first: its parameters are its own, not this step's.
        step(
            "tekun.no_means",
            "tekun",
            means,
            variant,
            {
                # rounded to the cent already: its text needs no second rounding
                "own_income": str(income) if income is not None else None,
                "standard": place.standard_text,
                "asset_test": assets,
            },
            person_id,
        )
        # 3. no capable supporter (第八条): no one able and obliged to support the member
        supporter = person.member.__dict__["has_capable_supporter"]
        if supporter is None:
            support, shown = INSUFFICIENT, None
            case.need("tekun", f"household.members[{person.index}].has_capable_supporter")
        else:
            support, shown = (FAIL, "true") if supporter else (PASS, "false")
        step(
            "tekun.no_capable_supporter",
            "tekun",
            support,
            _SUPPORT_VARIANT[support],
            {"has_capable_supporter": shown},
            person_id,
        )
        _, status, reasons = _COMBINED[(capacity, means, support)]
        document = _MEMBER_DOCUMENT.copy()
        document["member"] = person_id
        document["status"] = status
        document["reasons"] = [*reasons]
        if status == ELIGIBLE:
            _amount(case, person, document)
            eligible.append(person_id)
        elif status == INSUFFICIENT_DATA:
            undecided.append(person_id)
        held, case.missing = case.missing, household_missing
        if held and status != INELIGIBLE:  # eligible, or undecided
            household_missing.update(held)
        members.append(document)
    if eligible:
        status = ELIGIBLE
    elif undecided:
        status = INSUFFICIENT_DATA
    else:
        status = INELIGIBLE
    return Result(status, {"status": status, "members": members}, eligible, undecided)


def _amount(case: Case, person: Person, document: dict[str, Any]) -> None:
    """Basic support plus the care amount of the member's care tier, into ``document``."""
    params = case.params
    basic = params.tekun_basic()
    failed = person.member.self_care_failed_items
    tier: str | None
    if failed is None:
        tier = None
        case.need("tekun", f"household.members[{person.index}].self_care_failed_items")
    elif failed >= params.care_full_from():
        tier = "full"
    elif failed >= params.care_partial_from():
        tier = "partial"
    else:
        tier = "self_care"
    care: Decimal | None = params.care_amount(tier) if tier else None
    total = basic + (care or ZERO)
    basic_monthly = money(basic)
    care_monthly = money(care) if care is not None else None
    monthly_amount = money(total)
    document["basic_monthly"] = basic_monthly
    document["care_tier"] = tier
    document["care_monthly"] = care_monthly
    document["monthly_amount"] = monthly_amount
    variant = (
        "with_care"
        if care is not None
        else ("care_unknown_tier" if tier is None else "care_not_published")
    )
    case.step(
        "tekun.amount",
        "tekun",
        PASS,
        variant,
        {
            "basic_monthly": basic_monthly,
            "self_care_failed_items": None if failed is None else str(failed),
            "care_tier": tier,
            "care_monthly": care_monthly,
            "monthly_amount": monthly_amount,
        },
        person.id,
    )


# --- batch form ---------------------------------------------------------------------------------
# The same decision for a whole batch of households at once (``arrays``), without the trace: the
# caseload path's form, checked against ``decide`` household by household by the tests.

BATCH_RULES = frozenset(
    {
        "tekun_excluded", "tekun_elderly_age", "tekun_minor_age", "tekun_schooling_beyond_minor",
        "tekun_disability", "tekun_basic", "care_partial_from", "care_full_from", "care_amounts",
        # how the basic amount and the care amounts were set: the amounts above say it all
        "tekun_basic_mode", "care_wage_based",
    }
)  # fmt: skip
"""The compiled rules the batch form applies (or knows change none of its decisions)."""


@dataclass
class BatchParams:
    elderly_age: int
    minor_age: int
    counted: np.ndarray  # by income type
    schooling: np.ndarray  # by schooling code: schooling beyond the minor age that qualifies
    disability: np.ndarray  # highest qualifying grade by category code (0: none)
    basic: np.ndarray  # fen by residence
    care_partial_from: int
    care_full_from: int
    care: tuple[int, int, int]  # fen: self_care, partial, full (0 where not published)


def batch_params(rules: Rules) -> BatchParams:
    basic = [rules.tekun_basic["urban"], rules.tekun_basic["urban"], rules.tekun_basic["rural"]]
    self_care, partial, full = (
        arrays.fen(rules.care_amounts[tier], "care amount")
        if rules.care_amounts[tier] is not None
        else 0
        for tier in ("self_care", "partial", "full")
    )
    return BatchParams(
        elderly_age=rules.tekun_elderly_age,
        minor_age=rules.tekun_minor_age,
        counted=arrays.counted_income(rules.tekun_excluded),
        schooling=np.array(
            [level in rules.tekun_schooling_beyond_minor for level in arrays.SCHOOLING]
        ),
        disability=arrays.grade_table(rules.tekun_disability),
        basic=np.array([arrays.fen(amount, "特困 basic amount") for amount in basic], np.int64),
        care_partial_from=rules.care_partial_from,
        care_full_from=rules.care_full_from,
        care=(self_care, partial, full),
    )


@dataclass
class BatchResult:
    status: np.ndarray  # by household, a status code
    members: np.ndarray  # eligible members, by household
    amount: np.ndarray  # fen, by household: the eligible members' amounts
    eligible: np.ndarray  # by member
    assets: np.ndarray  # the asset test's outcome for the whole household, by household


def decide_batch(
    batch: arrays.Batch,
    params: BatchParams,
    shared: arrays.SharedParams,
    facts: arrays.Households,
) -> BatchResult:
    """``decide`` for every household of ``batch``."""
    count = facts.count
    household = facts.household
    income = arrays.net_income(batch, facts, params.counted)
    assets = arrays.asset_outcome(
        batch, shared.dibao_assets, facts.people, facts.residence, facts.standard_known
    )
    age = facts.age
    no_work_capacity = (
        (age >= params.elderly_age)
        | (age < params.minor_age)
        | params.schooling[batch.m_school]
        | arrays.grades(params.disability, batch)
    )
    income_outcome = np.where(
        ~facts.income_known | ~facts.member_standard_known,
        arrays.INSUFFICIENT,
        np.where(income < facts.member_standard, arrays.PASS, arrays.FAIL),
    )
    member_outcome = np.maximum.reduce(
        [
            np.where(no_work_capacity, arrays.PASS, arrays.FAIL),
            np.maximum(income_outcome, assets[household]),
            # no capable supporter
            arrays.must_hold(np.where(batch.m_supporter == -1, -1, 1 - batch.m_supporter)),
        ]
    )
    eligible = facts.counted & (member_outcome == arrays.PASS)
    self_care, partial, full = params.care
    care = np.select(
        [
            batch.m_selfcare < 0,
            batch.m_selfcare >= params.care_full_from,
            batch.m_selfcare >= params.care_partial_from,
        ],
        [0, full, partial],
        self_care,
    )
    members = arrays.count_by(household, eligible, count)
    amount = arrays.sum_by(
        household, params.basic[facts.residence][household] + care, eligible, count
    )
    undecided = arrays.count_by(
        household, facts.counted & (member_outcome == arrays.INSUFFICIENT), count
    )
    status = np.where(
        facts.people == 0,
        arrays.NOT_APPLICABLE,
        np.where(
            members > 0,
            arrays.ELIGIBLE,
            np.where(undecided > 0, arrays.INSUFFICIENT_DATA, arrays.INELIGIBLE),
        ),
    ).astype(np.int8)
    return BatchResult(
        status=status, members=members, amount=amount, eligible=eligible, assets=assets
    )
