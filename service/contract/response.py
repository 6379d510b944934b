"""The response of the decision contract.

The engine builds plain dicts for speed; these models describe them (JSON Schema in
``schemas/response.schema.json``) and the tests validate every response against them.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.contract.codes import DibaoBasis, Outcome, Status

MoneyText = str  # always two decimals, e.g. "630.00"


class _Open(BaseModel):
    # The service may add fields, never rename or drop them: readers must tolerate additions.
    model_config = ConfigDict(extra="allow")


class RulesetRef(_Open):
    id: str
    version: date = Field(description="effective date of the newest component of the bundle")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    components: list[str] = Field(default_factory=list, description="e.g. national@2021-01-01")


class SinglePersonShare(_Open):
    member: str
    monthly_amount: MoneyText


class DibaoResult(_Open):
    status: Status
    basis: DibaoBasis | None = None
    members: list[str] = Field(default_factory=list)
    monthly_amount: MoneyText | None = None
    per_capita_income: MoneyText | None = None
    standard: MoneyText | None = None
    payment_starts: date | None = None
    next_review: date | None = None
    exit_ends: date | None = None
    single_person: list[SinglePersonShare] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class TekunMember(_Open):
    member: str
    status: Status
    basic_monthly: MoneyText | None = None
    care_tier: Literal["self_care", "partial", "full"] | None = None
    care_monthly: MoneyText | None = None
    monthly_amount: MoneyText | None = None
    reasons: list[str] = Field(default_factory=list)


class TekunResult(_Open):
    status: Status
    members: list[TekunMember] = Field(default_factory=list)


class MarginalResult(_Open):
    status: Status
    threshold: MoneyText | None = None
    reasons: list[str] = Field(default_factory=list)


class RigidExpenditureResult(_Open):
    status: Status
    share: str | None = Field(default=None, description="12-month rigid spending / yearly income")
    valid_until: date | None = None
    reasons: list[str] = Field(default_factory=list)


class TemporaryResult(_Open):
    status: Status
    kind: Literal["urgent", "expenditure"] | None = None
    amount: MoneyText | None = None
    cap: MoneyText | None = None
    advance_cap: MoneyText | None = None
    case_by_case: bool | None = None
    tier: str | None = None
    reasons: list[str] = Field(default_factory=list)


class Programs(_Open):
    tekun: TekunResult
    dibao: DibaoResult
    marginal: MarginalResult
    rigid_expenditure: RigidExpenditureResult
    temporary: TemporaryResult


class Citation(_Open):
    title: str
    article: str
    quote: str


class TraceStep(_Open):
    step: str
    program: str
    member: str | None = None
    outcome: Outcome
    values: dict[str, str | list[str] | None]
    message_zh: str
    message_en: str
    citation: Citation
    provisional: bool
    provisional_parameters: list[str] = Field(default_factory=list)


class MissingFact(_Open):
    field: str
    program: str


class EvaluationResponse(_Open):
    decision_id: str | None = None
    jurisdiction: str
    as_of: date
    ruleset: RulesetRef
    engine_version: str
    programs: Programs
    provisional: list[str]
    missing: list[MissingFact]
    trace: list[TraceStep]


class Problem(_Open):
    path: str = Field(description="field path, e.g. household.income[0].monthly")
    reason_zh: str
    reason_en: str
    type: str


class ErrorResponse(_Open):
    errors: list[Problem]
