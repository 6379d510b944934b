"""The parameters an evaluation reads, each read recorded: a step's provenance is what it read.

As OpenFisca's tracing parameter nodes record every parameter a formula reads, every parameter
the programs use is read through ``Parameters``, one per evaluation. Each method returns the
value and sets the parameter's bit in ``read``; the trace takes the bits when a step is written
(``Case.step``) and marks the step provisional exactly when one of them is a provisional
parameter. No step lists its parameters by hand, so the marks cannot drift from the rules.

The values live in a ``Place``: the bundle's compiled rules for one residence, with what derives
from the standard (thresholds, texts) worked out once. A value that derives from several
parameters (the 低保边缘 threshold: multiple × standard) records all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from service.engine.compiled import GENERIC, AssetLimits, Rules
from service.engine.messages import label

if TYPE_CHECKING:
    from service.engine.ruleset import (
        CapitalLimit,
        FinancialLimit,
        HomesLimit,
    )

CENT = Decimal("0.01")

# Every parameter an evaluation can read, in the order a step lists its provisional ones.
# (低保边缘's own asset limits sit beside 低保's: a step reads one or the other; the standard
# comes last, as it is the base most other figures are computed from.) A generic parameter
# (``compiled.GENERIC``) not listed here takes its place after the listed ones, before the
# standard, in the order of the rule-set schema.
_LISTED: tuple[str, ...] = (
    "income.dibao_excluded_types",
    "income.tekun_excluded_types",
    "income.deductions_allowed",
    "income.employment_cost_share",
    "tekun.elderly_age",
    "tekun.minor_age",
    "tekun.disability",
    "tekun.schooling_beyond_minor",
    "tekun.basic",
    "tekun.care_tiers",
    "tekun.care_amounts",
    "tekun.minimum_wage",
    "assets.financial",
    "marginal.assets.financial",
    "assets.vehicles_disallowed",
    "marginal.assets.vehicles_disallowed",
    "assets.homes",
    "marginal.assets.homes",
    "assets.commercial_property_fails",
    "marginal.assets.commercial_property_fails",
    "assets.business_capital",
    "marginal.assets.business_capital",
    "dibao.classified_supplements",
    "dibao.gradual_exit",
    "dibao.review",
    "dibao.single_person",
    "marginal.multiplier",
    "marginal.upper_inclusive",
    "marginal.above_standard_required",
    "rigid_expenditure.in_force",
    "disposable_income.urban",
    "disposable_income.rural",
    "rigid_expenditure.share_threshold",
    "rigid_expenditure.threshold_inclusive",
    "rigid_expenditure.validity_months",
    "temporary.urgent_causes",
    "temporary.urgent_cap",
    "temporary.advance_cap",
    "temporary.expenditure_tiers",
    "temporary.expenditure_cap_multiple",
    "temporary.special_groups",
)
_STANDARDS = ("dibao.standard.unified", "dibao.standard.urban", "dibao.standard.rural")
ORDER: tuple[str, ...] = (
    *_LISTED,
    *(path for path in GENERIC if path not in _LISTED),
    *_STANDARDS,
)
BIT: dict[str, int] = {path: 1 << index for index, path in enumerate(ORDER)}


def paths_of(read: int) -> tuple[str, ...]:
    """The parameter paths whose bits are set in ``read``, in ``ORDER``."""
    return tuple(path for path in ORDER if read & BIT[path])


def _bits(*paths: str) -> int:
    out = 0
    for path in paths:
        out |= BIT[path]
    return out


# (the step's entry builder, its provisional parameter names), by the provisional bits it read
StepMeta = tuple[int, Any, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class TracedAssets:
    """One asset test's limits (低保's, or 低保边缘's with its overrides), each read recorded."""

    limits: AssetLimits
    financial_bit: int
    vehicles_bit: int
    homes_bit: int
    commercial_bit: int
    capital_bit: int


def _traced_assets(limits: AssetLimits) -> TracedAssets:
    return TracedAssets(limits, *(BIT[path] for path in limits.paths))


