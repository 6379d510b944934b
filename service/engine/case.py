"""One household under one bundle: its facts, the parameters read, and the trace being written.

The programs (``service.engine.programs``) read the household through a ``Case``: its members
(``Person``), the computations several programs share (countable incomes, the per-capita income,
the asset tests: each done once per household, remembering the parameters it read), and
``step``, which writes one trace entry with the parameters read since the previous one.

Three-valued outcomes throughout: a rule whose fact is missing is ``insufficient_data`` and
names the field (``need``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.contract.request import PROGRAM_IDS, EvaluationRequest, Member
from service.engine.bundle import Bundle
from service.engine.messages import (
    ASSET_PHRASES,
    CITATION_FALLBACK,
    TEMPLATES,
    compile_entry,
    compile_template,
)
from service.engine.parameters import (
    BIT,
    Parameters,
    Place,
    StepMeta,
    TracedAssets,
    paths_of,
    place,
)

CENT = Decimal("0.01")
ZERO = Decimal("0")
ZERO_CENTS = Decimal("0.00")
# a rule's outcome
PASS, FAIL, NA, INSUFFICIENT = "pass", "fail", "not_applicable", "insufficient_data"
# a program's status (the contract's words)
ELIGIBLE, INELIGIBLE, INSUFFICIENT_DATA = "eligible", "ineligible", "insufficient_data"
NOT_APPLICABLE = "not_applicable"

ALL_PROGRAMS = frozenset(PROGRAM_IDS)
_COUNTABLE_TYPES = frozenset({"wage", "business", "property", "transfer", "other"})
_INTELLECTUAL_MENTAL = frozenset({"intellectual", "mental"})
_EMPLOYMENT_COST = BIT["income.employment_cost_share"]
_DEDUCTIONS = BIT["income.deductions_allowed"]
_TEKUN_EXCLUDED = BIT["income.tekun_excluded_types"]
_DIBAO_EXCLUDED = BIT["income.dibao_excluded_types"]
STATUS_OF_OUTCOME = {PASS: ELIGIBLE, FAIL: INELIGIBLE, INSUFFICIENT: INSUFFICIENT_DATA}
VARIANT_OF_OUTCOME = {PASS: "pass", FAIL: "fail", INSUFFICIENT: "insufficient"}

# ``quantize`` takes its rounding positionally below: the same call, but parsing a keyword
# argument costs as much as the rounding itself, and amounts are rounded ~20 times a household.


def money(value: Decimal) -> str:
    """The only rounding of an amount: half up to 0.01 元, as text with two decimals."""
    return str(value.quantize(CENT, ROUND_HALF_UP))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


_ISO_TEXT: dict[date, str] = {}


def iso(day: date) -> str:
    """``day.isoformat()``, remembered: formatting a date costs more than finding it again."""
    text = _ISO_TEXT.get(day)
    if text is None:
        if len(_ISO_TEXT) >= 8192:
            _ISO_TEXT.clear()  # bounded: requests bring arbitrary dates
        text = _ISO_TEXT[day] = day.isoformat()
    return text


SMALL_INT_TEXT = tuple(str(n) for n in range(256))


def int_text(n: int) -> str:
    """``str(n)`` for a count or an age, without formatting the common ones."""
    return SMALL_INT_TEXT[n] if 0 <= n < 256 else str(n)


def combine(outcomes: list[str] | tuple[str, ...]) -> str:
    """All rules of a path: one failure fails it; otherwise a missing fact leaves it open."""
    if FAIL in outcomes:
        return FAIL
    if INSUFFICIENT in outcomes:
        return INSUFFICIENT
    return PASS


def combine_paths(outcomes: list[str] | tuple[str, ...]) -> str:
    """Alternative paths: one passing path is enough; otherwise undecided beats failed."""
    if PASS in outcomes:
        return PASS
    if INSUFFICIENT in outcomes:
        return INSUFFICIENT
    return FAIL


def status(outcome: str) -> str:
    return STATUS_OF_OUTCOME.get(outcome, NOT_APPLICABLE)


def matching(
    steps: tuple[str, ...] | list[str], outcomes: tuple[str, ...] | list[str], wanted: str
) -> list[str]:
    """The steps whose outcome (the parallel sequence) is ``wanted``, in order.

    Indexes rather than ``zip(..., strict=True)``: the keyword alone cost more than the rest.
    """
    return [steps[i] for i, outcome in enumerate(outcomes) if outcome == wanted]


def decided(steps: tuple[str, ...], outcomes: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
    """A path of steps (``outcomes`` in the order of ``steps``): its outcome (``combine``), the
    program's status, and the steps whose outcome it is (the result's reasons). Programs keep
    what this gives for each combination: a lookup costs less than working it out again."""
    outcome = combine(outcomes)
    return outcome, status(outcome), tuple(matching(steps, outcomes, outcome))


@dataclass(slots=True)
class Person:
    """One counted member with the facts the rules read (no parameter is read to find them)."""

    id: str
    index: int  # in the request's members (for the names of missing fields)
    position: int  # among the counted members (for their incomes)
    age: int
    member: Member
    # the member's facts the rules read more than once (a model's attribute costs more to read)
    disability: Any
    schooling: str
    serious_illness: bool

    @property
    def severe_disability(self) -> bool:
        d = self.disability
        return d is not None and (
            d.grade <= 2 or (d.grade == 3 and d.category in _INTELLECTUAL_MENTAL)
        )

    def able_to_work(self) -> bool:
        return (
            16 <= self.age <= 59
            and not self.severe_disability
            and not self.serious_illness
            and self.schooling == "none"
        )


@dataclass(slots=True)
class AssetResult:
    """One asset test on the household, with the parameters it read (as bits)."""

    outcome: str
    values: dict[str, Any]
    failed: list[str]
    missing: list[str]
    read: int
    words: tuple[str, dict[str, str] | None] | None = None  # (variant, words), built once


@dataclass(slots=True)
class Income:
    """The household's countable income (after 特困 members leave) and its per-capita share."""

    total: Decimal | None
    per_capita: Decimal | None  # rounded to the cent: its text is ``str()``
    per_capita_text: str | None


