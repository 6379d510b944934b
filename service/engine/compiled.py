"""A resolved bundle compiled into plain attributes for fast evaluation.

Built once per bundle (and cached on it), so evaluating a household reads attributes and never
walks dicts or pydantic models. The programs read these values through
``service.engine.parameters``, which records each read so that the trace can say which
provisional values a step used; the caseload's batch form reads them directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, make_dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import BaseModel

from service.engine.ruleset import (
    LEAVES,
    AssetRules,
    CapitalLimit,
    CareAmount,
    DisabilityGrades,
    FinancialLimit,
    HomesLimit,
    Parameters,
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


# --- parameters compiled as they are read ---------------------------------------------------
# Every parameter not listed in ``BY_HAND`` is compiled generically: its value as the rule set
# gives it (a list of codes as a frozenset, a list of structured values as a tuple) under one
# attribute of ``Rules``, named after its path (``marginal.upper_inclusive`` →
# ``marginal_upper_inclusive``) or, for the parameters older than this rule, by ``ATTRIBUTE``.
# ``parameters.Place`` copies these attributes and ``parameters.Parameters`` reads each through
# a generated traced reader: a new parameter of this kind needs no line in this module.

# Parameters whose compilation is written out below (``compile_rules``), or that no program reads
# (the 低保 amount is always the difference; the 特困 floor is checked when a bundle is validated).
BY_HAND_PREFIXES = ("dibao.standard.", "assets.", "marginal.assets.", "disposable_income.")
BY_HAND = frozenset(
    {
        "dibao.review",
        "tekun.basic",
        "tekun.care_tiers",
        "tekun.care_amounts",
        "tekun.minimum_wage",
        "dibao.amount_mode",
        "tekun.floor",
    }
)
# The names the programs and the batch forms have always read these parameters by.
ATTRIBUTE = {
    "income.dibao_excluded_types": "dibao_excluded",
    "income.tekun_excluded_types": "tekun_excluded",
    "income.deductions_allowed": "deductions_allowed",
    "income.employment_cost_share": "employment_cost_share",
    "dibao.classified_supplements": "supplements",
    "dibao.gradual_exit": "gradual_exit",
    "dibao.single_person": "single_person",
    "temporary.urgent_causes": "urgent_causes",
    "temporary.urgent_cap": "urgent_cap",
    "temporary.advance_cap": "advance_cap",
    "temporary.expenditure_tiers": "expenditure_tiers",
    "temporary.expenditure_cap_multiple": "expenditure_cap_multiple",
    "temporary.special_groups": "special_groups",
    "rigid_expenditure.in_force": "rigid_in_force",
    "rigid_expenditure.share_threshold": "rigid_share_threshold",
    "rigid_expenditure.threshold_inclusive": "rigid_threshold_inclusive",
    "rigid_expenditure.validity_months": "rigid_validity_months",
}


def _as_read(model: type[BaseModel]) -> Callable[[Any], Any]:
    """How a generic parameter's value is kept: lists become immutable, the rest as it is."""
    annotation = model.model_fields["value"].annotation
    if get_origin(annotation) is list:
        item = get_args(annotation)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return tuple
        return frozenset
    return _same


def _same(value: Any) -> Any:
    return value


GENERIC: dict[str, str] = {
    leaf.path: ATTRIBUTE.get(leaf.path, leaf.path.replace(".", "_"))
    for leaf in LEAVES
    if leaf.path not in BY_HAND and not leaf.path.startswith(BY_HAND_PREFIXES)
}
"""Parameter path → the attribute of ``Rules`` (and of ``parameters.Place``) holding its value."""
_KEEP = {leaf.path: _as_read(leaf.model) for leaf in LEAVES if leaf.path in GENERIC}


@dataclass(frozen=True)
class _CompiledByHand:
    bundle_jurisdiction: str
    # standards, monthly, by residence ("urban"/"rural"); unified cities give both the same
    standard: dict[str, Decimal]
    standard_unified: bool
    review_months: int
    review_able_to_work_months: int
    dibao_assets: AssetLimits
    marginal_assets: AssetLimits
    tekun_basic: dict[str, Decimal]  # by residence, monthly
    tekun_basic_mode: str  # "published", or a multiple of the "urban" or the "own" standard
    care_partial_from: int
    care_full_from: int
    care_amounts: dict[str, Decimal | None]  # by tier
    care_wage_based: dict[str, bool]  # by tier: a share of the minimum wage
    disposable_income_monthly: dict[str, Decimal]  # annual / 12, rounded to 0.01
    disposable_income_annual: dict[str, Decimal]
    provisional: frozenset[str]  # parameter paths whose confidence is P
    # residence → the rules for it as the evaluation reads them, with the step metadata
    # (templates, citation, provisional names); filled on use, shared by every evaluation under
    # this bundle (see ``parameters.Place``).
    step_cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


# The compiled rules: the fields above, then one per generic parameter (``GENERIC``), e.g.
# ``marginal_upper_inclusive: bool``, ``tekun_elderly_age: int``, ``urgent_causes: frozenset``.
if TYPE_CHECKING:

    class Rules(_CompiledByHand):
        """For type checkers: the generic parameters' attributes are made at import."""

        def __getattr__(self, name: str) -> Any: ...

else:
    Rules = make_dataclass(
        "Rules",
        [(attribute, Any, field(kw_only=True)) for attribute in GENERIC.values()],
        bases=(_CompiledByHand,),
        frozen=True,
    )
    Rules.__module__ = __name__


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
        review_months=m.dibao.review.value.months,  # type: ignore[union-attr]
        review_able_to_work_months=m.dibao.review.value.able_to_work_months,  # type: ignore[union-attr]
        dibao_assets=dibao_assets,
        marginal_assets=_asset_limits(m.assets, m.marginal.assets, "marginal.assets", dibao_assets),
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
        disposable_income_annual=income,
        disposable_income_monthly={
            r: (v / 12).quantize(CENT, rounding="ROUND_HALF_UP") for r, v in income.items()
        },
        provisional=frozenset(p for p, leaf in parameters.items() if leaf["confidence"] == "P"),
        **{attribute: _generic(m, path) for path, attribute in GENERIC.items()},
    )


def _generic(m: Parameters, path: str) -> Any:
    """The compiled value of a generic parameter (None where the bundle lacks it)."""
    leaf: Any = m
    for part in path.split("."):
        leaf = getattr(leaf, part)
        if leaf is None:
            return None
    return _KEEP[path](leaf.value)


def grades_match(
    rules: tuple[DisabilityGrades, ...] | list[DisabilityGrades], category: str, grade: int
) -> bool:
    for rule in rules:
        if (rule.categories == "any" or category in rule.categories) and grade <= rule.max_grade:
            return True
    return False