@dataclass(eq=False)
class Place:
    """A bundle's rules for one residence: the values ``Parameters`` hands out and their bits.

    Fixed per bundle and residence, so built once (cached in ``Rules.step_cache``), together
    with the step metadata (templates with the standard's name baked in, citations, provisional
    parameters) that depends on it. Programs never read it directly: only through
    ``Parameters``, which records each read (or, on the hottest paths, by setting the bit
    ``Parameters`` would set themselves).

    Besides the fields below, a ``Place`` holds every generic parameter (``compiled.GENERIC``)
    under the attribute ``Rules`` has for it (``marginal_upper_inclusive``, ``urgent_cap``...),
    copied from the rules when it is built.
    """

    jurisdiction: str
    version_text: str  # the bundle's version, ISO format (not a parameter)
    standard_words: dict[str, str]  # the standard's name (城市/农村/城乡统一), zh and en
    provisional_mask: int  # the bits of the bundle's provisional parameters
    provisional: frozenset[str]
    # the standard and what derives from it
    standard: Decimal | None
    standard_text: str | None
    standard_bit: int  # 0 when no standard applies (no residence in a city with two)
    # the figures a result reports (the 低保 standard, the 低保边缘 threshold): shown whatever
    # the rules read, so not a read of any step
    result_standard_text: str | None
    result_threshold_text: str | None
    marginal_threshold: Decimal | None  # 低保边缘: the multiple of the standard, to the cent
    marginal_threshold_text: str | None
    marginal_multiplier_text: str
    # 刚性支出 and 临时救助 compare with last year's disposable income, a month of it
    disposable_income_monthly: Decimal | None
    disposable_income_monthly_text: str | None
    disposable_income_annual_text: str | None
    disposable_income_bit: int
    # the rules as compiled
    review_months: int
    review_able_to_work_months: int
    dibao_assets: TracedAssets
    marginal_assets: TracedAssets
    tekun_basic: Decimal  # monthly, for this residence (urban where none is given)
    tekun_basic_bit: int  # with the standard's when 特困 is a multiple of it
    care_partial_from: int
    care_full_from: int
    care_amounts: dict[str, Decimal | None]  # by tier
    care_amount_bits: dict[str, int]  # with the minimum wage's where a tier is a share of it
    advance_cap_text: str
    rigid_share_threshold_text: str
    step_meta: dict[tuple[str, str, int], StepMeta] = field(default_factory=dict)
    # step → variant → the first meta built for it: almost every call of a step reads the same
    # provisional parameters, and two string keys are found faster than a tuple key is hashed
    step_meta_fast: dict[str, dict[str, StepMeta]] = field(default_factory=dict)

    if TYPE_CHECKING:  # the generic parameters, set in ``place()``

        def __getattr__(self, name: str) -> Any: ...


def place(rules: Rules, residence: str | None, version_text: str) -> Place:
    """The ``Place`` of ``rules`` for ``residence``, built on first use and kept on the rules."""
    found = rules.step_cache.get(residence)
    if found is None:
        found = rules.step_cache[residence] = _place(rules, residence, version_text)
    return found  # type: ignore[no-any-return]


