"""The request of the decision contract (家庭经济状况核对 record in, see contract/README).

Field names are fixed by the contract: they may be added to, never renamed or dropped.
Facts with a default are listed in the contract; every other fact may be omitted and is then
``None`` here, which the engine turns into ``insufficient_data`` (never a silent zero).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ProgramId = Literal["tekun", "dibao", "marginal", "rigid_expenditure", "temporary"]
PROGRAM_IDS: tuple[ProgramId, ...] = (
    "tekun",
    "dibao",
    "marginal",
    "rigid_expenditure",
    "temporary",
)

Residence = Literal["urban", "rural"]
Relation = Literal[
    "applicant", "spouse", "child", "parent", "grandparent", "grandchild", "sibling", "other"
]
DisabilityCategory = Literal[
    "physical", "intellectual", "mental", "visual", "hearing", "speech", "multiple"
]
Schooling = Literal["none", "compulsory", "high_school", "vocational", "undergraduate"]
Exclusion = Literal["clergy_away_3y", "prison", "compulsory_rehab", "missing"]
IncomeType = Literal[
    "wage",
    "business",
    "property",
    "transfer",
    "other",
    "special_care_pension",
    "family_planning_reward",
    "scholarship",
    "reward",
    "social_assistance",
    "basic_pension_base",
    "social_insurance",
    "old_age_allowance",
]
DeductionType = Literal["employment_cost", "disability_rigid", "illness_rigid"]
VehicleKind = Literal[
    "car",
    "truck",
    "motorcycle",
    "disability_vehicle",
    "large_farm_machinery",
    "ship",
    "construction_machinery",
]
EmergencyKind = Literal["urgent", "expenditure"]
EmergencyCause = Literal[
    "fire",
    "traffic_accident",
    "sudden_illness",
    "disaster",
    "other_accident",
    "medical",
    "education",
    "other",
]

_MONEY_TEXT = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")
_QUANTITY_TEXT = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,4})?$")


def _decimal(value: Any, *, pattern: re.Pattern[str], places: int, what_zh: str) -> Decimal:
    """Accept a decimal string, or a JSON number with at most ``places`` decimals; never negative."""
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, bool):
        raise PydanticCustomError(
            "money_type", '{zh} / must be a decimal string such as "1200.00"', {"zh": what_zh}
        )
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise PydanticCustomError(
            "money_type", '{zh} / must be a decimal string such as "1200.00"', {"zh": what_zh}
        )
    if text.startswith("-"):
        raise PydanticCustomError("money_negative", "不能为负数 / must not be negative", {})
    if isinstance(value, float) and "e" in text.lower():
        text = format(Decimal(text), "f")  # 1e-05 → 0.00001, then rejected below
    if not pattern.match(text):
        raise PydanticCustomError(
            "money_format",
            "{zh}，最多 {places} 位小数 / must be a non-negative decimal with at most {places} decimals",
            {"zh": what_zh, "places": places},
        )
    return Decimal(text)


def _money(value: Any) -> Decimal:
    return _decimal(value, pattern=_MONEY_TEXT, places=2, what_zh="金额应为非负十进制数")


def _quantity(value: Any) -> Decimal:
    return _decimal(value, pattern=_QUANTITY_TEXT, places=4, what_zh="数量应为非负十进制数")


# The published schemas say what a client should send: a decimal string. (A JSON number with
# at most two decimals is accepted too, but JSON Schema cannot state "two decimals" exactly.)
_DECIMAL_JSON_SCHEMA = {
    "type": "string",
    "pattern": _MONEY_TEXT.pattern,
    "description": 'yuan, a decimal string such as "1200.00": at most two decimals, never negative',
}

Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema(_DECIMAL_JSON_SCHEMA),
]
"""Yuan: a string of decimal digits (\"1200.00\") or a JSON number with at most two decimals."""

_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _calendar_date(value: Any) -> date:
    """Only a ``YYYY-MM-DD`` string (or, from Python callers, a ``date``): no times, no numbers."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "date_invalid",
                "不是日历上存在的日期（没有这个月或这一天） / not a real calendar date (no such month or day)",
                {},
            ) from None
    raise PydanticCustomError(
        "date_format", "日期格式应为 YYYY-MM-DD / date must be written YYYY-MM-DD", {}
    )


CalendarDate = Annotated[
    date,
    BeforeValidator(_calendar_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
"""A calendar date written ``YYYY-MM-DD``; data from other systems is never guessed at."""

Flag = Annotated[bool, Field(strict=True)]
"""Only JSON ``true`` or ``false``: ``"yes"``, ``1`` or ``"true"`` are refused, not guessed."""

WholeNumber = Annotated[int, Field(strict=True)]
"""Only a JSON integer: ``"2"`` and ``2.0`` are refused."""

Quantity = Annotated[
    Decimal,
    BeforeValidator(_quantity),
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _QUANTITY_TEXT.pattern,
            "description": "a decimal string: at most four decimals, never negative",
        }
    ),
]


class _Strict(BaseModel):
    # No silently ignored field: an unknown key is a 422 naming it.
    model_config = ConfigDict(extra="forbid", frozen=True)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a 公民身份号码."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


class Disability(_Strict):
    category: DisabilityCategory
    grade: WholeNumber = Field(ge=1, le=4)


class Member(_Strict):
    id: str = Field(min_length=1, max_length=64)
    relation: Relation
    birth_date: CalendarDate
    id_number: str | None = Field(
        default=None,
        description="公民身份号码, GB 11643; never stored in clear",
        json_schema_extra={"pattern": "^[0-9]{17}[0-9X]$"},
    )
    name: str | None = Field(default=None, max_length=100, description="never stored in clear")
    disability: Disability | None = None
    serious_illness: Flag = False
    employed: Flag = False
    schooling: Schooling = "none"
    self_care_failed_items: WholeNumber | None = Field(default=None, ge=0, le=6)
    has_capable_supporter: Flag | None = None
    excluded: Exclusion | None = None

    @field_validator("id_number")
    @classmethod
    def _check_id_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().upper()
        # The message never repeats the number: it is personal data.
        if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
            raise PydanticCustomError(
                "id_number_format",
                "公民身份号码应为 18 位 / the ID number must have 18 characters (17 digits and a digit or X)",
                {},
            )
        if id_number_check_digit(value[:17]) != value[17]:
            raise PydanticCustomError(
                "id_number_check_digit",
                "公民身份号码校验码错误 / the ID number's check digit (GB 11643) is wrong",
                {},
            )
        return value

    @model_validator(mode="after")
    def _birth_date_matches_id_number(self) -> Member:
        if self.id_number is not None and self.id_number[6:14] != self.birth_date.strftime(
            "%Y%m%d"
        ):
            raise PydanticCustomError(
                "id_number_birth_date",
                "公民身份号码中的出生日期与 birth_date 不一致 / the birth date in the ID number does not match birth_date",
                {"at": "id_number"},
            )
        return self


class IncomeItem(_Strict):
    member: str
    type: IncomeType
    monthly: Money


class DeductionItem(_Strict):
    member: str
    type: DeductionType
    monthly: Money


class Vehicle(_Strict):
    kind: VehicleKind


class House(_Strict):
    area_m2: Quantity | None = None
    dilapidated: Flag | None = None


class Assets(_Strict):
    financial: Money | None = None
    vehicles: list[Vehicle] | None = None
    houses: list[House] | None = None
    commercial_property: Flag | None = None
    business_capital: Money | None = None


class RigidExpenditure(_Strict):
    medical: Money | None = None
    education: Money | None = None
    rehabilitation: Money | None = None
    other: Money | None = None


class CurrentBenefit(_Strict):
    program: Literal["dibao", "tekun"]
    monthly_amount: Money | None = None
    since: CalendarDate | None = None
    exit_started: CalendarDate | None = None
    income_rise_from_employment: Flag | None = None


class Household(_Strict):
    members: list[Member] = Field(min_length=1, max_length=50)
    income: list[IncomeItem] | None = Field(
        default=None, description="omitted: unknown; [] states that there is no income"
    )
    deductions: list[DeductionItem] = Field(default_factory=list)
    assets: Assets | None = None
    rigid_expenditure_12m: RigidExpenditure | None = None
    current_benefit: CurrentBenefit | None = None

    @model_validator(mode="after")
    def _member_references(self) -> Household:
        seen: set[str] = set()
        for index, member in enumerate(self.members):
            if member.id in seen:
                raise PydanticCustomError(
                    "duplicate_member",
                    "成员编号重复 / duplicate member id",
                    {"at": f"members[{index}].id"},
                )
            seen.add(member.id)
        for field in ("income", "deductions"):
            for index, item in enumerate(getattr(self, field) or ()):
                if item.member not in seen:
                    raise PydanticCustomError(
                        "unknown_member",
                        "所指成员不在本户成员中 / names no member of the household",
                        {"at": f"{field}[{index}].member"},
                    )
        return self


class Emergency(_Strict):
    kind: EmergencyKind
    cause: EmergencyCause | None = None
    occurred_on: CalendarDate | None = None
    assessed_need: Money | None = None
    already_assisted: Flag | None = None


class EvaluationRequest(_Strict):
    """One household's economic-verification record and the programs to decide."""

    jurisdiction: str = Field(min_length=1, max_length=64, examples=["wuhan", "chongqing/banan"])
    as_of: CalendarDate = Field(
        default_factory=date.today, description="decision date; default today"
    )
    residence: Residence | None = None
    programs: list[ProgramId] | None = Field(default=None, description="default: all programs")
    household: Household
    emergency: Emergency | None = None

    def requested(self) -> frozenset[str]:
        return frozenset(self.programs) if self.programs else frozenset(PROGRAM_IDS)
