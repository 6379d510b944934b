"""Evaluates one household under one resolved bundle: the five programs and their trace.

Order (rules-reference §10): 特困 per member → 低保 on the remaining household (household basis,
then gradual exit) → 低保边缘 → 刚性支出 → 单人户 (reported under 低保) → 临时救助.

Three-valued logic throughout: a rule whose fact is missing is ``insufficient_data`` and names
the field; a program is ineligible if a rule fails on known facts, insufficient_data if none
fails but one lacks a fact, eligible if all pass. Where a program has alternative paths (低保:
household, gradual exit, single person) it is eligible if one path is, insufficient_data if none
is but one is undecided, and ineligible only when every path fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.contract.request import PROGRAM_IDS, EvaluationRequest, Member
from service.engine.bundle import Bundle
from service.engine.compiled import AssetLimits, Rules, grades_match
from service.engine.dates import add_months, age_on, first_of_next_month, whole_months_between
from service.engine.messages import (
    ASSET_PHRASES,
    CITATION_FALLBACK,
    TEMPLATES,
    EntryBuilder,
    compile_entry,
    compile_template,
    label,
)
from service.engine.version import ENGINE_VERSION

CENT = Decimal("0.01")
SHARE_PLACES = Decimal("0.0001")  # a 刚性支出 share is shown to four places
ZERO = Decimal("0")
PASS, FAIL, NA, INSUFFICIENT = "pass", "fail", "not_applicable", "insufficient_data"
ELIGIBLE, INELIGIBLE, UNKNOWN = "eligible", "ineligible", "insufficient_data"

_ALL_PROGRAMS = frozenset(PROGRAM_IDS)
_COUNTABLE_TYPES = frozenset({"wage", "business", "property", "transfer", "other"})
_INTELLECTUAL_MENTAL = frozenset({"intellectual", "mental"})
_TEKUN_CAPACITY_PARAMS = (
    "tekun.elderly_age",
    "tekun.minor_age",
    "tekun.disability",
    "tekun.schooling_beyond_minor",
)
_SUPPORT_VARIANT = {PASS: "pass", FAIL: "fail", INSUFFICIENT: "insufficient"}
_TEKUN_STEPS = ("tekun.no_work_capacity", "tekun.no_means", "tekun.no_capable_supporter")
# Result documents start as copies of these (copying a dict costs less than building it key by
# key); the keys keep their order, and every list in a result is set afresh.
_TEKUN_MEMBER: dict[str, Any] = {
    "member": None,
    "status": None,
    "basic_monthly": None,
    "care_tier": None,
    "care_monthly": None,
    "monthly_amount": None,
    "reasons": None,
}
_DIBAO_RESULT: dict[str, Any] = {
    "status": INELIGIBLE,
    "basis": None,
    "members": None,
    "monthly_amount": None,
    "per_capita_income": None,
    "standard": None,
    "payment_starts": None,
    "next_review": None,
    "exit_ends": None,
    "single_person": None,
    "reasons": None,
}
_TEMPORARY_RESULT: dict[str, Any] = {
    "status": "not_applicable",
    "kind": None,
    "amount": None,
    "cap": None,
    "advance_cap": None,
    "case_by_case": None,
    "tier": None,
    "reasons": None,
}


# ``quantize`` takes its rounding positionally below: the same call, but parsing a keyword
# argument costs as much as the rounding itself, and amounts are rounded ~20 times a household.


def money(value: Decimal) -> str:
    """The only rounding of an amount: half up to 0.01 元, as text with two decimals."""
    return str(value.quantize(CENT, ROUND_HALF_UP))


_ISO_TEXT: dict[date, str] = {}


def _iso(day: date) -> str:
    """``day.isoformat()``, remembered: formatting a date costs more than finding it again."""
    text = _ISO_TEXT.get(day)
    if text is None:
        if len(_ISO_TEXT) >= 8192:
            _ISO_TEXT.clear()  # bounded: requests bring arbitrary dates
        text = _ISO_TEXT[day] = day.isoformat()
    return text


_SMALL_INT_TEXT = tuple(str(n) for n in range(256))


def _int_text(n: int) -> str:
    """``str(n)`` for a count or an age, without formatting the common ones."""
    return _SMALL_INT_TEXT[n] if 0 <= n < 256 else str(n)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


ZERO_CENTS = Decimal("0.00")


def _net_income(gross: Decimal, deduction: Decimal) -> Decimal:
    """A member's countable income after deductions, never below zero, rounded to the cent."""
    if gross is ZERO and deduction is ZERO:
        return ZERO_CENTS  # no income and no deduction (most members): nothing to compute
    return cents(max(ZERO, gross - deduction))


def _combine(outcomes: list[str] | tuple[str, ...]) -> str:
    if FAIL in outcomes:
        return FAIL
    if INSUFFICIENT in outcomes:
        return INSUFFICIENT
    return PASS


_STATUS_OF_OUTCOME = {PASS: ELIGIBLE, FAIL: INELIGIBLE, INSUFFICIENT: UNKNOWN}


def _matching(
    steps: tuple[str, ...] | list[str], outcomes: tuple[str, ...] | list[str], wanted: str
) -> list[str]:
    """The steps whose outcome (the parallel sequence) is ``wanted``, in order.

    Indexes rather than ``zip(..., strict=True)``: the keyword alone cost more than the rest.
    """
    return [steps[i] for i, outcome in enumerate(outcomes) if outcome == wanted]


def _status(outcome: str) -> str:
    return _STATUS_OF_OUTCOME.get(outcome, "not_applicable")


