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
    int_text,
    money,
)
from service.engine.compiled import grades_match

STEPS = ("tekun.no_work_capacity", "tekun.no_means", "tekun.no_capable_supporter")
_SUPPORT_VARIANT = {PASS: "pass", FAIL: "fail", INSUFFICIENT: "insufficient"}


@dataclass(slots=True)
class Amount:
    basic_monthly: str
    care_tier: str | None
    care_monthly: str | None
    monthly_amount: str


@dataclass(slots=True)
class MemberResult:
    member: str
    status: str
    reasons: list[str]
    amount: Amount | None

    def document(self) -> dict[str, Any]:
        amount = self.amount
        return {
            "member": self.member,
            "status": self.status,
            "basic_monthly": amount.basic_monthly if amount else None,
            "care_tier": amount.care_tier if amount else None,
            "care_monthly": amount.care_monthly if amount else None,
            "monthly_amount": amount.monthly_amount if amount else None,
            "reasons": self.reasons,
        }


@dataclass(slots=True)
class Result:
    status: str
    members: list[MemberResult]
    eligible: list[str]  # the members found 特困: they leave the 低保 household
    undecided: list[str]  # the members whose result is undecided: they stay, and the trace says

    def document(self) -> dict[str, Any]:
        return {"status": self.status, "members": [m.document() for m in self.members]}


def decide(case: Case) -> Result:
    """Every counted member, one after the other."""
    params = case.params
    people = case.people
    assets = PASS
    if people:
        assets = case.asset_step(
            "tekun.asset_test", "tekun", params.place.dibao_assets, len(people)
        )
    members = [_member(case, person, assets) for person in people]
    eligible = [m.member for m in members if m.status == ELIGIBLE]
    undecided = [m.member for m in members if m.status == INSUFFICIENT_DATA]
    if not members:
        status = NOT_APPLICABLE
    elif eligible:
        status = ELIGIBLE
    elif undecided:
        status = INSUFFICIENT_DATA
    else:
        status = INELIGIBLE
    return Result(status, members, eligible, undecided)


def _member(case: Case, person: Person, assets: str) -> MemberResult:
    # The facts one member lacks are kept only if that member's result is undecided (or, for an
    # eligible member, the care assessment): a clerk needs the facts that would change a result.
    household_missing, case.missing = case.missing, {}
    outcomes = (
        _no_work_capacity(case, person),
        _no_means(case, person, assets),
        _no_capable_supporter(case, person),
    )
    # combine and status, inline: this runs for every member
    outcome = FAIL if FAIL in outcomes else INSUFFICIENT if INSUFFICIENT in outcomes else PASS
    status = STATUS_OF_OUTCOME[outcome]
    amount = _amount(case, person) if status == ELIGIBLE else None
    held, case.missing = case.missing, household_missing
    if status in (ELIGIBLE, INSUFFICIENT_DATA):
        household_missing.update(held)
    reasons = [STEPS[i] for i, o in enumerate(outcomes) if o == outcome]
    return MemberResult(person.id, status, reasons, amount)


def _no_work_capacity(case: Case, person: Person) -> str:
    """第五条: elderly, a minor (or a student beyond that age), or a listed disability."""
    params = case.params
    age = person.age
    disability = person.disability
    elderly_age = params.tekun_elderly_age
    minor_age = params.tekun_minor_age
    if age >= elderly_age:
        variant = "pass_elderly"
    elif age < minor_age:
        variant = "pass_minor"
    elif person.schooling in params.tekun_schooling_beyond_minor:
        variant = "pass_student"
    elif disability and grades_match(
        params.tekun_disability, disability.category, disability.grade
    ):
        variant = "pass_disability"
    else:
        variant = "fail"
    return case.step(
        "tekun.no_work_capacity",
        "tekun",
        FAIL if variant == "fail" else PASS,
        variant,
        {
            "age": SMALL_INT_TEXT[age] if 0 <= age < 256 else str(age),
            "disability": f"{disability.category}-{disability.grade}" if disability else "none",
            "schooling": person.schooling,
            "elderly_age": int_text(elderly_age),
            "minor_age": int_text(minor_age),
        },
        person.id,
    )


def _no_means(case: Case, person: Person, assets: str) -> str:
    """第六条: own income (特困 exclusions) below the standard, and the asset test."""
    params = case.params
    income = case.incomes(True)[person.position]
    standard = params.standard
    if income is None or standard is None:
        income_outcome = INSUFFICIENT
        case.need("tekun", case.income_missing_field() if income is None else "residence")
    else:
        income_outcome = PASS if income < standard else FAIL
    if income_outcome == FAIL:
        means, variant = FAIL, "fail_income"
    elif assets == FAIL:
        means, variant = FAIL, "fail_assets"
    elif INSUFFICIENT in (income_outcome, assets):
        means, variant = INSUFFICIENT, "insufficient"
    else:
        means, variant = PASS, "pass"
    # The asset test's own step came first: its parameters are its own, not this step's.
    return case.step(
        "tekun.no_means",
        "tekun",
        means,
        variant,
        {
            # rounded to the cent already: its text needs no second rounding
            "own_income": str(income) if income is not None else None,
            "standard": params.standard_text,
            "asset_test": assets,
        },
        person.id,
    )


def _no_capable_supporter(case: Case, person: Person) -> str:
    """第八条: no one able and obliged to support the member."""
    supporter = person.member.has_capable_supporter
    if supporter is None:
        support, shown = INSUFFICIENT, None
        case.need("tekun", f"household.members[{person.index}].has_capable_supporter")
    else:
        support, shown = (FAIL, "true") if supporter else (PASS, "false")
    return case.step(
        "tekun.no_capable_supporter",
        "tekun",
        support,
        _SUPPORT_VARIANT[support],
        {"has_capable_supporter": shown},
        person.id,
    )


def _amount(case: Case, person: Person) -> Amount:
    """Basic support plus the care amount of the member's care tier."""
    params = case.params
    basic = params.tekun_basic
    failed = person.member.self_care_failed_items
    tier: str | None
    if failed is None:
        tier = None
        case.need("tekun", f"household.members[{person.index}].self_care_failed_items")
    elif failed >= params.care_full_from:
        tier = "full"
    elif failed >= params.care_partial_from:
        tier = "partial"
    else:
        tier = "self_care"
    care: Decimal | None = params.care_amount(tier) if tier else None
    total = basic + (care or ZERO)
    amount = Amount(
        basic_monthly=money(basic),
        care_tier=tier,
        care_monthly=money(care) if care is not None else None,
        monthly_amount=money(total),
    )
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
            "basic_monthly": amount.basic_monthly,
            "self_care_failed_items": None if failed is None else str(failed),
            "care_tier": tier,
            "care_monthly": amount.care_monthly,
            "monthly_amount": amount.monthly_amount,
        },
        person.id,
    )
    return amount
