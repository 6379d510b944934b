"""The rule-set file format: a dated version of one jurisdiction's parameters.

A version file names only the parameters it sets or changes; the bundle in force on a date is
national base ← city ← district, each the cumulative merge of its versions up to that date
(``bundle.py``). Every parameter is a *leaf* that carries its value and its provenance (source,
confidence, and a ``provisional`` reason where no public source gave the value). Unknown keys are
rejected everywhere: a misspelt setting must never be silently ignored.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from service.contract.request import (
    DeductionType,
    DisabilityCategory,
    EmergencyCause,
    IncomeType,
    Schooling,
    VehicleKind,
)

T = TypeVar("T")

Confidence = Literal["S", "H", "M", "L", "P"]
"""S stated in a seed document; H official text; M reputable secondary; L low-quality source or
inference; P provisional (no public value found, flagged in every decision that uses it)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Strict, Generic[T]):
    """One parameter: its value and where it comes from."""

    value: T
    source: str = Field(min_length=1, description="document, seed file or address")
    confidence: Confidence
    provisional: str | None = Field(
        default=None, description="why the value is provisional; required when confidence is P"
    )
    note: str | None = None

    @model_validator(mode="after")
    def _provisional_reason(self) -> Param[T]:
        if self.confidence == "P" and not self.provisional:
            raise ValueError("confidence P needs a 'provisional' reason")
        if self.confidence != "P" and self.provisional:
            raise ValueError("'provisional' is only for confidence P")
        return self


class StandardParam(Param[Decimal]):
    """A 低保 standard in yuan; an annual standard is divided by 12 exactly."""

    per: Literal["month", "year"] = "month"

    @model_validator(mode="after")
    def _positive(self) -> StandardParam:
        if self.value <= 0:
            raise ValueError("a 低保 standard must be above 0")
        return self


# --- structured parameter values ---------------------------------------------------------


class DisabilityGrades(_Strict):
    categories: list[DisabilityCategory] | Literal["any"]
    max_grade: int = Field(ge=1, le=4)


class Supplement(_Strict):
    """分类施保 for one category: who qualifies (any of ``when``) and how much."""

    id: str
    when: list[SupplementCondition] = Field(min_length=1)
    amount: Decimal | None = Field(default=None, ge=0, description="fixed yuan a month")
    share_of_standard: Decimal | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _one_amount(self) -> Supplement:
        if (self.amount is None) == (self.share_of_standard is None):
            raise ValueError("give exactly one of amount or share_of_standard")
        return self


class SupplementCondition(_Strict):
    """All given facts must hold (an AND); a supplement's ``when`` list is an OR of these."""

    age_at_least: int | None = None
    age_below: int | None = None
    schooling_in: list[Schooling] | None = None
    severe_disability: bool | None = Field(
        default=None, description="grade 1–2 of any category, or grade 3 intellectual/mental"
    )
    disability_grade_at_most: int | None = Field(
        default=None, ge=1, le=4, description="any category, grade 1 up to this grade"
    )
    any_disability: bool | None = None
    serious_illness: bool | None = None


class ClassifiedSupplements(_Strict):
    stacking: Literal["highest"] = Field(
        description="one supplement per person: the highest that applies"
    )
    items: list[Supplement]
    additional: list[Supplement] = Field(
        default_factory=list, description="paid on top of the highest (e.g. 重庆 残疾人员 +40)"
    )


class GradualExit(_Strict):
    max_months: int = Field(ge=0)
    income_ceiling: Decimal | None = Field(default=None, gt=0, description="× standard; null: none")
    amount: Literal["keep", "fraction"]
    fraction: Decimal | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _fraction(self) -> GradualExit:
        if (self.amount == "fraction") != (self.fraction is not None):
            raise ValueError("fraction is required exactly when amount is 'fraction'")
        return self


class SinglePerson(_Strict):
    household_types: list[Literal["marginal", "rigid_expenditure"]]
    disability: list[DisabilityGrades]
    serious_illness: bool


class Review(_Strict):
    months: int = Field(gt=0)
    able_to_work_months: int = Field(gt=0)


