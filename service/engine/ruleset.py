"""The rule-set file format: a dated version of one jurisdiction's parameters.

A version file names only the parameters it sets or changes; the bundle in force on a date is
national base ← city ← district, each the cumulative merge of its versions up to that date
(``bundle.py``). Every parameter is a *leaf* that carries its value and its provenance (source,
confidence, and a ``provisional`` reason where no public source gave the value). Unknown keys are
rejected everywhere: a misspelt setting must never be silently ignored.

Every number has the range its meaning allows (amounts of money are never negative, standards
and multipliers are above 0, shares and fractions of the minimum wage lie in (0, 1], periods are
at least one month...): a value outside it is refused, in Chinese and English, with its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Generic, Literal, TypeVar

import annotated_types
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

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


RULE_VALUE_OUT_OF_RANGE = "rule_value_out_of_range"
RULE_VALUE_INVALID = "rule_value_invalid"
"""Error types of the refusals below; their ``ctx`` holds ``reason_zh`` and ``reason_en``."""

_BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def refusal(error_type: str, reason_zh: str, reason_en: str) -> PydanticCustomError:
    """A validation error whose message is the reason in Chinese, then in English."""
    return PydanticCustomError(
        error_type,
        "{reason_zh} / {reason_en}",
        {"reason_zh": reason_zh, "reason_en": reason_en},
    )


@dataclass(frozen=True)
class Range:
    """The values one kind of parameter can take (``Annotated[Decimal, Range(...)]``).

    The bounds are pydantic's own (so they appear in the JSON Schema); a value outside them is
    refused with ``zh`` and ``en``, which say what the kind of value is and its range.
    """

    zh: str
    en: str
    gt: int | None = None
    ge: int | None = None
    le: int | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        bounds = annotated_types.Interval(gt=self.gt, ge=self.ge, le=self.le)
        inner = handler.generate_schema(Annotated[source, bounds])
        return core_schema.no_info_wrap_validator_function(self._refuse_outside, inner)

    def _refuse_outside(self, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            if not any(e["type"] in _BOUND_ERRORS for e in error.errors()):
                raise  # not a number at all: pydantic's own error
            raise refusal(
                RULE_VALUE_OUT_OF_RANGE,
                f"{self.zh}，不能是 {value}",
                f"{self.en}, not {value}",
            ) from None


# The kinds of number a rule file holds (the meaning of each parameter: docs of the rule sets).
Money = Annotated[
    Decimal, Range("金额（元）不能为负数", "an amount of money must not be negative", ge=0)
]
"""An amount, a cap or a limit in yuan: 0 or more."""
StandardAmount = Annotated[
    Decimal, Range("标准（元）必须大于 0", "a standard in yuan must be above 0", gt=0)
]
"""A 低保 or 特困 standard in yuan: a rule that compares with it or pays it is meaningless at 0."""
MinimumWage = Annotated[
    Decimal, Range("最低工资标准（元）必须大于 0", "a minimum wage in yuan must be above 0", gt=0)
]
DisposableIncomeFigure = Annotated[
    Decimal,
    Range(
        "人均可支配收入（元）必须大于 0",
        "a per-capita disposable income in yuan must be above 0",
        gt=0,
    ),
]
"""A published statistic, compared with like a standard: above 0."""
Multiplier = Annotated[Decimal, Range("倍数必须大于 0", "a multiplier must be above 0", gt=0)]
"""× a standard (cap, floor, 低保边缘 threshold, tier)."""
Share = Annotated[
    Decimal, Range("比例必须大于 0 且不超过 1", "a share must be above 0 and at most 1", gt=0, le=1)
]
"""A part of a whole: 0.3 of the standard, 0.7 of the income."""
Months = Annotated[int, Range("月数至少为 1", "a number of months must be at least 1", ge=1)]
"""A period in whole months."""
MonthsOfStandard = Annotated[
    Decimal, Range("月数至少为 1", "a number of months must be at least 1", ge=1)
]
"""A number of months of the standard (the financial-asset limit)."""
Age = Annotated[
    int,
    Range("年龄（周岁）应在 0 到 150 之间", "an age in years must be from 0 to 150", ge=0, le=150),
]
"""An age threshold in completed years."""
HomeCount = Annotated[int, Range("住房套数至少为 1", "a number of homes must be at least 1", ge=1)]
FloorArea = Annotated[
    Decimal, Range("面积（平方米）必须大于 0", "a floor area in m² must be above 0", gt=0)
]
DisabilityGrade = Annotated[
    int, Range("残疾等级应为 1 到 4", "a disability grade must be from 1 to 4", ge=1, le=4)
]
SelfCareItems = Annotated[
    int,
    Range(
        "生活自理能力项目数应为 1 到 6",
        "a number of self-care items must be from 1 to 6",
        ge=1,
        le=6,
    ),
]


def _wage_fraction(text: str) -> str:
    numerator, denominator = (int(part) for part in text.split("/"))
    if denominator == 0 or not 0 < Fraction(numerator, denominator) <= 1:
        raise refusal(
            RULE_VALUE_OUT_OF_RANGE,
            f"最低工资的分数必须大于 0 且不超过 1（如 1/3），不能是 {text}",
            f"a fraction of the minimum wage must be above 0 and at most 1 (e.g. 1/3), not {text}",
        )
    return text


WageFraction = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+/[0-9]+$",
        description="a fraction of the local minimum wage, above 0 and at most 1 (e.g. 1/3)",
    ),
    AfterValidator(_wage_fraction),
]


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
            raise refusal(
                RULE_VALUE_INVALID,
                "可信度为 P 时须以 provisional 说明原因",
                "confidence P needs a 'provisional' reason",
            )
        if self.confidence != "P" and self.provisional:
            raise refusal(
                RULE_VALUE_INVALID,
                "provisional 只用于可信度为 P 的参数",
                "'provisional' is only for confidence P",
            )
        return self


# Named leaf kinds: one per range (readable names in the JSON Schema).


class MoneyParam(Param[Money]):
    """An amount in yuan, 0 or more."""


class MultiplierParam(Param[Multiplier]):
    """× a standard, above 0."""


class ShareParam(Param[Share]):
    """A share in (0, 1]."""


class OptionalShareParam(Param[Share | None]):
    """A share in (0, 1], or null where the rule set has none."""


class MonthsParam(Param[Months]):
    """Whole months, at least 1."""


class AgeParam(Param[Age]):
    """An age in completed years, 0 to 150."""


class DisposableIncomeParam(Param[DisposableIncomeFigure]):
    """Per-capita disposable income in yuan a year, above 0."""


class MinimumWageParam(Param[MinimumWage | None]):
    """The local minimum wage in yuan a month (above 0), or null where no rule uses it."""


class StandardParam(Param[StandardAmount]):
    """A 低保 standard in yuan (above 0); an annual standard is divided by 12 exactly."""

    per: Literal["month", "year"] = "month"


# --- structured parameter values ---------------------------------------------------------


class DisabilityGrades(_Strict):
    categories: list[DisabilityCategory] | Literal["any"]
    max_grade: DisabilityGrade


class Supplement(_Strict):
    """分类施保 for one category: who qualifies (any of ``when``) and how much."""

    id: str
    when: list[SupplementCondition] = Field(min_length=1)
    amount: Money | None = Field(default=None, description="fixed yuan a month")
    share_of_standard: Share | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Supplement:
        if (self.amount is None) == (self.share_of_standard is None):
            raise refusal(
                RULE_VALUE_INVALID,
                "amount 与 share_of_standard 须给出且只给出其一",
                "give exactly one of amount or share_of_standard",
            )
        return self


class SupplementCondition(_Strict):
    """All given facts must hold (an AND); a supplement's ``when`` list is an OR of these."""

    age_at_least: Age | None = None
    age_below: Age | None = None
    schooling_in: list[Schooling] | None = None
    severe_disability: bool | None = Field(
        default=None, description="grade 1–2 of any category, or grade 3 intellectual/mental"
    )
    disability_grade_at_most: DisabilityGrade | None = Field(
        default=None, description="any category, grade 1 up to this grade"
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
    max_months: Months
    income_ceiling: Multiplier | None = Field(default=None, description="× standard; null: none")
    amount: Literal["keep", "fraction"]
    fraction: Share | None = Field(default=None, description="of the current amount")

    @model_validator(mode="after")
    def _fraction(self) -> GradualExit:
        if (self.amount == "fraction") != (self.fraction is not None):
            raise refusal(
                RULE_VALUE_INVALID,
                "amount 为 fraction 时须给出 fraction，否则不得给出",
                "fraction is required exactly when amount is 'fraction'",
            )
        return self


class SinglePerson(_Strict):
    household_types: list[Literal["marginal", "rigid_expenditure"]]
    disability: list[DisabilityGrades]
    serious_illness: bool


class Review(_Strict):
    months: Months
    able_to_work_months: Months


class FinancialLimit(_Strict):
    months: MonthsOfStandard = Field(
        description="limit = months × monthly standard × household size"
    )
    equal_passes: bool = Field(description="不超过 / 不高于: true; 低于: false")


class HomesLimit(_Strict):
    fail_from_count: HomeCount = Field(
        description="non-dilapidated homes from which the test fails"
    )
    per_capita_area_above: FloorArea | None = Field(
        default=None, description="then fail only when floor area per person is above this (m²)"
    )
    hard_fail_from_count: HomeCount | None = Field(
        default=None, description="fail from this count whatever the area"
    )


class CapitalLimit(_Strict):
    limit: Money
    equal_passes: bool


class TekunBasic(_Strict):
    mode: Literal["published", "multiplier"]
    urban: StandardAmount | None = None
    rural: StandardAmount | None = None
    multiplier: Multiplier | None = None
    base: Literal["urban", "residence"] | None = None

    @model_validator(mode="after")
    def _mode_fields(self) -> TekunBasic:
        if self.mode == "published" and (self.urban is None or self.rural is None):
            raise refusal(
                RULE_VALUE_INVALID,
                "published 方式须给出 urban 与 rural 金额",
                "published mode needs urban and rural amounts",
            )
        if self.mode == "multiplier" and (self.multiplier is None or self.base is None):
            raise refusal(
                RULE_VALUE_INVALID,
                "multiplier 方式须给出 multiplier 与 base",
                "multiplier mode needs multiplier and base",
            )
        return self


class TekunFloor(_Strict):
    multiplier: Multiplier
    base: Literal["urban", "residence"]
    tolerance: Money = Field(description="whole-yuan rounding allowance")


class CareTiers(_Strict):
    partial_from: SelfCareItems
    full_from: SelfCareItems

    @model_validator(mode="after")
    def _order(self) -> CareTiers:
        if self.partial_from >= self.full_from:
            raise refusal(
                RULE_VALUE_INVALID,
                "partial_from 须小于 full_from",
                "partial_from must be below full_from",
            )
        return self


class CareAmount(_Strict):
    fixed: Money | None = None
    wage_fraction: WageFraction | None = None

    @model_validator(mode="after")
    def _one(self) -> CareAmount:
        if (self.fixed is None) == (self.wage_fraction is None):
            raise refusal(
                RULE_VALUE_INVALID,
                "fixed 与 wage_fraction 须给出且只给出其一",
                "give exactly one of fixed or wage_fraction",
            )
        return self


class CareAmounts(_Strict):
    self_care: CareAmount | None
    partial: CareAmount | None
    full: CareAmount | None


class Cap(_Strict):
    fixed: Money | None = None
    standard_multiple: Multiplier | None = Field(
        default=None, description="× monthly standard × household size"
    )

    @model_validator(mode="after")
    def _one(self) -> Cap:
        if (self.fixed is None) == (self.standard_multiple is None):
            raise refusal(
                RULE_VALUE_INVALID,
                "fixed 与 standard_multiple 须给出且只给出其一",
                "give exactly one of fixed or standard_multiple",
            )
        return self


class Tier(_Strict):
    from_: Money = Field(alias="from")
    to: Money | None = None
    multiple: Multiplier = Field(description="× monthly standard")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_tiers(tiers: list[Tier]) -> list[Tier]:
    """Tiers must be contiguous, increasing, and only the last may be open-ended."""
    for index, tier in enumerate(tiers):
        if tier.to is not None and tier.to <= tier.from_:
            raise refusal(
                RULE_VALUE_INVALID,
                f"第 {index} 档的 to 须大于 from",
                f"tier {index}: 'to' must be above 'from'",
            )
        if index + 1 < len(tiers):
            following = tiers[index + 1]
            if tier.to is None:
                raise refusal(
                    RULE_VALUE_INVALID,
                    f"第 {index} 档没有上限，但不是最后一档",
                    f"tier {index} is open-ended but is not the last",
                )
            if following.from_ < tier.to:
                raise refusal(
                    RULE_VALUE_INVALID,
                    f"第 {index} 档与第 {index + 1} 档重叠",
                    f"tiers {index} and {index + 1} overlap",
                )
            if following.from_ > tier.to:
                raise refusal(
                    RULE_VALUE_INVALID,
                    f"第 {index} 档与第 {index + 1} 档之间有空档",
                    f"gap between tiers {index} and {index + 1}",
                )
    return tiers


Tiers = Annotated[list[Tier], AfterValidator(check_tiers)]
"""Bands of 12-month rigid spending: contiguous, increasing, only the last open-ended."""


class SpecialGroups(_Strict):
    """Groups with a higher 支出型 cap (长沙: urban special-hardship groups)."""

    residence: Literal["urban", "rural", "any"]
    programs: list[Literal["dibao", "tekun", "marginal"]] = Field(
        description="a result in this decision, or the current benefit, of one of these"
    )
    cap_multiple: Multiplier
    tiers: Tiers


# --- the parameter tree --------------------------------------------------------------------


def parameter(name_zh: str, name_en: str, *, description: str | None = None) -> Any:
    """A parameter's field: absent unless a version sets it, with the name a clerk reads.

    The name (``name_zh``, ``name_en``) is what a decision shows for the parameter, in its list
    of provisional parameters and in the rule-change lists (``messages.NAMES["parameter"]`` is
    built from these); it is published in the JSON Schema beside the field.
    """
    return Field(
        default=None,
        description=description,
        json_schema_extra={"name_zh": name_zh, "name_en": name_en},
    )


class IncomeRules(_Strict):
    dibao_excluded_types: Param[list[IncomeType]] | None = parameter(
        "低保不计入的收入", "income not counted for 低保"
    )
    tekun_excluded_types: Param[list[IncomeType]] | None = parameter(
        "特困不计入的收入", "income not counted for 特困"
    )
    deductions_allowed: Param[list[DeductionType]] | None = parameter(
        "可扣减的支出", "allowed deductions"
    )
    employment_cost_share: OptionalShareParam | None = parameter(
        "就业成本扣减比例",
        "employment-cost deduction share",
        description="of the standard, per employed member (驻马店 0.3)",
    )


class Standards(_Strict):
    urban: StandardParam | None = parameter("城市低保标准", "urban 低保 standard")
    rural: StandardParam | None = parameter("农村低保标准", "rural 低保 standard")
    unified: StandardParam | None = parameter("城乡统一低保标准", "unified 低保 standard")


class DibaoRules(_Strict):
    standard: Standards | None = None
    amount_mode: Param[Literal["difference"]] | None = parameter(
        "低保金计算方式", "how the 低保 amount is computed"
    )
    classified_supplements: Param[ClassifiedSupplements | None] | None = parameter(
        "分类施保标准", "classified supplements"
    )
    gradual_exit: Param[GradualExit] | None = parameter("渐退期规定", "gradual-exit rule")
    single_person: Param[SinglePerson] | None = parameter(
        "“单人户”纳入条件", "single-person inclusion rule"
    )
    review: Param[Review] | None = parameter("低保复核周期", "review interval")


class AssetRules(_Strict):
    financial: Param[FinancialLimit] | None = parameter("金融资产限额", "financial-asset limit")
    vehicles_disallowed: Param[list[VehicleKind]] | None = parameter(
        "不允许拥有的车辆种类", "vehicle kinds not allowed"
    )
    homes: Param[HomesLimit] | None = parameter("住房限制", "housing limit")
    commercial_property_fails: Param[bool] | None = parameter(
        "商业用房限制", "commercial-property rule"
    )
    business_capital: Param[CapitalLimit | None] | None = parameter(
        "市场主体认缴出资限额", "business-capital limit"
    )


class MarginalRules(_Strict):
    multiplier: MultiplierParam | None = parameter(
        "低保边缘家庭收入倍数", "低保边缘 income multiple"
    )
    upper_inclusive: Param[bool] | None = parameter(
        "低保边缘收入上限是否含本数", "whether the 低保边缘 limit is inclusive"
    )
    above_standard_required: Param[bool] | None = parameter(
        "低保边缘家庭收入须高于低保标准", "低保边缘 income must be above the standard"
    )
    assets: AssetRules | None = Field(
        default=None,
        description="unset limits: as 低保",
        # each limit is named as 低保's, after this: 低保边缘家庭金融资产限额
        json_schema_extra={"name_prefix_zh": "低保边缘家庭", "name_prefix_en": "低保边缘 "},
    )


class TekunRules(_Strict):
    elderly_age: AgeParam | None = parameter("老年人年龄标准", "old-age threshold")
    minor_age: AgeParam | None = parameter("未成年人年龄标准", "minor-age threshold")
    schooling_beyond_minor: Param[list[Schooling]] | None = parameter(
        "认定无劳动能力的在学情形", "schooling meaning no capacity to work"
    )
    disability: Param[list[DisabilityGrades]] | None = parameter(
        "认定无劳动能力的残疾类别和等级", "disabilities meaning no capacity to work"
    )
    basic: Param[TekunBasic] | None = parameter(
        "特困人员基本生活标准", "特困 basic living standard"
    )
    floor: Param[TekunFloor] | None = parameter(
        "基本生活标准下限", "floor of the basic living standard"
    )
    care_tiers: Param[CareTiers] | None = parameter("照料护理档次划分", "care tiers")
    care_amounts: Param[CareAmounts] | None = parameter("照料护理标准", "care amounts")
    minimum_wage: MinimumWageParam | None = parameter("最低工资标准", "minimum wage")


class TemporaryRules(_Strict):
    urgent_causes: Param[list[EmergencyCause]] | None = parameter(
        "急难型临时救助情形", "urgent-assistance causes"
    )
    urgent_cap: Param[Cap] | None = parameter("急难型临时救助上限", "urgent-assistance cap")
    advance_cap: MoneyParam | None = parameter("小额先行救助上限", "cap of the advance")
    expenditure_tiers: Param[Tiers] | None = parameter(
        "支出型临时救助分档", "expenditure-type bands"
    )
    expenditure_cap_multiple: MultiplierParam | None = parameter(
        "支出型临时救助上限倍数", "expenditure-type cap multiple"
    )
    special_groups: Param[SpecialGroups | None] | None = parameter(
        "特殊困难群体救助标准", "special groups' bands and cap"
    )


class DisposableIncome(_Strict):
    """Prior-year local per-capita disposable income, yuan a year."""

    urban: DisposableIncomeParam | None = parameter(
        "上年度城镇居民人均可支配收入", "prior-year urban per-capita disposable income"
    )
    rural: DisposableIncomeParam | None = parameter(
        "上年度农村居民人均可支配收入", "prior-year rural per-capita disposable income"
    )


class RigidExpenditureRules(_Strict):
    in_force: Param[bool] | None = parameter(
        "刚性支出困难家庭认定的实施", "rigid-expenditure recognition in force"
    )
    share_threshold: ShareParam | None = parameter(
        "刚性支出占收入比例标准",
        "rigid-spending share threshold",
        description="rigid spending of 12 months / countable income of 12 months",
    )
    threshold_inclusive: Param[bool] | None = parameter(
        "刚性支出比例标准是否含本数", "whether the share threshold is inclusive"
    )
    validity_months: MonthsParam | None = parameter(
        "刚性支出困难家庭认定有效期", "validity of the recognition"
    )


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


@dataclass(frozen=True)
class Leaf:
    """One parameter of the tree: its path, its model (``Param[...]``) and its name."""

    path: str
    model: type[Param[Any]]
    name_zh: str
    name_en: str


def _leaves(model: type[BaseModel], prefix: str, name_zh: str, name_en: str) -> list[Leaf]:
    out: list[Leaf] = []
    for field_name, info in model.model_fields.items():
        annotation = info.annotation
        inner = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
        target = inner[0] if inner else annotation
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        path = f"{prefix}{field_name}"
        if isinstance(target, type) and issubclass(target, Param):
            if "name_zh" not in extra:
                raise TypeError(f"{path}: declare it with parameter(name_zh, name_en)")
            out.append(
                Leaf(
                    path,
                    target,
                    f"{name_zh}{extra['name_zh']}",
                    f"{name_en}{extra['name_en']}",
                )
            )
        elif isinstance(target, type) and issubclass(target, BaseModel):
            out.extend(
                _leaves(
                    target,
                    f"{path}.",
                    f"{name_zh}{extra.get('name_prefix_zh', '')}",
                    f"{name_en}{extra.get('name_prefix_en', '')}",
                )
            )
    return out


LEAVES: tuple[Leaf, ...] = tuple(_leaves(Parameters, "", "", ""))
"""Every parameter of the format, in declaration order, each with its name."""