# (the parameters it is for, the step's entry builder, its provisional parameter names)
StepMeta = tuple[tuple[str, ...], EntryBuilder, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Residence:
    """What an evaluation reads about the 低保 standard for one residence under one bundle.

    Fixed per bundle and residence, so built once (cached in ``Rules.step_cache``) rather than
    per household, together with the step metadata (templates with the standard's name baked
    in, citations, provisional parameters) that depends on it.
    """

    standard: Decimal | None
    standard_text: str | None
    standard_words: dict[str, str]  # the standard's name (城市/农村/城乡统一), zh and en
    standard_params: tuple[str, ...]
    marginal_threshold: Decimal | None  # 低保边缘: the multiple of the standard, to the cent
    marginal_threshold_text: str | None
    # 刚性支出 and 临时救助 compare with last year's disposable income, a month of it
    disposable_income_monthly: Decimal | None
    disposable_income_monthly_text: str | None
    disposable_income_annual_text: str | None
    # texts of the bundle's own figures (Rules keeps only the rules: the caseload path reads it)
    version_text: str  # the bundle's version, ISO format
    marginal_multiplier_text: str
    rigid_share_threshold_text: str
    advance_cap_text: str
    step_meta: dict[tuple[str, str, tuple[str, ...]], StepMeta]
    # step → variant → the first of those metas: a call site passes the same parameters each
    # time (almost always), and two string keys are found faster than a tuple key is hashed
    step_meta_fast: dict[str, dict[str, StepMeta]]


def _residence(bundle: Bundle, rules: Rules, residence: str | None) -> Residence:
    standard: Decimal | None
    if residence is not None:
        standard = rules.standard[residence]
    elif rules.standard_unified:
        standard = rules.standard["urban"]
    else:
        standard = None
    params: tuple[str, ...]
    if rules.standard_unified:
        params = ("dibao.standard.unified",)
    else:
        params = (f"dibao.standard.{residence}",) if residence else ()
    threshold = cents(rules.marginal_multiplier * standard) if standard is not None else None
    line = rules.disposable_income_monthly.get(residence) if residence else None
    return Residence(
        standard=standard,
        standard_text=money(standard) if standard is not None else None,
        standard_words=label(residence, rules.standard_unified),
        standard_params=params,
        marginal_threshold=threshold,
        marginal_threshold_text=money(threshold) if threshold is not None else None,
        disposable_income_monthly=line,
        disposable_income_monthly_text=money(line) if line is not None else None,
        disposable_income_annual_text=(
            str(rules.disposable_income_annual[residence]) if residence else None
        ),
        version_text=bundle.version.isoformat(),
        marginal_multiplier_text=str(rules.marginal_multiplier),
        rigid_share_threshold_text=str(rules.rigid_share_threshold),
        advance_cap_text=money(rules.advance_cap),
        step_meta={},
        step_meta_fast={},
    )


@dataclass(slots=True)
class Person:
    """One counted member with the facts the rules read, computed once."""

    id: str
    index: int
    age: int
    member: Member
    dibao_income: Decimal | None  # own countable income for 低保 (after deductions)
    tekun_income: Decimal | None  # own countable income with the 特困 exclusions
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


@dataclass(slots=True)
class AssetResult:
    outcome: str
    values: dict[str, Any]
    failed: list[str]
    missing: list[str]
    step_args: tuple[str, tuple[str, ...], dict[str, str] | None] | None = None


class Evaluation:
    """The working state of one evaluation; ``run()`` returns the response document."""

    def __init__(self, request: EvaluationRequest, bundle: Bundle):
        self.request = request
        self.bundle = bundle
        self.rules: Rules = bundle.rules
        fields = request.__dict__  # the request's fields, without pydantic's ``__getattr__`` hook
        self.as_of = fields["as_of"]
        self.residence = fields["residence"]
        self.household = fields["household"]
        self.emergency = fields["emergency"]
        programs = fields["programs"]  # ``request.requested()``, without building a set each time
        self.requested = frozenset(programs) if programs else _ALL_PROGRAMS
        self.trace: list[dict[str, Any]] = []
        self.provisional: set[str] = set()
        self.missing: dict[tuple[str, str], None] = {}
        # While one 特困 member is assessed, the facts it lacks are held here and kept only if
        # that member's result is undecided: a clerk needs the facts that would change a result.
        self._member_missing: dict[tuple[str, str], None] | None = None
        self._asset_cache: dict[tuple[int, int], AssetResult] = {}
        self._per_capita_of: list[Person] | None = None  # the people ``_per_capita`` is for
        self._per_capita: tuple[Decimal | None, Decimal | None] = (None, None)
        place = self.rules.step_cache.get(self.residence)
        if place is None:
            place = self.rules.step_cache[self.residence] = _residence(
                bundle, self.rules, self.residence
            )
        self.standard = place.standard
        self.standard_text = place.standard_text
        self.standard_words = place.standard_words
        self.standard_params = place.standard_params
        self.place = place
        self._meta = place.step_meta_fast
        self.people = self._people()

    # --- facts ----------------------------------------------------------------------------

    def _people(self) -> list[Person]:
        # A request model's fields are its ``__dict__``: read there, a member's eight facts cost
        # one pass through pydantic's ``__getattr__`` hook instead of eight.
        household = self.household.__dict__
        rules = self.rules
        income = household["income"]
        income_known = income is not None
        dibao: dict[str, Decimal] = {}
        tekun: dict[str, Decimal] = {}
        if income_known:
            for item in income:
                fields = item.__dict__
                kind = fields["type"]
                who = fields["member"]
                if kind in _COUNTABLE_TYPES or kind not in rules.dibao_excluded:
                    dibao[who] = dibao.get(who, ZERO) + fields["monthly"]
                if kind in _COUNTABLE_TYPES or kind not in rules.tekun_excluded:
                    tekun[who] = tekun.get(who, ZERO) + fields["monthly"]
        deductions: dict[str, Decimal] = {}
        share = rules.employment_cost_share
        for item in household["deductions"]:
            if item.type not in rules.deductions_allowed:
                continue
            if share is not None and item.type == "employment_cost":
                continue  # replaced by the rule set's own employment cost
            deductions[item.member] = deductions.get(item.member, ZERO) + item.monthly
        standard = self.standard
        as_of = self.as_of
        people = []
        for index, member in enumerate(household["members"]):
            fields = member.__dict__
            if fields["excluded"] is not None:
                continue
            member_id = fields["id"]
            own_deduction = deductions.get(member_id, ZERO)
            income_ok = income_known
            if share is not None and fields["employed"]:
                if standard is None:
                    income_ok = False  # the employment cost depends on the standard
                else:
                    own_deduction += share * standard
            if income_ok:
                dibao_gross = dibao.get(member_id, ZERO)
                tekun_gross = tekun.get(member_id, ZERO)
                dibao_income: Decimal | None = _net_income(dibao_gross, own_deduction)
                tekun_income = (
                    dibao_income
                    if tekun_gross == dibao_gross
                    else _net_income(tekun_gross, own_deduction)
                )
            else:
                dibao_income = tekun_income = None
            people.append(
                Person(
                    member_id,
                    index,
                    age_on(fields["birth_date"], as_of),
                    member,
                    dibao_income,
                    tekun_income,
                    fields["disability"],
                    fields["schooling"],
                    fields["serious_illness"],
                )
            )
        return people

    def _need(self, program: str, *fields: str) -> None:
        target = self._member_missing if self._member_missing is not None else self.missing
        for field in fields:
            target[(field, program)] = None

    def _income_missing_field(self) -> str:
        return "household.income" if self.household.income is None else "residence"

    # --- trace ----------------------------------------------------------------------------

    def step(
        self,
        step: str,
        program: str,
        outcome: str,
        variant: str,
        values: dict[str, Any],
        params: tuple[str, ...] = (),
        member: str | None = None,
        words: dict[str, str] | None = None,
    ) -> str:
        by_variant = self._meta.get(step)
        meta = by_variant.get(variant) if by_variant is not None else None
        if meta is None or (meta[0] is not params and meta[0] != params):
            meta = self._step_meta(step, variant, params)
        _, build, provisional = meta
        self.trace.append(
            build(
                values, values if words is None else {**values, **words}, program, member, outcome
            )
        )
        if provisional:
            self.provisional.update(provisional)
        return outcome

    def _step_meta(self, step: str, variant: str, params: tuple[str, ...]) -> StepMeta:
        """Template, citation and provisional parameters of a step: fixed per bundle, cached."""
        key = (step, variant, params)
        known = self.place.step_meta.get(key)
        if known is not None:
            return known
        zh, en = TEMPLATES[f"{step}.{variant}"]
        # The standard's name (城市/农村/城乡统一) is fixed for this evaluation: bake it in.
        words = self.standard_words
        zh = zh.replace("{standard_zh}", words["standard_zh"])
        en = en.replace("{standard_en}", words["standard_en"])
        jurisdiction = self.bundle.jurisdiction
        provisional = tuple(f"{jurisdiction}.{p}" for p in params if p in self.rules.provisional)
        meta = (params, compile_entry(step, zh, en, self._citation(step), provisional), provisional)
        self.place.step_meta[key] = meta
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

    # --- shared tests ---------------------------------------------------------------------

    def asset_test(self, limits: AssetLimits, size: int) -> AssetResult:
        """One asset test on the household's assets for ``size`` people (cached per request)."""
        key = (id(limits), size)
        cached = self._asset_cache.get(key)
        if cached is not None:
            return cached
        assets_model = self.household.assets
        values: dict[str, Any] = {}
        failed: list[str] = []
        missing: list[str] = []
        if assets_model is None:
            result = AssetResult(INSUFFICIENT, values, failed, ["household.assets"])
            self._asset_cache[key] = result
            return result
        assets = assets_model.__dict__  # its fields, without pydantic's ``__getattr__`` hook
        if self.standard is None:
            missing.append("residence")
        else:
            rule = limits.financial
            limit = cents(rule.months * self.standard * size)
            values["financial_limit"] = str(limit)
            financial = assets["financial"]
            if financial is None:
                missing.append("household.assets.financial")
            else:
                values["financial"] = money(financial)
                over = financial > limit if rule.equal_passes else financial >= limit
                if over:
                    failed.append("financial")
        vehicles = assets["vehicles"]
        if vehicles is None:
            missing.append("household.assets.vehicles")
        else:
            disallowed = limits.vehicles_disallowed
            bad = sorted({v.kind for v in vehicles if v.kind in disallowed}) if vehicles else []
            values["disallowed_vehicles"] = bad
            if bad:
                failed.append("vehicles")
        self._homes(assets["houses"], limits, size, values, failed, missing)
        if limits.commercial_property_fails:
            commercial = assets["commercial_property"]
            if commercial is None:
                missing.append("household.assets.commercial_property")
            else:
                values["commercial_property"] = "true" if commercial else "false"
                if commercial:
                    failed.append("commercial_property")
        capital = limits.business_capital
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
        result = AssetResult(outcome, values, failed, missing)
        self._asset_cache[key] = result
        return result

    @staticmethod
    def _homes(
        houses: Any,
        limits: AssetLimits,
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
        values["homes_counted"] = _int_text(len(counted))
        rule = limits.homes
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

    def asset_step(self, step: str, program: str, limits: AssetLimits, size: int) -> str:
        result = self.asset_test(limits, size)
        if result.step_args is None:
            # The words of the message depend only on the result: built once per test.
            if result.outcome == PASS:
                variant, words = "pass", None
            elif result.outcome == FAIL:
                variant = "fail"
                shown = result.values
                words = {
                    "failed_zh": "；".join(
                        compile_template(ASSET_PHRASES[c][0], "zh")(shown) for c in result.failed
                    ),
                    "failed_en": "; ".join(
                        compile_template(ASSET_PHRASES[c][1], "en")(shown) for c in result.failed
                    ),
                }
            else:
                # the template names each missing field in its own language
                variant, words = "insufficient", {"missing_fields": result.missing}
            result.step_args = (variant, limits.paths + self.standard_params, words)
        variant, params, words = result.step_args
        if result.missing and result.outcome == INSUFFICIENT:
            self._need(program, *result.missing)
        return self.step(step, program, result.outcome, variant, result.values, params, None, words)

    def per_capita(self, people: list[Person]) -> tuple[Decimal | None, Decimal | None]:
        """(household countable income, per-capita income rounded to the cent).

        The per-capita income is already rounded, so its text is ``str()``: ``money()`` would
        only round it again.
        """
        # 低保, 低保边缘, 刚性支出 and 临时救助 all ask about the same remaining household.
        if people is self._per_capita_of:
            return self._per_capita
        self._per_capita_of = people
        if not people or any(p.dibao_income is None for p in people):
            self._per_capita = (None, None)
        else:
            total = sum((p.dibao_income for p in people), ZERO)  # type: ignore[misc]
            self._per_capita = (total, cents(total / len(people)))
        return self._per_capita

    # --- 特困 ----------------------------------------------------------------------------

    def tekun(self) -> dict[str, Any]:
        rules = self.rules
        step = self.step
        standard = self.standard
        results = []
        asset_outcome = PASS
        if self.people:
            asset_outcome = self.asset_step(
                "tekun.asset_test", "tekun", rules.dibao_assets, len(self.people)
            )
        elderly_age, minor_age = rules.tekun_elderly_age, rules.tekun_minor_age
        elderly_text, minor_text = str(elderly_age), str(minor_age)
        means_params = ("income.tekun_excluded_types", *self.standard_params)
        for person in self.people:
            m = person.member
            age = person.age
            self._member_missing = {}
            # 1. no capacity to work (第五条)
            disability = person.disability
            if age >= elderly_age:
                variant = "pass_elderly"
            elif age < minor_age:
                variant = "pass_minor"
            elif person.schooling in rules.tekun_schooling_beyond_minor:
                variant = "pass_student"
            elif disability and grades_match(
                rules.tekun_disability, disability.category, disability.grade
            ):
                variant = "pass_disability"
            else:
                variant = "fail"
            capacity = step(
                "tekun.no_work_capacity",
                "tekun",
                FAIL if variant == "fail" else PASS,
                variant,
                {
                    "age": _SMALL_INT_TEXT[age] if 0 <= age < 256 else str(age),
                    "disability": f"{disability.category}-{disability.grade}"
                    if disability
                    else "none",
                    "schooling": person.schooling,
                    "elderly_age": elderly_text,
                    "minor_age": minor_text,
                },
                _TEKUN_CAPACITY_PARAMS,
                person.id,
            )
            # 2. no means (第六条): own income below the standard, and the asset rule
            income = person.tekun_income
            if income is None or standard is None:
                income_outcome = INSUFFICIENT
                self._need("tekun", self._income_missing_field() if income is None else "residence")
            else:
                income_outcome = PASS if income < standard else FAIL
            if income_outcome == FAIL:
                means, variant = FAIL, "fail_income"
            elif asset_outcome == FAIL:
                means, variant = FAIL, "fail_assets"
            elif INSUFFICIENT in (income_outcome, asset_outcome):
                means, variant = INSUFFICIENT, "insufficient"
            else:
                means, variant = PASS, "pass"
            step(
                "tekun.no_means",
                "tekun",
                means,
                variant,
                {
                    # rounded to the cent in _people: its text needs no second rounding
                    "own_income": str(income) if income is not None else None,
                    "standard": self.standard_text,
                    "asset_test": asset_outcome,
                },
                means_params,
                person.id,
            )
            # 3. no capable supporter (第八条)
            supporter = m.has_capable_supporter
            if supporter is None:
                support, shown = INSUFFICIENT, None
                self._need("tekun", f"household.members[{person.index}].has_capable_supporter")
            else:
                support, shown = (FAIL, "true") if supporter else (PASS, "false")
            step(
                "tekun.no_capable_supporter",
                "tekun",
                support,
                _SUPPORT_VARIANT[support],
                {"has_capable_supporter": shown},
                (),
                person.id,
            )
            outcomes = (capacity, means, support)
            # _combine, _status and _matching, inline: this runs for every member
            outcome = (
                FAIL if FAIL in outcomes else INSUFFICIENT if INSUFFICIENT in outcomes else PASS
            )
            status = _STATUS_OF_OUTCOME[outcome]
            entry: dict[str, Any] = _TEKUN_MEMBER.copy()
            entry["member"] = person.id
            entry["status"] = status
            entry["reasons"] = [_TEKUN_STEPS[i] for i, o in enumerate(outcomes) if o == outcome]
            if status == ELIGIBLE:
                self._tekun_amount(person, entry)
            held, self._member_missing = self._member_missing, None
            if status in (ELIGIBLE, UNKNOWN):  # eligible: a missing care assessment still matters
                self.missing.update(held)
            results.append(entry)
        statuses = {r["status"] for r in results}
        if not results:
            status = "not_applicable"
        elif ELIGIBLE in statuses:
            status = ELIGIBLE
        elif UNKNOWN in statuses:
            status = UNKNOWN
        else:
            status = INELIGIBLE
        return {"status": status, "members": results}

    def _tekun_amount(self, person: Person, entry: dict[str, Any]) -> None:
        rules = self.rules
        residence = self.residence or "urban"  # only reached without residence in unified cities
        basic = rules.tekun_basic[residence]
        failed = person.member.self_care_failed_items
        tier: str | None
        if failed is None:
            tier = None
            self._need("tekun", f"household.members[{person.index}].self_care_failed_items")
        elif failed >= rules.care_full_from:
            tier = "full"
        elif failed >= rules.care_partial_from:
            tier = "partial"
        else:
            tier = "self_care"
        care = rules.care_amounts[tier] if tier else None
        total = basic + (care or ZERO)
        values = {
            "basic_monthly": money(basic),
            "self_care_failed_items": None if failed is None else str(failed),
            "care_tier": tier,
            "care_monthly": money(care) if care is not None else None,
            "monthly_amount": money(total),
        }
        variant = (
            "with_care"
            if care is not None
            else ("care_unknown_tier" if tier is None else "care_not_published")
        )
        self.step(
            "tekun.amount",
            "tekun",
            PASS,
            variant,
            values,
            ("tekun.basic", "tekun.care_tiers", "tekun.care_amounts", "tekun.minimum_wage"),
            person.id,
        )
        entry.update(
            basic_monthly=money(basic),
            care_tier=tier,
            care_monthly=values["care_monthly"],
            monthly_amount=money(total),
        )

    # --- 低保 ----------------------------------------------------------------------------

    def dibao_household(self, remaining: list[Person], tekun_ids: list[str]) -> dict[str, Any]:
        """Household basis and gradual exit; single person is added later by ``single_person``."""
        rules = self.rules
        result: dict[str, Any] = _DIBAO_RESULT.copy()
        result["members"] = []
        result["standard"] = self.standard_text
        result["single_person"] = []
        result["reasons"] = []
        values = {"household_size": _int_text(len(remaining)), "tekun_members": tekun_ids}
        if not remaining:
            self.step("dibao.household", "dibao", NA, "empty", values)
            result["status"] = "not_applicable"
            return result
        # Only members found 特困 leave; a member whose 特困 result is undecided stays in the
        # household (as the contract's Wuhan example does) and the trace says so.
        undecided = self.tekun_undecided
        if undecided:
            values["tekun_undecided"] = undecided
            self.step("dibao.household", "dibao", PASS, "pass_undecided", values)
        else:
            self.step("dibao.household", "dibao", PASS, "pass", values)
        total, per_capita = self.per_capita(remaining)
        result["per_capita_income"] = str(per_capita) if per_capita is not None else None
        values = {
            "per_capita_income": result["per_capita_income"],
            "standard": self.standard_text,
            "household_income": money(total) if total is not None else None,
            "household_size": _int_text(len(remaining)),
        }
        if per_capita is None or self.standard is None:
            income_outcome = self.step(
                "dibao.income_test",
                "dibao",
                INSUFFICIENT,
                "insufficient",
                values,
                self.standard_params,
            )
            self._need("dibao", self._income_missing_field() if per_capita is None else "residence")
        elif per_capita < self.standard:
            income_outcome = self.step(
                "dibao.income_test",
                "dibao",
                PASS,
                "pass",
                values,
                ("income.dibao_excluded_types", *self.standard_params),
            )
        else:
            income_outcome = self.step(
                "dibao.income_test",
                "dibao",
                FAIL,
                "fail",
                values,
                ("income.dibao_excluded_types", *self.standard_params),
            )
        asset_outcome = self.asset_step(
            "dibao.asset_test", "dibao", rules.dibao_assets, len(remaining)
        )
        household = _combine([income_outcome, asset_outcome])
        result["household_path"] = household
        if household == PASS:
            assert per_capita is not None and self.standard is not None
            amount = (self.standard - per_capita) * len(remaining)
            supplements = self._supplements(remaining)
            monthly = amount + sum(supplements.values(), ZERO)
            self.step(
                "dibao.amount",
                "dibao",
                PASS,
                "difference",
                {
                    "standard": self.standard_text,
                    "per_capita_income": str(per_capita),
                    "household_size": _int_text(len(remaining)),
                    "difference_amount": money(amount),
                    "supplements": money(sum(supplements.values(), ZERO)),
                    "monthly_amount": money(monthly),
                },
                ("dibao.amount_mode", "dibao.classified_supplements"),
            )
            result.update(
                status=ELIGIBLE,
                basis="household",
                members=[p.id for p in remaining],
                monthly_amount=money(monthly),
                reasons=["dibao.income_test", "dibao.asset_test"],
            )
            self._schedule(result, remaining)
            return result
        current = self.household.current_benefit
        if income_outcome == FAIL and current is not None and current.program == "dibao":
            exit_status = self._gradual_exit(result, remaining, per_capita, asset_outcome)
            if exit_status == ELIGIBLE:
                return result
        outcome = (
            household
            if result.get("exit_path") is None
            else _combine_paths([household, result["exit_path"]])
        )
        result["status"] = _status(outcome)
        failing = FAIL if outcome == FAIL else INSUFFICIENT
        reasons = [
            s
            for s, o in (("dibao.income_test", income_outcome), ("dibao.asset_test", asset_outcome))
            if o == failing
        ]
        reasons.extend(result.pop("exit_reasons", []))
        result["reasons"] = reasons
        return result

    def _gradual_exit(
        self,
        result: dict[str, Any],
        remaining: list[Person],
        per_capita: Decimal | None,
        asset_outcome: str,
    ) -> str:
        rules = self.rules
        current = self.household.current_benefit
        assert current is not None and per_capita is not None and self.standard is not None
        rule = rules.gradual_exit
        rise = current.income_rise_from_employment
        values: dict[str, Any] = {
            "current_program": current.program,
            "income_rise_from_employment": None if rise is None else str(rise).lower(),
            "asset_test": asset_outcome,
            "per_capita_income": str(per_capita),
        }
        parts = []
        if rise is None:
            parts.append(INSUFFICIENT)
            self._need("dibao", "household.current_benefit.income_rise_from_employment")
        else:
            parts.append(PASS if rise else FAIL)
        parts.append(asset_outcome)
        if rule.income_ceiling is not None:
            ceiling = rule.income_ceiling * self.standard
            values["income_ceiling"] = money(ceiling)
            parts.append(PASS if per_capita < ceiling else FAIL)
        eligible_outcome = _combine(parts)
        variant = {PASS: "pass", FAIL: "fail", INSUFFICIENT: "insufficient"}[eligible_outcome]
        self.step(
            "dibao.gradual_exit.eligible",
            "dibao",
            eligible_outcome,
            variant,
            values,
            ("dibao.gradual_exit",),
        )
        start = current.exit_started or self.as_of
        months = whole_months_between(start, self.as_of)
        exit_ends = add_months(start, rule.max_months)
        values = {
            "exit_started": _iso(start),
            "months_elapsed": _int_text(months),
            "max_months": str(rule.max_months),
            "exit_ends": _iso(exit_ends),
        }
        period_outcome = PASS if months < rule.max_months else FAIL
        self.step(
            "dibao.gradual_exit.period",
            "dibao",
            period_outcome,
            "pass" if period_outcome == PASS else "fail",
            values,
            ("dibao.gradual_exit",),
        )
        outcome = _combine([eligible_outcome, period_outcome])
        amount: Decimal | None = None
        if outcome == PASS:
            if current.monthly_amount is None:
                outcome = INSUFFICIENT
                self._need("dibao", "household.current_benefit.monthly_amount")
            else:
                amount = (
                    current.monthly_amount
                    if rule.amount == "keep"
                    else current.monthly_amount * (rule.fraction or ZERO)
                )
        result["exit_path"] = outcome
        reasons = []
        failing = FAIL if outcome == FAIL else INSUFFICIENT
        if eligible_outcome == failing:
            reasons.append("dibao.gradual_exit.eligible")
        if period_outcome == failing:
            reasons.append("dibao.gradual_exit.period")
        result["exit_reasons"] = reasons
        if outcome != PASS or amount is None:
            return _status(outcome)
        self.step(
            "dibao.amount",
            "dibao",
            PASS,
            "gradual_exit",
            {
                "current_amount": money(current.monthly_amount),
                "monthly_amount": money(amount),
                "exit_ends": _iso(exit_ends),
            },  # type: ignore[arg-type]
            ("dibao.gradual_exit",),
        )
        result.update(
            status=ELIGIBLE,
            basis="gradual_exit",
            members=[p.id for p in remaining],
            monthly_amount=money(amount),
            exit_ends=exit_ends,
            reasons=["dibao.gradual_exit.eligible", "dibao.gradual_exit.period"],
        )
        result.pop("exit_reasons", None)
        self._schedule(result, remaining)
        if exit_ends < result["next_review"]:
            result["next_review"] = exit_ends
        return ELIGIBLE

    def _supplements(self, remaining: list[Person]) -> dict[str, Decimal]:
        plan = self.rules.supplements
        if plan is None:
            return {}
        assert self.standard is not None
        out: dict[str, Decimal] = {}
        for person in remaining:
            best: tuple[Decimal, str] | None = None
            for item in plan.items:
                if self._supplement_applies(item.when, person):
                    amount = (
                        item.amount
                        if item.amount is not None
                        else item.share_of_standard * self.standard
                    )  # type: ignore[operator]
                    if best is None or amount > best[0]:
                        best = (amount, item.id)
            extra = [
                (
                    item.amount
                    if item.amount is not None
                    else item.share_of_standard * self.standard,
                    item.id,
                )  # type: ignore[operator]
                for item in plan.additional
                if self._supplement_applies(item.when, person)
            ]
            chosen = ([best] if best else []) + extra
            if not chosen:
                continue
            total = sum((a for a, _ in chosen), ZERO)
            out[person.id] = total
            self.step(
                "dibao.classified_supplement",
                "dibao",
                PASS,
                "pass",
                {"categories": [c for _, c in chosen], "supplement": money(total)},
                ("dibao.classified_supplements",),
                person.id,
            )
        return out

    @staticmethod
    def _supplement_applies(conditions: Any, person: Person) -> bool:
        for c in conditions:
            if c.age_at_least is not None and person.age < c.age_at_least:
                continue
            if c.age_below is not None and person.age >= c.age_below:
                continue
            if c.schooling_in is not None and person.schooling not in c.schooling_in:
                continue
            if c.severe_disability and not person.severe_disability:
                continue
            if c.any_disability and person.disability is None:
                continue
            if c.disability_grade_at_most is not None and (
                person.disability is None or person.disability.grade > c.disability_grade_at_most
            ):
                continue
            if c.serious_illness and not person.serious_illness:
                continue
            return True
        return False

    def _able_to_work(self, person: Person) -> bool:
        return (
            16 <= person.age <= 59
            and not person.severe_disability
            and not person.serious_illness
            and person.schooling == "none"
        )

    def _schedule(self, result: dict[str, Any], covered: list[Person]) -> None:
        rules = self.rules
        months = (
            rules.review_able_to_work_months
            if any(self._able_to_work(p) for p in covered)
            else rules.review_months
        )
        result["payment_starts"] = first_of_next_month(self.as_of)
        result["next_review"] = add_months(self.as_of, months)

    def single_person(
        self, dibao: dict[str, Any], remaining: list[Person], marginal: str, rigid: str
    ) -> None:
        """单人户: members of a 低保边缘 (or listed-type) household assessed as households of one."""
        rules = self.rules
        rule = rules.single_person
        candidates = [
            p
            for p in remaining
            if (
                p.disability is not None
                and grades_match(rule.disability, p.disability.category, p.disability.grade)
            )
            or (rule.serious_illness and p.serious_illness)
        ]
        if not candidates:
            return
        types = {"marginal": marginal, "rigid_expenditure": rigid}
        type_statuses = [types[t] for t in rule.household_types]
        if ELIGIBLE in type_statuses:
            type_outcome = PASS
        elif UNKNOWN in type_statuses:
            type_outcome = INSUFFICIENT
        else:
            type_outcome = FAIL
        included = []
        outcomes = []
        for person in candidates:
            values = {
                "household_types": list(rule.household_types),
                "household_type_status": [f"{t}:{types[t]}" for t in rule.household_types],
                "own_income": money(person.dibao_income)
                if person.dibao_income is not None
                else None,
                "standard": self.standard_text,
            }
            own = person.dibao_income
            if own is not None and self.standard is not None and own >= self.standard:
                outcome, variant = FAIL, "fail_income"  # fails on known facts, whatever the type
            elif type_outcome == FAIL:
                outcome, variant = FAIL, "fail_household"
            elif own is None or self.standard is None:
                outcome, variant = INSUFFICIENT, "insufficient"
                self._need(
                    "dibao",
                    self._income_missing_field() if own is None else "residence",
                )
            elif type_outcome == INSUFFICIENT:
                outcome, variant = INSUFFICIENT, "insufficient"
                # The facts that would decide the household type decide this path too.
                undecided = {t for t in rule.household_types if types[t] == UNKNOWN}
                self._need("dibao", *(f for (f, p) in list(self.missing) if p in undecided))
            elif own < self.standard:
                outcome, variant = PASS, "pass"
                amount = self.standard - own
                values["monthly_amount"] = money(amount)
                included.append({"member": person.id, "monthly_amount": money(amount)})
            outcomes.append(outcome)
            self.step(
                "dibao.single_person",
                "dibao",
                outcome,
                variant,
                values,
                ("dibao.single_person", *self.standard_params),
                person.id,
            )
        if included:
            total = sum((Decimal(i["monthly_amount"]) for i in included), ZERO)
            covered = [p for p in candidates if p.id in {i["member"] for i in included}]
            dibao.update(
                status=ELIGIBLE,
                basis="single_person",
                members=[i["member"] for i in included],
                monthly_amount=money(total),
                single_person=included,
                reasons=["dibao.single_person"],
            )
            self._schedule(dibao, covered)
        elif dibao["status"] == INELIGIBLE and INSUFFICIENT in outcomes:
            dibao["status"] = UNKNOWN
            dibao["reasons"] = ["dibao.single_person"]
        elif dibao["status"] == INELIGIBLE:
            dibao["reasons"] = [*dibao["reasons"], "dibao.single_person"]

    # --- 低保边缘 ---------------------------------------------------------------------------

    def marginal(self, dibao: dict[str, Any], remaining: list[Person]) -> dict[str, Any]:
        rules = self.rules
        threshold = self.place.marginal_threshold
        result: dict[str, Any] = {
            "status": "not_applicable",
            "threshold": self.place.marginal_threshold_text,
            "reasons": [],
        }
        values: dict[str, Any] = {
            "dibao_status": dibao["status"],
            "dibao_basis": dibao.get("basis"),
        }
        if not remaining:
            self.step("marginal.precondition", "marginal", NA, "empty", values)
            return result
        if dibao["status"] == ELIGIBLE:
            self.step("marginal.precondition", "marginal", NA, "covered", values)
            return result
        pre = INSUFFICIENT if dibao["status"] == UNKNOWN else PASS
        self.step(
            "marginal.precondition",
            "marginal",
            pre,
            "pass" if pre == PASS else "insufficient",
            values,
        )
        _, per_capita = self.per_capita(remaining)
        values = {
            "per_capita_income": str(per_capita) if per_capita is not None else None,
            "standard": self.standard_text,
            "threshold": result["threshold"],
            "multiplier": self.place.marginal_multiplier_text,
        }
        params = (
            "marginal.multiplier",
            "marginal.upper_inclusive",
            "marginal.above_standard_required",
            *self.standard_params,
        )
        if per_capita is None or threshold is None or self.standard is None:
            income = INSUFFICIENT
            variant = "insufficient"
            self._need(
                "marginal", self._income_missing_field() if per_capita is None else "residence"
            )
        else:
            below = (
                per_capita <= threshold
                if rules.marginal_upper_inclusive
                else per_capita < threshold
            )
            above = per_capita > self.standard if rules.marginal_above_standard_required else True
            income = PASS if below and above else FAIL
            variant = (
                ("pass_inclusive" if rules.marginal_upper_inclusive else "pass")
                if income == PASS
                else (
                    "fail_not_above"
                    if not above
                    else ("fail_inclusive" if rules.marginal_upper_inclusive else "fail")
                )
            )
        self.step(
            "marginal.income_test",
            "marginal",
            income,
            variant,
            values,
            params,
        )
        assets = self.asset_step(
            "marginal.asset_test", "marginal", rules.marginal_assets, len(remaining)
        )
        outcomes = [pre, income, assets]
        outcome = _combine(outcomes)
        result["status"] = _status(outcome)
        failing = FAIL if outcome == FAIL else INSUFFICIENT
        result["reasons"] = _matching(
            ("marginal.precondition", "marginal.income_test", "marginal.asset_test"),
            outcomes,
            PASS if outcome == PASS else failing,
        )
        return result

    # --- 刚性支出 ---------------------------------------------------------------------------

    def rigid_expenditure(
        self, dibao: dict[str, Any], marginal: dict[str, Any], remaining: list[Person]
    ) -> dict[str, Any]:
        rules = self.rules
        result: dict[str, Any] = {
            "status": "not_applicable",
            "share": None,
            "valid_until": None,
            "reasons": [],
        }
        if not rules.rigid_in_force:
            self.step(
                "rigid_expenditure.in_force",
                "rigid_expenditure",
                NA,
                "not_in_force",
                {"as_of": _iso(self.as_of)},
                ("rigid_expenditure.in_force",),
            )
            return result
        values: dict[str, Any] = {
            "dibao_status": dibao["status"],
            "marginal_status": marginal["status"],
            "household_size": _int_text(len(remaining)),
        }
        if not remaining or dibao["status"] == ELIGIBLE or marginal["status"] == ELIGIBLE:
            self.step("rigid_expenditure.precondition", "rigid_expenditure", NA, "covered", values)
            return result
        pre = INSUFFICIENT if UNKNOWN in (dibao["status"], marginal["status"]) else PASS
        self.step(
            "rigid_expenditure.precondition",
            "rigid_expenditure",
            pre,
            "pass" if pre == PASS else "insufficient",
            values,
        )
        total, per_capita = self.per_capita(remaining)
        line = self.place.disposable_income_monthly
        values = {
            "per_capita_income": str(per_capita) if per_capita is not None else None,
            "disposable_income_monthly": self.place.disposable_income_monthly_text,
            "disposable_income_annual": self.place.disposable_income_annual_text,
        }
        params = (f"disposable_income.{self.residence}",) if self.residence else ()
        if per_capita is None or line is None:
            income = INSUFFICIENT
            self._need(
                "rigid_expenditure",
                self._income_missing_field() if per_capita is None else "residence",
            )
        else:
            income = PASS if per_capita < line else FAIL
        self.step(
            "rigid_expenditure.income_test",
            "rigid_expenditure",
            income,
            {PASS: "pass", FAIL: "fail", INSUFFICIENT: "insufficient"}[income],
            values,
            params,
        )
        assets = self.asset_step(
            "rigid_expenditure.asset_test",
            "rigid_expenditure",
            rules.marginal_assets,
            len(remaining),
        )
        share_outcome = self._share_test(result, total)
        outcomes = [pre, income, assets, share_outcome]
        outcome = _combine(outcomes)
        result["status"] = _status(outcome)
        steps = (
            "rigid_expenditure.precondition",
            "rigid_expenditure.income_test",
            "rigid_expenditure.asset_test",
            "rigid_expenditure.share_test",
        )
        failing = PASS if outcome == PASS else (FAIL if outcome == FAIL else INSUFFICIENT)
        result["reasons"] = _matching(steps, outcomes, failing)
        if outcome == PASS:
            result["valid_until"] = add_months(self.as_of, rules.rigid_validity_months)
        return result

    def _rigid_total(self, program: str) -> Decimal | None:
        spending = self.household.rigid_expenditure_12m
        if spending is None:
            self._need(program, "household.rigid_expenditure_12m")
            return None
        missing = [
            f"household.rigid_expenditure_12m.{k}"
            for k in ("medical", "education", "rehabilitation", "other")
            if getattr(spending, k) is None
        ]
        if missing:
            self._need(program, *missing)
            return None
        return spending.medical + spending.education + spending.rehabilitation + spending.other  # type: ignore[operator]

    def _share_test(self, result: dict[str, Any], income_total: Decimal | None) -> str:
        rules = self.rules
        spending = self._rigid_total("rigid_expenditure")
        values: dict[str, Any] = {
            "rigid_expenditure_12m": money(spending) if spending is not None else None,
            "income_12m": money(income_total * 12) if income_total is not None else None,
            "share_threshold": self.place.rigid_share_threshold_text,
        }
        params = ("rigid_expenditure.share_threshold", "rigid_expenditure.threshold_inclusive")
        if spending is None or income_total is None:
            if income_total is None:
                self._need("rigid_expenditure", self._income_missing_field())
            return self.step(
                "rigid_expenditure.share_test",
                "rigid_expenditure",
                INSUFFICIENT,
                "insufficient",
                values,
                params,
            )
        if income_total == 0:
            outcome = PASS if spending > 0 else FAIL
            values["share"] = None
            return self.step(
                "rigid_expenditure.share_test",
                "rigid_expenditure",
                outcome,
                "no_income_pass" if outcome == PASS else "no_income_fail",
                values,
                params,
            )
        share = spending / (income_total * 12)
        shown = str(share.quantize(SHARE_PLACES, ROUND_HALF_UP))
        values["share"] = shown
        result["share"] = shown
        threshold = rules.rigid_share_threshold
        over = share >= threshold if rules.rigid_threshold_inclusive else share > threshold
        variant = (
            ("pass_inclusive" if rules.rigid_threshold_inclusive else "pass")
            if over
            else ("fail_inclusive" if rules.rigid_threshold_inclusive else "fail")
        )
        return self.step(
            "rigid_expenditure.share_test",
            "rigid_expenditure",
            PASS if over else FAIL,
            variant,
            values,
            params,
        )

    # --- 临时救助 ---------------------------------------------------------------------------

    def temporary(
        self,
        tekun: dict[str, Any],
        dibao: dict[str, Any],
        marginal: dict[str, Any],
        remaining: list[Person],
    ) -> dict[str, Any]:
        emergency = self.emergency
        result: dict[str, Any] = _TEMPORARY_RESULT.copy()
        result["reasons"] = []
        if emergency is None:
            self.step("temporary.emergency", "temporary", NA, "none", {})
            return result
        if not self.people:
            self.step("temporary.emergency", "temporary", NA, "no_members", {})
            return result
        result["kind"] = emergency.kind
        assisted = emergency.already_assisted
        values = {"already_assisted": None if assisted is None else str(assisted).lower()}
        if assisted is None:
            repeat = self.step(
                "temporary.repeat_event", "temporary", INSUFFICIENT, "insufficient", values
            )
            self._need("temporary", "emergency.already_assisted")
        else:
            repeat = self.step(
                "temporary.repeat_event",
                "temporary",
                FAIL if assisted else PASS,
                "fail" if assisted else "pass",
                values,
            )
        if emergency.kind == "urgent":
            outcomes, steps = self._urgent(result, repeat)
        else:
            outcomes, steps = self._expenditure(result, repeat, tekun, dibao, marginal, remaining)
        outcome = _combine(outcomes)
        result["status"] = _status(outcome)
        failing = PASS if outcome == PASS else (FAIL if outcome == FAIL else INSUFFICIENT)
        result["reasons"] = _matching(steps, outcomes, failing)
        if outcome != PASS:
            result["amount"] = None
            result["case_by_case"] = None if outcome == INSUFFICIENT else False
        return result

    def _urgent(self, result: dict[str, Any], repeat: str) -> tuple[list[str], list[str]]:
        rules = self.rules
        emergency = self.emergency
        assert emergency is not None
        cause = emergency.cause
        values: dict[str, Any] = {"cause": cause, "urgent_causes": sorted(rules.urgent_causes)}
        if cause is None:
            cause_outcome = self.step(
                "temporary.urgent.cause",
                "temporary",
                INSUFFICIENT,
                "insufficient",
                values,
                ("temporary.urgent_causes",),
            )
            self._need("temporary", "emergency.cause")
        elif cause in rules.urgent_causes:
            cause_outcome = self.step(
                "temporary.urgent.cause",
                "temporary",
                PASS,
                "pass",
                values,
                ("temporary.urgent_causes",),
            )
        else:
            cause_outcome = self.step(
                "temporary.urgent.cause",
                "temporary",
                FAIL,
                "fail",
                values,
                ("temporary.urgent_causes",),
            )
        cap_rule = rules.urgent_cap
        cap: Decimal | None
        if cap_rule.fixed is not None:
            cap = cap_rule.fixed
        elif self.standard is not None:
            cap = cap_rule.standard_multiple * self.standard * len(self.people)  # type: ignore[operator]
        else:
            cap = None
        need = emergency.assessed_need
        result["advance_cap"] = self.place.advance_cap_text
        result["cap"] = money(cap) if cap is not None else None
        values = {
            "assessed_need": money(need) if need is not None else None,
            "urgent_cap": result["cap"],
            "advance_cap": result["advance_cap"],
        }
        params = (
            "temporary.urgent_cap",
            "temporary.advance_cap",
            *(() if cap_rule.fixed is not None else self.standard_params),
        )
        if need is None or cap is None:
            self._need("temporary", "emergency.assessed_need" if need is None else "residence")
            amount_outcome = self.step(
                "temporary.urgent.amount", "temporary", INSUFFICIENT, "insufficient", values, params
            )
        else:
            case_by_case = need > cap
            amount = min(need, cap)
            values["amount"] = money(amount)
            values["case_by_case"] = str(case_by_case).lower()
            amount_outcome = self.step(
                "temporary.urgent.amount",
                "temporary",
                PASS,
                "case_by_case" if case_by_case else "within_cap",
                values,
                params,
            )
            result.update(amount=money(amount), case_by_case=case_by_case)
        return [repeat, cause_outcome, amount_outcome], [
            "temporary.repeat_event",
            "temporary.urgent.cause",
            "temporary.urgent.amount",
        ]

    def _expenditure(
        self,
        result: dict[str, Any],
        repeat: str,
        tekun: dict[str, Any],
        dibao: dict[str, Any],
        marginal: dict[str, Any],
        remaining: list[Person],
    ) -> tuple[list[str], list[str]]:
        rules = self.rules
        result["case_by_case"] = False
        people = remaining or self.people
        _, per_capita = self.per_capita(people)
        line = self.place.disposable_income_monthly
        values: dict[str, Any] = {
            "per_capita_income": str(per_capita) if per_capita is not None else None,
            "disposable_income_monthly": self.place.disposable_income_monthly_text,
        }
        params = (f"disposable_income.{self.residence}",) if self.residence else ()
        if per_capita is None or line is None:
            self._need(
                "temporary", self._income_missing_field() if per_capita is None else "residence"
            )
            income = self.step(
                "temporary.expenditure.income_test",
                "temporary",
                INSUFFICIENT,
                "insufficient",
                values,
                params,
            )
        else:
            income = self.step(
                "temporary.expenditure.income_test",
                "temporary",
                PASS if per_capita < line else FAIL,
                "pass" if per_capita < line else "fail",
                values,
                params,
            )
        assets = self.asset_step(
            "temporary.expenditure.asset_test", "temporary", rules.dibao_assets, len(people)
        )
        group = rules.special_groups
        in_group = False
        if group is not None:
            programs = {
                "dibao": dibao["status"],
                "tekun": tekun["status"],
                "marginal": marginal["status"],
            }
            current = self.household.current_benefit
            by_program = any(programs[p] == ELIGIBLE for p in group.programs) or (
                current is not None and current.program in group.programs
            )
            by_residence = group.residence == "any" or group.residence == self.residence
            in_group = by_program and by_residence
        tiers = group.tiers if in_group and group is not None else rules.expenditure_tiers
        cap_multiple = (
            group.cap_multiple if in_group and group is not None else rules.expenditure_cap_multiple
        )
        spending = self._rigid_total("temporary")
        values = {
            "rigid_expenditure_12m": money(spending) if spending is not None else None,
            "special_group": str(in_group).lower(),
            "cap_multiple": str(cap_multiple),
            "standard": self.standard_text,
        }
        params = (
            "temporary.expenditure_tiers",
            "temporary.expenditure_cap_multiple",
            *(("temporary.special_groups",) if in_group else ()),
            *self.standard_params,
        )
        if spending is None or self.standard is None:
            if self.standard is None:
                self._need("temporary", "residence")
            tier_outcome = self.step(
                "temporary.expenditure.tier",
                "temporary",
                INSUFFICIENT,
                "insufficient",
                values,
                params,
            )
            return [repeat, income, assets, tier_outcome], [
                "temporary.repeat_event",
                "temporary.expenditure.income_test",
                "temporary.expenditure.asset_test",
                "temporary.expenditure.tier",
            ]
        cap = cap_multiple * self.standard
        result["cap"] = money(cap)
        values["cap"] = money(cap)
        tier = next(
            (t for t in tiers if spending >= t.from_ and (t.to is None or spending < t.to)), None
        )
        if tier is None:
            values["lowest_tier_from"] = money(tiers[0].from_)
            tier_outcome = self.step(
                "temporary.expenditure.tier", "temporary", FAIL, "below_tiers", values, params
            )
        else:
            amount = min(tier.multiple * self.standard, cap)
            result["tier"] = f"[{tier.from_}, {'' if tier.to is None else tier.to})"
            values.update(tier=result["tier"], multiple=str(tier.multiple), amount=money(amount))
            tier_outcome = self.step(
                "temporary.expenditure.tier", "temporary", PASS, "pass", values, params
            )
            result["amount"] = money(amount)
        return [repeat, income, assets, tier_outcome], [
            "temporary.repeat_event",
            "temporary.expenditure.income_test",
            "temporary.expenditure.asset_test",
            "temporary.expenditure.tier",
        ]

    # --- the whole decision ---------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        tekun = self.tekun()
        tekun_ids = [m["member"] for m in tekun["members"] if m["status"] == ELIGIBLE]
        self.tekun_undecided = [m["member"] for m in tekun["members"] if m["status"] == UNKNOWN]
        remaining = [p for p in self.people if p.id not in tekun_ids] if tekun_ids else self.people
        dibao = self.dibao_household(remaining, tekun_ids)
        marginal = self.marginal(dibao, remaining)
        rigid = self.rigid_expenditure(dibao, marginal, remaining)
        if dibao["status"] != ELIGIBLE and remaining:
            self.single_person(dibao, remaining, marginal["status"], rigid["status"])
        dibao.pop("household_path", None)
        dibao.pop("exit_path", None)
        dibao.pop("exit_reasons", None)
        temporary = self.temporary(tekun, dibao, marginal, remaining)
        programs = {
            "tekun": tekun,
            "dibao": dibao,
            "marginal": marginal,
            "rigid_expenditure": rigid,
            "temporary": temporary,
        }
        for name, result in programs.items():
            if name not in self.requested:
                programs[name] = _not_requested(result)
        for key in ("payment_starts", "next_review", "exit_ends"):
            if isinstance(dibao.get(key), date):
                dibao[key] = _iso(dibao[key])
        if isinstance(rigid.get("valid_until"), date):
            rigid["valid_until"] = _iso(rigid["valid_until"])
        # Only the facts that would decide an undecided result (or a 特困 amount) are listed.
        requested_missing = [
            {"field": f, "program": p}
            for (f, p) in self.missing
            if p in self.requested
            and (programs[p]["status"] == UNKNOWN or f.endswith("self_care_failed_items"))
        ]
        return {
            "jurisdiction": self.request.jurisdiction,
            "as_of": _iso(self.as_of),
            "ruleset": {
                "id": self.bundle.jurisdiction,
                "version": self.place.version_text,
                "sha256": self.bundle.sha256,
                "components": list(self.bundle.components),
            },
            "engine_version": ENGINE_VERSION,
            "programs": programs,
            "provisional": sorted(self.provisional),
            "missing": requested_missing,
            "trace": self.trace,
        }


def _combine_paths(outcomes: list[str]) -> str:
    """Alternative paths: one passing path is enough; otherwise undecided beats failed."""
    if PASS in outcomes:
        return PASS
    if INSUFFICIENT in outcomes:
        return INSUFFICIENT
    return FAIL


def _not_requested(result: dict[str, Any]) -> dict[str, Any]:
    # Still evaluated (another program depends on it, e.g. 特困 members leave the 低保 household),
    # but reported as not asked for.
    return {"status": "not_applicable", "reasons": ["not_requested"]}


def evaluate(request: EvaluationRequest, bundle: Bundle) -> dict[str, Any]:
    """The response document (contract) for ``request`` under ``bundle``; pure and deterministic."""
    return Evaluation(request, bundle).run()