NO_INCOME = Income(None, None, None)


class Case:
    """The working state of one evaluation: facts in, trace out."""

    def __init__(self, request: EvaluationRequest, bundle: Bundle):
        self.request = request
        self.bundle = bundle
        fields = request.__dict__  # the request's fields, without pydantic's ``__getattr__`` hook
        self.jurisdiction: str = fields["jurisdiction"]
        self.as_of: date = fields["as_of"]
        self.residence: str | None = fields["residence"]
        self.household = fields["household"]
        self.emergency = fields["emergency"]
        programs = fields["programs"]  # ``request.requested()``, without building a set each time
        self.requested = frozenset(programs) if programs else ALL_PROGRAMS
        rules = bundle.rules
        self.place: Place = rules.step_cache.get(self.residence) or place(
            rules, self.residence, bundle.version.isoformat()
        )
        self.params = Parameters(self.place)
        self.trace: list[dict[str, Any]] = []
        self.provisional: set[str] = set()
        self.missing: dict[tuple[str, str], None] = {}
        self.people = self._people()
        self._meta = self.place.step_meta_fast
        self._provisional_mask = self.place.provisional_mask
        # shared computations, each done once per household with the parameters it read
        self._deductions: tuple[list[Decimal | None], int] | None = None
        self._incomes: dict[bool, tuple[list[Decimal | None], int]] = {}
        self._income_of: tuple[list[Person], Income, int] | None = None
        self._assets: dict[tuple[int, int], AssetResult] = {}

    # --- facts ----------------------------------------------------------------------------

    def _people(self) -> list[Person]:
        # A request model's fields are its ``__dict__``: read there, a member's facts cost one
        # pass through pydantic's ``__getattr__`` hook instead of one each.
        as_of = self.as_of
        # ``age_on``, inline: completed years on the day of the request
        year, day = as_of.year, (as_of.month, as_of.day)
        people = []
        for index, member in enumerate(self.household.__dict__["members"]):
            fields = member.__dict__
            if fields["excluded"] is not None:
                continue
            birth = fields["birth_date"]
            people.append(
                Person(
                    fields["id"],
                    index,
                    len(people),
                    year - birth.year - (day < (birth.month, birth.day)),
                    member,
                    fields["disability"],
                    fields["schooling"],
                    fields["serious_illness"],
                )
            )
        return people

    def need(self, program: str, *fields: str) -> None:
        """The facts ``program`` lacks (listed only if its result stays undecided)."""
        missing = self.missing
        for field in fields:
            missing[(field, program)] = None

    def income_missing_field(self) -> str:
        return "household.income" if self.household.income is None else "residence"

    def _member_deductions(self) -> tuple[list[Decimal | None], int]:
        """Each counted member's deductions (None: unknown), and the parameters read."""
        found = self._deductions
        if found is not None:
            self.params.read |= found[1]
            return found
        params = self.params
        outer, params.read = params.read, 0
        deductions = self.household.__dict__["deductions"]
        by_member: dict[str, Decimal] = {}
        # read off the Place with their bits or-ed in, as ``Parameters`` does, without a call each
        here = self.place
        share = here.employment_cost_share
        params.read |= _EMPLOYMENT_COST
        if deductions:
            allowed = here.deductions_allowed
            params.read |= _DEDUCTIONS
            for item in deductions:
                if item.type not in allowed:
                    continue
                if share is not None and item.type == "employment_cost":
                    continue  # replaced by the rule set's own employment cost
                by_member[item.member] = by_member.get(item.member, ZERO) + item.monthly
        out: list[Decimal | None] = []
        for person in self.people:
            own: Decimal | None = by_member.get(person.id, ZERO)
            if share is not None and person.member.__dict__["employed"]:
                standard = params.standard()
                # the employment cost depends on the standard
                own = None if standard is None else own + share * standard  # type: ignore[operator]
            out.append(own)
        found = self._deductions = (out, params.read)
        params.read |= outer
        return found

    def incomes(self, tekun: bool) -> list[Decimal | None]:
        """Each counted member's countable income (for 特困 with its own exclusions), or None:
        after deductions, never below zero, rounded to the cent."""
        found = self._incomes.get(tekun)
        if found is not None:
            self.params.read |= found[1]
            return found[0]
        params = self.params
        outer, params.read = params.read, 0
        income = self.household.__dict__["income"]
        out: list[Decimal | None]
        if income is None:
            out = [None] * len(self.people)
        else:
            deductions, _ = self._member_deductions()
            gross: dict[str, Decimal] = {}
            if income:
                if tekun:
                    excluded = self.place.tekun_excluded
                    params.read |= _TEKUN_EXCLUDED
                else:
                    excluded = self.place.dibao_excluded
                    params.read |= _DIBAO_EXCLUDED
                for item in income:
                    fields = item.__dict__
                    kind = fields["type"]
                    if kind in _COUNTABLE_TYPES or kind not in excluded:
                        who = fields["member"]
                        gross[who] = gross.get(who, ZERO) + fields["monthly"]
            out = []
            for person in self.people:
                d = deductions[person.position]
                g = gross.get(person.id, ZERO)
                # no income and no deduction (most members): nothing to compute
                out.append(
                    None
                    if d is None
                    else ZERO_CENTS
                    if g is ZERO and d is ZERO
                    else max(ZERO, g - d).quantize(CENT, ROUND_HALF_UP)  # ``cents``
                )
        self._incomes[tekun] = (out, params.read)
        params.read |= outer
        return out

    def income(self, people: list[Person]) -> Income:
        """The countable income of ``people`` (the household after 特困 members leave)."""
        # 低保, 低保边缘, 刚性支出 and 临时救助 all ask about the same household.
        found = self._income_of
        if found is not None and found[0] is people:
            self.params.read |= found[2]
            return found[1]
        params = self.params
        outer, params.read = params.read, 0
        incomes = self.incomes(False)
        result = NO_INCOME
        if people:
            total = ZERO
            for person in people:
                own = incomes[person.position]
                if own is None:
                    break
                total += own
            else:
                per_capita = (total / len(people)).quantize(CENT, ROUND_HALF_UP)  # ``cents``
                result = Income(total, per_capita, str(per_capita))
        self._income_of = (people, result, params.read)
        params.read |= outer
        return result

    def rigid_total(self, program: str) -> Decimal | None:
        spending = self.household.rigid_expenditure_12m
        if spending is None:
            self.need(program, "household.rigid_expenditure_12m")
            return None
        missing = [
            f"household.rigid_expenditure_12m.{k}"
            for k in ("medical", "education", "rehabilitation", "other")
            if getattr(spending, k) is None
        ]
        if missing:
            self.need(program, *missing)
            return None
        return spending.medical + spending.education + spending.rehabilitation + spending.other  # type: ignore[no-any-return]

    # --- trace ----------------------------------------------------------------------------

    def step(
        self,
        step: str,
        program: str,
        outcome: str,
        variant: str,
        values: dict[str, Any],
        member: str | None = None,
        words: dict[str, str] | None = None,
    ) -> str:
        """Writes one trace entry; its provisional parameters are those read since the last."""
        params = self.params
        read = params.read
        if read:
            read &= self._provisional_mask  # only these change the entry
            params.read = 0
        by_variant = self._meta.get(step)
        meta = by_variant.get(variant) if by_variant is not None else None
        if meta is None or meta[0] != read:
            meta = self._step_meta(step, variant, read)
        _, build, provisional = meta
        self.trace.append(
            build(
                values, values if words is None else {**values, **words}, program, member, outcome
            )
        )
        if provisional:
            self.provisional.update(provisional)
        return outcome

    def no_step(self) -> None:
        """Reads that lead to no step (a rule looked up, and nothing to show): dropped here, so
        that they are not put on the next step written."""
        self.params.read = 0

    def _step_meta(self, step: str, variant: str, read: int) -> StepMeta:
        """Template, citation and provisional parameters of a step: fixed per bundle, cached."""
        key = (step, variant, read)
        here = self.place
        known = here.step_meta.get(key)
        if known is not None:
            return known
        zh, en = TEMPLATES[f"{step}.{variant}"]
        # The standard's name (城市/农村/城乡统一) is fixed for this evaluation: bake it in.
        words = here.standard_words
        zh = zh.replace("{standard_zh}", words["standard_zh"])
        en = en.replace("{standard_en}", words["standard_en"])
        provisional = tuple(f"{here.jurisdiction}.{p}" for p in paths_of(read))
        meta = (read, compile_entry(step, zh, en, self._citation(step), provisional), provisional)
        here.step_meta[key] = meta
        self._meta.setdefault(step, {}).setdefault(variant, meta)
        return meta

    def _citation(self, step: str) -> dict[str, str]:
        citations = self.bundle.citations
        key = step
        while key:
            found = citations.get(key)
            if found is not None:
                return found  # type: ignore[return-value]
            key = key.rpartition(".")[0]
        return CITATION_FALLBACK

    # --- the asset test, shared by every program ------------------------------------------

    def assets(self, limits: TracedAssets, size: int) -> AssetResult:
        """One asset test on the household's assets for ``size`` people (once per request)."""
        key = (id(limits), size)
        found = self._assets.get(key)
        if found is not None:
            self.params.read |= found.read
            return found
        params = self.params
        outer, params.read = params.read, 0
        result = self._asset_test(limits, size)
        result.read = params.read
        self._assets[key] = result
        params.read |= outer
        return result

    def _asset_test(self, limits: TracedAssets, size: int) -> AssetResult:
        params = self.params
        assets_model = self.household.assets
        values: dict[str, Any] = {}
        failed: list[str] = []
        missing: list[str] = []
        if assets_model is None:
            return AssetResult(INSUFFICIENT, values, failed, ["household.assets"], 0)
        assets = assets_model.__dict__  # its fields, without pydantic's ``__getattr__`` hook
        # The limits are read off ``limits`` with their bits or-ed in here, as ``Parameters``
        # does: five method calls an asset test fewer.
        rules = limits.limits
        here = self.place
        standard = here.standard
        params.read |= here.standard_bit
        if standard is None:
            missing.append("residence")
        else:
            rule = rules.financial
            params.read |= limits.financial_bit
            limit = (rule.months * standard * size).quantize(CENT, ROUND_HALF_UP)  # ``cents``
            values["financial_limit"] = str(limit)
            financial = assets["financial"]
            if financial is None:
                missing.append("household.assets.financial")
            else:
                values["financial"] = str(financial.quantize(CENT, ROUND_HALF_UP))  # ``money``
                over = financial > limit if rule.equal_passes else financial >= limit
                if over:
                    failed.append("financial")
        vehicles = assets["vehicles"]
        if vehicles is None:
            missing.append("household.assets.vehicles")
        else:
            disallowed = rules.vehicles_disallowed
            params.read |= limits.vehicles_bit
            bad = sorted({v.kind for v in vehicles if v.kind in disallowed}) if vehicles else []
            values["disallowed_vehicles"] = bad
            if bad:
                failed.append("vehicles")
        self._homes(assets["houses"], limits, size, values, failed, missing)
        params.read |= limits.commercial_bit
        if rules.commercial_property_fails:
            commercial = assets["commercial_property"]
            if commercial is None:
                missing.append("household.assets.commercial_property")
            else:
                values["commercial_property"] = "true" if commercial else "false"
                if commercial:
                    failed.append("commercial_property")
        capital = rules.business_capital
        params.read |= limits.capital_bit
        if capital is not None:
            cap = capital.limit
            values["business_capital_limit"] = money(cap)
            own = assets["business_capital"]
            if own is None:
                missing.append("household.assets.business_capital")
            else:
                values["business_capital"] = money(own)
                over = own > cap if capital.equal_passes else own >= cap
                if over:
                    failed.append("business_capital")
        outcome = FAIL if failed else INSUFFICIENT if missing else PASS
        return AssetResult(outcome, values, failed, missing, 0)

    def _homes(
        self,
        houses: Any,
        limits: TracedAssets,
        size: int,
        values: dict[str, Any],
        failed: list[str],
        missing: list[str],
    ) -> None:
        if houses is None:
            missing.append("household.assets.houses")
            return
        counted = []
        for index, house in enumerate(houses):
            dilapidated = house.__dict__["dilapidated"]
            if dilapidated is None:
                missing.append(f"household.assets.houses[{index}].dilapidated")
            elif not dilapidated:
                counted.append((index, house))
        values["homes_counted"] = (
            SMALL_INT_TEXT[len(counted)] if len(counted) < 256 else str(len(counted))
        )
        rule = limits.limits.homes
        self.params.read |= limits.homes_bit
        if rule.hard_fail_from_count is not None and len(counted) >= rule.hard_fail_from_count:
            failed.append("homes")
        elif len(counted) >= rule.fail_from_count:
            if rule.per_capita_area_above is None:
                failed.append("homes")
                return
            areas = []
            for index, house in counted:
                if house.area_m2 is None:
                    missing.append(f"household.assets.houses[{index}].area_m2")
                else:
                    areas.append(house.area_m2)
            if len(areas) == len(counted):
                per_capita = cents(sum(areas, ZERO) / size)
                values["home_area_per_capita_m2"] = str(per_capita)
                values["home_area_limit_m2"] = str(rule.per_capita_area_above)
                if per_capita > rule.per_capita_area_above:
                    failed.append("homes")

    def asset_step(self, step: str, program: str, limits: TracedAssets, size: int) -> str:
        """The asset test as a step of ``program``."""
        result = self.assets(limits, size)
        if result.words is None:
            # The words of the message depend only on the result: built once per test.
            if result.outcome == PASS:
                result.words = ("pass", None)
            elif result.outcome == FAIL:
                shown = result.values
                result.words = (
                    "fail",
                    {
                        "failed_zh": "；".join(
                            compile_template(ASSET_PHRASES[c][0], "zh")(shown)
                            for c in result.failed
                        ),
                        "failed_en": "; ".join(
                            compile_template(ASSET_PHRASES[c][1], "en")(shown)
                            for c in result.failed
                        ),
                    },
                )
            else:
                # the template names each missing field in its own language
                result.words = ("insufficient", {"missing_fields": result.missing})
        variant, words = result.words
        if result.missing and result.outcome == INSUFFICIENT:
            self.need(program, *result.missing)
        return self.step(step, program, result.outcome, variant, result.values, None, words)