def _place(rules: Rules, residence: str | None, version_text: str) -> Place:
    standard: Decimal | None
    if residence is not None:
        standard = rules.standard[residence]
    elif rules.standard_unified:
        standard = rules.standard["urban"]
    else:
        standard = None
    if rules.standard_unified:
        standard_bit = BIT["dibao.standard.unified"]
    else:
        standard_bit = BIT[f"dibao.standard.{residence}"] if residence else 0
    threshold = (
        (rules.marginal_multiplier * standard).quantize(CENT, ROUND_HALF_UP)
        if standard is not None
        else None
    )
    line = rules.disposable_income_monthly.get(residence) if residence else None
    basic_mode = _tekun_basic_mode(rules)
    basic_residence = residence or "urban"  # only read without residence in unified cities
    basic_standard_bit = (
        0
        if basic_mode == "published"
        else BIT["dibao.standard.unified"]
        if rules.standard_unified
        else BIT[f"dibao.standard.{basic_residence if basic_mode == 'own' else 'urban'}"]
    )
    dibao_assets = _traced_assets(rules.dibao_assets)
    here = Place(
        jurisdiction=rules.bundle_jurisdiction,
        version_text=version_text,
        standard_words=label(residence, rules.standard_unified),
        provisional_mask=_bits(*(p for p in rules.provisional if p in BIT)),
        provisional=rules.provisional,
        standard=standard,
        standard_text=_money(standard) if standard is not None else None,
        standard_bit=standard_bit,
        result_standard_text=_money(standard) if standard is not None else None,
        result_threshold_text=_money(threshold) if threshold is not None else None,
        marginal_threshold=threshold,
        marginal_threshold_text=_money(threshold) if threshold is not None else None,
        marginal_multiplier_text=str(rules.marginal_multiplier),
        disposable_income_monthly=line,
        disposable_income_monthly_text=_money(line) if line is not None else None,
        disposable_income_annual_text=(
            str(rules.disposable_income_annual[residence]) if residence else None
        ),
        disposable_income_bit=BIT[f"disposable_income.{residence}"] if residence else 0,
        review_months=rules.review_months,
        review_able_to_work_months=rules.review_able_to_work_months,
        dibao_assets=dibao_assets,
        # the very same test where 低保边缘 has no limits of its own: computed once per household
        marginal_assets=dibao_assets
        if rules.marginal_assets is rules.dibao_assets
        else _traced_assets(rules.marginal_assets),
        tekun_basic=rules.tekun_basic[basic_residence],
        tekun_basic_bit=BIT["tekun.basic"] | basic_standard_bit,
        care_partial_from=rules.care_partial_from,
        care_full_from=rules.care_full_from,
        care_amounts=rules.care_amounts,
        care_amount_bits={
            tier: BIT["tekun.care_amounts"] | (BIT["tekun.minimum_wage"] if wage else 0)
            for tier, wage in rules.care_wage_based.items()
        },
        advance_cap_text=_money(rules.advance_cap),
        rigid_share_threshold_text=str(rules.rigid_share_threshold),
    )
    # the generic parameters, as compiled (kept in the instance's dict: read as fast as a field)
    here.__dict__.update({attribute: getattr(rules, attribute) for attribute in GENERIC.values()})
    return here


def _tekun_basic_mode(rules: Rules) -> str:
    """``published``, ``own`` (a multiple of the household's own standard) or ``urban``."""
    return rules.tekun_basic_mode


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