class FinancialLimit(_Strict):
    months: Decimal = Field(gt=0, description="limit = months × monthly standard × household size")
    equal_passes: bool = Field(description="不超过 / 不高于: true; 低于: false")


class HomesLimit(_Strict):
    fail_from_count: int = Field(
        ge=1, description="non-dilapidated homes from which the test fails"
    )
    per_capita_area_above: Decimal | None = Field(
        default=None, description="then fail only when floor area per person is above this (m²)"
    )
    hard_fail_from_count: int | None = Field(
        default=None, ge=1, description="fail from this count whatever the area"
    )


class CapitalLimit(_Strict):
    limit: Decimal = Field(ge=0)
    equal_passes: bool


class TekunBasic(_Strict):
    mode: Literal["published", "multiplier"]
    urban: Decimal | None = Field(default=None, ge=0)
    rural: Decimal | None = Field(default=None, ge=0)
    multiplier: Decimal | None = Field(default=None, gt=0)
    base: Literal["urban", "residence"] | None = None

    @model_validator(mode="after")
    def _mode_fields(self) -> TekunBasic:
        if self.mode == "published" and (self.urban is None or self.rural is None):
            raise ValueError("published mode needs urban and rural amounts")
        if self.mode == "multiplier" and (self.multiplier is None or self.base is None):
            raise ValueError("multiplier mode needs multiplier and base")
        return self


class TekunFloor(_Strict):
    multiplier: Decimal = Field(gt=0)
    base: Literal["urban", "residence"]
    tolerance: Decimal = Field(ge=0, description="whole-yuan rounding allowance")


class CareTiers(_Strict):
    partial_from: int = Field(ge=1, le=6)
    full_from: int = Field(ge=1, le=6)

    @model_validator(mode="after")
    def _order(self) -> CareTiers:
        if self.partial_from >= self.full_from:
            raise ValueError("partial_from must be below full_from")
        return self


class CareAmount(_Strict):
    fixed: Decimal | None = Field(default=None, ge=0)
    wage_fraction: str | None = Field(default=None, pattern=r"^[0-9]+/[0-9]+$")

    @model_validator(mode="after")
    def _one(self) -> CareAmount:
        if (self.fixed is None) == (self.wage_fraction is None):
            raise ValueError("give exactly one of fixed or wage_fraction")
        return self


class CareAmounts(_Strict):
    self_care: CareAmount | None
    partial: CareAmount | None
    full: CareAmount | None


class Cap(_Strict):
    fixed: Decimal | None = Field(default=None, ge=0)
    standard_multiple: Decimal | None = Field(
        default=None, gt=0, description="× monthly standard × household size"
    )

    @model_validator(mode="after")
    def _one(self) -> Cap:
        if (self.fixed is None) == (self.standard_multiple is None):
            raise ValueError("give exactly one of fixed or standard_multiple")
        return self


class Tier(_Strict):
    from_: Decimal = Field(alias="from", ge=0)
    to: Decimal | None = None
    multiple: Decimal = Field(gt=0, description="× monthly standard")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_tiers(tiers: list[Tier]) -> list[Tier]:
    """Tiers must be contiguous, increasing, and only the last may be open-ended."""
    for index, tier in enumerate(tiers):
        if tier.to is not None and tier.to <= tier.from_:
            raise ValueError(f"tier {index}: 'to' must be above 'from'")
        if index + 1 < len(tiers):
            following = tiers[index + 1]
            if tier.to is None:
                raise ValueError(f"tier {index} is open-ended but is not the last")
            if following.from_ < tier.to:
                raise ValueError(f"tiers {index} and {index + 1} overlap")
            if following.from_ > tier.to:
                raise ValueError(f"gap between tiers {index} and {index + 1}")
    return tiers


Tiers = Annotated[list[Tier], AfterValidator(check_tiers)]
"""Bands of 12-month rigid spending: contiguous, increasing, only the last open-ended."""


class SpecialGroups(_Strict):
    """Groups with a higher 支出型 cap (长沙: urban special-hardship groups)."""

    residence: Literal["urban", "rural", "any"]
    programs: list[Literal["dibao", "tekun", "marginal"]] = Field(
        description="a result in this decision, or the current benefit, of one of these"
    )
    cap_multiple: Decimal = Field(gt=0)
    tiers: Tiers


