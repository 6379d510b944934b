"""A resolved bundle compiled into plain attributes for fast evaluation.

Built once per bundle (and cached on it), so evaluating a household reads attributes and never
walks dicts or pydantic models. The programs read these values through
``service.engine.parameters``, which records each read so that the trace can say which
provisional values a step used; the caseload's batch form reads them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from service.engine.ruleset import (
    AssetRules,
    Cap,
    CapitalLimit,
    CareAmount,
    ClassifiedSupplements,
    DisabilityGrades,
    FinancialLimit,
    GradualExit,
    HomesLimit,
    Parameters,
    SinglePerson,
    SpecialGroups,
    Tier,
)


@dataclass(frozen=True)
class AssetLimits:
    """The limits of one asset test (低保's, or 低保边缘's with its own overrides)."""

    program: str  # the parameter prefix: "assets" or "marginal.assets"
    financial: FinancialLimit
    vehicles_disallowed: frozenset[str]
    homes: HomesLimit
    commercial_property_fails: bool
    business_capital: CapitalLimit | None
    paths: tuple[str, ...]  # the parameter paths they come from


@dataclass(frozen=True)
class Rules:
    bundle_jurisdiction: str
    # standards, monthly, by residence ("urban"/"rural"); unified cities give both the same
    standard: dict[str, Decimal]
    standard_unified: bool
    dibao_excluded: frozenset[str]
    tekun_excluded: frozenset[str]
    deductions_allowed: frozenset[str]
    employment_cost_share: Decimal | None
    supplements: ClassifiedSupplements | None
    gradual_exit: GradualExit
    single_person: SinglePerson
    review_months: int
    review_able_to_work_months: int
    dibao_assets: AssetLimits
    marginal_assets: AssetLimits
    marginal_multiplier: Decimal
    marginal_upper_inclusive: bool
    marginal_above_standard_required: bool
    tekun_elderly_age: int
    tekun_minor_age: int
    tekun_schooling_beyond_minor: frozenset[str]
    tekun_disability: tuple[DisabilityGrades, ...]
    tekun_basic: dict[str, Decimal]  # by residence, monthly
    tekun_basic_mode: str  # "published", or a multiple of the "urban" or the "own" standard
    care_partial_from: int
    care_full_from: int
    care_amounts: dict[str, Decimal | None]  # by tier
    care_wage_based: dict[str, bool]  # by tier: a share of the minimum wage
    urgent_causes: frozenset[str]
    urgent_cap: Cap
    advance_cap: Decimal
    expenditure_tiers: tuple[Tier, ...]
    expenditure_cap_multiple: Decimal
    special_groups: SpecialGroups | None
    disposable_income_monthly: dict[str, Decimal]  # annual / 12, rounded to 0.01
    disposable_income_annual: dict[str, Decimal]
    rigid_in_force: bool
    rigid_share_threshold: Decimal
    rigid_threshold_inclusive: bool
    rigid_validity_months: int
    provisional: frozenset[str]  # parameter paths whose confidence is P
    # residence → the rules for it as the evaluation reads them, with the step metadata
    # (templates, citation, provisional names); filled on use, shared by every evaluation under
    # this bundle (see ``parameters.Place``).
    step_cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


CENT = Decimal("0.01")


def _asset_limits(
    base: AssetRules, override: AssetRules | None, prefix: str, same: AssetLimits | None = None
) -> AssetLimits:
    def pick(name: str) -> tuple[Any, str]:
        own = getattr(override, name) if override is not None else None
        if own is not None:
            return own.value, f"{prefix}.{name}"
        return getattr(base, name).value, f"assets.{name}"

    financial, p1 = pick("financial")
    vehicles, p2 = pick("vehicles_disallowed")
    homes, p3 = pick("homes")
    commercial, p4 = pick("commercial_property_fails")
    capital, p5 = pick("business_capital")
    if same is not None and (p1, p2, p3, p4, p5) == same.paths:
        return same  # no override: the very same test, computed once per household size
    return AssetLimits(
        program=prefix,
        financial=financial,
        vehicles_disallowed=frozenset(vehicles),
        homes=homes,
        commercial_property_fails=commercial,
        business_capital=capital,
        paths=(p1, p2, p3, p4, p5),
    )


def _care_amount(amount: CareAmount | None, minimum_wage: Decimal | None) -> Decimal | None:
    if amount is None:
        return None
    if amount.fixed is not None:
        return amount.fixed
    assert amount.wage_fraction is not None and minimum_wage is not None
    fraction = Fraction(amount.wage_fraction)
    # Exact: wage × numerator / denominator, rounded once to the cent.
    return (minimum_wage * fraction.numerator / fraction.denominator).quantize(
        CENT, rounding="ROUND_HALF_UP"
    )


def monthly_standard(model: Parameters, residence: str) -> Decimal:
    standards = model.dibao.standard  # type: ignore[union-attr]
    leaf = standards.unified or (standards.urban if residence == "urban" else standards.rural)  # type: ignore[union-attr]
    assert leaf is not None
    return leaf.value / 12 if leaf.per == "year" else leaf.value


def compile_rules(
    m: Parameters, jurisdiction: str, parameters: Mapping[str, Mapping[str, Any]]
) -> Rules:
    """The rules of a bundle (its parameters ``m``, as flat ``parameters`` with confidences)."""
    assert m.income and m.dibao and m.assets and m.marginal and m.tekun and m.temporary
    assert m.disposable_income and m.rigid_expenditure and m.dibao.standard
    standards = m.dibao.standard
    standard = {r: monthly_standard(m, r) for r in ("urban", "rural")}
    basic = m.tekun.basic.value  # type: ignore[union-attr]
    if basic.mode == "published":
        tekun_basic = {"urban": basic.urban, "rural": basic.rural}
    else:
        tekun_basic = {
            r: (basic.multiplier * standard["urban" if basic.base == "urban" else r]).quantize(  # type: ignore[operator]
                CENT, rounding="ROUND_HALF_UP"
            )
            for r in ("urban", "rural")
        }
    care = m.tekun.care_amounts.value  # type: ignore[union-attr]
    wage = m.tekun.minimum_wage.value if m.tekun.minimum_wage else None
    income = {r: getattr(m.disposable_income, r).value for r in ("urban", "rural")}
    dibao_assets = _asset_limits(m.assets, None, "assets")
    return Rules(
        bundle_jurisdiction=jurisdiction,
        standard=standard,
        standard_unified=standards.unified is not None,
        dibao_excluded=frozenset(m.income.dibao_excluded_types.value),  # type: ignore[union-attr]
        tekun_excluded=frozenset(m.income.tekun_excluded_types.value),  # type: ignore[union-attr]
        deductions_allowed=frozenset(m.income.deductions_allowed.value),  # type: ignore[union-attr]
        employment_cost_share=m.income.employment_cost_share.value,  # type: ignore[union-attr]
        supplements=m.dibao.classified_supplements.value,  # type: ignore[union-attr]
        gradual_exit=m.dibao.gradual_exit.value,  # type: ignore[union-attr]
        single_person=m.dibao.single_person.value,  # type: ignore[union-attr]
        review_months=m.dibao.review.value.months,  # type: ignore[union-attr]
        review_able_to_work_months=m.dibao.review.value.able_to_work_months,  # type: ignore[union-attr]
        dibao_assets=dibao_assets,
        marginal_assets=_asset_limits(m.assets, m.marginal.assets, "marginal.assets", dibao_assets),
        marginal_multiplier=m.marginal.multiplier.value,  # type: ignore[union-attr]
        marginal_upper_inclusive=m.marginal.upper_inclusive.value,  # type: ignore[union-attr]
        marginal_above_standard_required=m.marginal.above_standard_required.value,  # type: ignore[union-attr]
        tekun_elderly_age=m.tekun.elderly_age.value,  # type: ignore[union-attr]
        tekun_minor_age=m.tekun.minor_age.value,  # type: ignore[union-attr]
        tekun_schooling_beyond_minor=frozenset(m.tekun.schooling_beyond_minor.value),  # type: ignore[union-attr]
        tekun_disability=tuple(m.tekun.disability.value),  # type: ignore[union-attr]
        tekun_basic=tekun_basic,  # type: ignore[arg-type]
        tekun_basic_mode="published"
        if basic.mode == "published"
        else ("urban" if basic.base == "urban" else "own"),
        care_partial_from=m.tekun.care_tiers.value.partial_from,  # type: ignore[union-attr]
        care_full_from=m.tekun.care_tiers.value.full_from,  # type: ignore[union-attr]
        care_amounts={
            "self_care": _care_amount(care.self_care, wage),
            "partial": _care_amount(care.partial, wage),
            "full": _care_amount(care.full, wage),
        },
        care_wage_based={
            tier: amount is not None and amount.fixed is None
            for tier, amount in (
                ("self_care", care.self_care),
                ("partial", care.partial),
                ("full", care.full),
            )
        },
        urgent_causes=frozenset(m.temporary.urgent_causes.value),  # type: ignore[union-attr]
        urgent_cap=m.temporary.urgent_cap.value,  # type: ignore[union-attr]
        advance_cap=m.temporary.advance_cap.value,  # type: ignore[union-attr]
        expenditure_tiers=tuple(m.temporary.expenditure_tiers.value),  # type: ignore[union-attr]
        expenditure_cap_multiple=m.temporary.expenditure_cap_multiple.value,  # type: ignore[union-attr]
        special_groups=m.temporary.special_groups.value,  # type: ignore[union-attr]
        disposable_income_annual=income,
        disposable_income_monthly={
            r: (v / 12).quantize(CENT, rounding="ROUND_HALF_UP") for r, v in income.items()
        },
        rigid_in_force=m.rigid_expenditure.in_force.value,  # type: ignore[union-attr]
        rigid_share_threshold=m.rigid_expenditure.share_threshold.value,  # type: ignore[union-attr]
        rigid_threshold_inclusive=m.rigid_expenditure.threshold_inclusive.value,  # type: ignore[union-attr]
        rigid_validity_months=m.rigid_expenditure.validity_months.value,  # type: ignore[union-attr]
        provisional=frozenset(p for p, leaf in parameters.items() if leaf["confidence"] == "P"),
    )


def grades_match(
    rules: tuple[DisabilityGrades, ...] | list[DisabilityGrades], category: str, grade: int
) -> bool:
    for rule in rules:
        if (rule.categories == "any" or category in rule.categories) and grade <= rule.max_grade:
            return True
    return False