class Parameters:
    """The parameters of one evaluation: each method returns a value and records its read.

    Every generic parameter (``compiled.GENERIC``) has a method generated below, named as its
    attribute of ``Rules`` (``params.marginal_upper_inclusive()``); the methods written here read
    what is computed from several parameters or read in parts.

    Methods, not properties: a property's getter is called through its descriptor, which costs
    several times a method call on this interpreter, and these run ~50 times a household.

    ``read`` holds the bits of the parameters read since the trace last took them.
    """

    __slots__ = ("place", "read")

    if TYPE_CHECKING:  # the generic parameters' readers, generated below

        def __getattr__(self, name: str) -> Callable[[], Any]: ...

    def __init__(self, place: Place):
        self.place = place
        self.read = 0

    def take(self) -> int:
        """The bits read since the last call, and a fresh start."""
        read = self.read
        self.read = 0
        return read

    # --- the 低保 standard and what derives from it -----------------------------------------

    def standard(self) -> Decimal | None:
        place = self.place
        self.read |= place.standard_bit
        return place.standard

    def standard_text(self) -> str | None:
        place = self.place
        self.read |= place.standard_bit
        return place.standard_text

    def marginal_threshold(self) -> Decimal | None:
        place = self.place
        self.read |= place.standard_bit | _MARGINAL_MULTIPLIER
        return place.marginal_threshold

    def marginal_threshold_text(self) -> str | None:
        place = self.place
        self.read |= place.standard_bit | _MARGINAL_MULTIPLIER
        return place.marginal_threshold_text

    def marginal_multiplier_text(self) -> str:
        self.read |= _MARGINAL_MULTIPLIER
        return self.place.marginal_multiplier_text

    def disposable_income_monthly(self) -> Decimal | None:
        place = self.place
        self.read |= place.disposable_income_bit
        return place.disposable_income_monthly

    def disposable_income_monthly_text(self) -> str | None:
        place = self.place
        self.read |= place.disposable_income_bit
        return place.disposable_income_monthly_text

    def disposable_income_annual_text(self) -> str | None:
        place = self.place
        self.read |= place.disposable_income_bit
        return place.disposable_income_annual_text

    # --- assets -------------------------------------------------------------------------------

    def financial(self, assets: TracedAssets) -> FinancialLimit:
        self.read |= assets.financial_bit
        return assets.limits.financial

    def vehicles_disallowed(self, assets: TracedAssets) -> frozenset[str]:
        self.read |= assets.vehicles_bit
        return assets.limits.vehicles_disallowed

    def homes(self, assets: TracedAssets) -> HomesLimit:
        self.read |= assets.homes_bit
        return assets.limits.homes

    def commercial_property_fails(self, assets: TracedAssets) -> bool:
        self.read |= assets.commercial_bit
        return assets.limits.commercial_property_fails

    def business_capital(self, assets: TracedAssets) -> CapitalLimit | None:
        self.read |= assets.capital_bit
        return assets.limits.business_capital

    # --- 特困 ---------------------------------------------------------------------------------

    def tekun_basic(self) -> Decimal:
        place = self.place
        self.read |= place.tekun_basic_bit
        return place.tekun_basic

    def care_partial_from(self) -> int:
        self.read |= _CARE_TIERS
        return self.place.care_partial_from

    def care_full_from(self) -> int:
        self.read |= _CARE_TIERS
        return self.place.care_full_from

    def care_amount(self, tier: str) -> Decimal | None:
        place = self.place
        self.read |= place.care_amount_bits[tier]
        return place.care_amounts[tier]

    # --- 低保 ---------------------------------------------------------------------------------

    def review_months(self) -> int:
        self.read |= _REVIEW
        return self.place.review_months

    def review_able_to_work_months(self) -> int:
        self.read |= _REVIEW
        return self.place.review_able_to_work_months

    # --- 刚性支出 ---------------------------------------------------------------------------------

    def rigid_share_threshold_text(self) -> str:
        self.read |= _RIGID_SHARE
        return self.place.rigid_share_threshold_text

    # --- 临时救助 ---------------------------------------------------------------------------------

    def advance_cap_text(self) -> str:
        self.read |= _ADVANCE_CAP
        return self.place.advance_cap_text


def _traced_reader(path: str, attribute: str) -> Any:
    """The method of ``Parameters`` that reads a generic parameter and records its bit.

    Written out as source and compiled once, at import, so that it is the very function one
    would write by hand (the bit a constant of its code): a generated reader costs no more
    than a written one, where a ``__getattr__`` or a closure over the names would.
    """
    namespace: dict[str, Any] = {}
    exec(  # noqa: S102 - the source is built from the schema's own paths, not from input
        f"def {attribute}(self):\n"
        f"    self.read |= {BIT[path]}\n"
        f"    return self.place.{attribute}\n",
        namespace,
    )
    reader = namespace[attribute]
    reader.__qualname__ = f"Parameters.{attribute}"
    reader.__module__ = __name__
    reader.__doc__ = f"``{path}``, its read recorded."
    return reader


for _path, _attribute in GENERIC.items():
    assert _attribute.isidentifier() and not hasattr(Parameters, _attribute), _attribute
    setattr(Parameters, _attribute, _traced_reader(_path, _attribute))
del _path, _attribute


_MARGINAL_MULTIPLIER = BIT["marginal.multiplier"]
_CARE_TIERS = BIT["tekun.care_tiers"]
_REVIEW = BIT["dibao.review"]
_RIGID_SHARE = BIT["rigid_expenditure.share_threshold"]
_ADVANCE_CAP = BIT["temporary.advance_cap"]