# --- the parameter tree --------------------------------------------------------------------


class IncomeRules(_Strict):
    dibao_excluded_types: Param[list[IncomeType]] | None = None
    tekun_excluded_types: Param[list[IncomeType]] | None = None
    deductions_allowed: Param[list[DeductionType]] | None = None
    employment_cost_share: Param[Decimal | None] | None = None


class Standards(_Strict):
    urban: StandardParam | None = None
    rural: StandardParam | None = None
    unified: StandardParam | None = None


class DibaoRules(_Strict):
    standard: Standards | None = None
    amount_mode: Param[Literal["difference"]] | None = None
    classified_supplements: Param[ClassifiedSupplements | None] | None = None
    gradual_exit: Param[GradualExit] | None = None
    single_person: Param[SinglePerson] | None = None
    review: Param[Review] | None = None


class AssetRules(_Strict):
    financial: Param[FinancialLimit] | None = None
    vehicles_disallowed: Param[list[VehicleKind]] | None = None
    homes: Param[HomesLimit] | None = None
    commercial_property_fails: Param[bool] | None = None
    business_capital: Param[CapitalLimit | None] | None = None


class MarginalRules(_Strict):
    multiplier: Param[Decimal] | None = None
    upper_inclusive: Param[bool] | None = None
    above_standard_required: Param[bool] | None = None
    assets: AssetRules | None = Field(default=None, description="unset limits: as 低保")


class TekunRules(_Strict):
    elderly_age: Param[int] | None = None
    minor_age: Param[int] | None = None
    schooling_beyond_minor: Param[list[Schooling]] | None = None
    disability: Param[list[DisabilityGrades]] | None = None
    basic: Param[TekunBasic] | None = None
    floor: Param[TekunFloor] | None = None
    care_tiers: Param[CareTiers] | None = None
    care_amounts: Param[CareAmounts] | None = None
    minimum_wage: Param[Decimal | None] | None = None


class TemporaryRules(_Strict):
    urgent_causes: Param[list[EmergencyCause]] | None = None
    urgent_cap: Param[Cap] | None = None
    advance_cap: Param[Decimal] | None = None
    expenditure_tiers: Param[Tiers] | None = None
    expenditure_cap_multiple: Param[Decimal] | None = None
    special_groups: Param[SpecialGroups | None] | None = None


class DisposableIncome(_Strict):
    """Prior-year local per-capita disposable income, yuan a year."""

    urban: Param[Decimal] | None = None
    rural: Param[Decimal] | None = None


class RigidExpenditureRules(_Strict):
    in_force: Param[bool] | None = None
    share_threshold: Param[Decimal] | None = None
    threshold_inclusive: Param[bool] | None = None
    validity_months: Param[int] | None = None


class Parameters(_Strict):
    income: IncomeRules | None = None
    dibao: DibaoRules | None = None
    assets: AssetRules | None = None
    marginal: MarginalRules | None = None
    tekun: TekunRules | None = None
    temporary: TemporaryRules | None = None
    disposable_income: DisposableIncome | None = None
    rigid_expenditure: RigidExpenditureRules | None = None


class Citation(_Strict):
    title: str
    article: str
    quote: str


class RuleSetVersion(_Strict):
    """One file ``rules/<jurisdiction>/<YYYY-MM-DD>.yaml``."""

    effective_from: date
    date_source: str | None = Field(default=None, description="where the effective date comes from")
    date_confidence: Confidence | None = None
    summary: str | None = Field(default=None, description="what this version changes, for people")
    parameters: Parameters = Field(default_factory=Parameters)
    citations: dict[str, Citation] = Field(default_factory=dict)


class Jurisdiction(_Strict):
    """``rules/<jurisdiction>/jurisdiction.yaml``."""

    id: str
    name_zh: str
    name_en: str
    division_code: str | None = Field(default=None, description="行政区划代码")
    parent: str | None = Field(default=None, description="null only for the national base")


Supplement.model_rebuild()
