"""The five programs evaluated on whole arrays of households at once.

This mirrors ``service.engine.programs`` step by step (the engine is the reference; the tests
check that both give the same status, basis, amount and members for every program of every
household). Only the decision is computed, not the trace.

Arithmetic is exact, in integer fen: every parameter a decision reads is turned into an integer
(or an exact fraction compared by integer cross-multiplication) once per bundle and residence. A
bundle with a value that is not a whole number of fen where the engine's amount depends on it
(an annual standard not divisible by 12, a share of the standard with fractions of a fen, …)
raises ``NotExact``, and its households go to the per-household engine.

Outcomes are coded so that the engine's ``_combine`` (fail beats insufficient beats pass) is a
maximum: PASS 0, INSUFFICIENT 1, FAIL 2; alternative paths (``_combine_paths``) are a minimum.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from service.caseload import layout
from service.caseload.columns import (
    CATEGORY_INDEX,
    DEDUCTION_INDEX,
    INCOME_INDEX,
    SCHOOLING_INDEX,
    UNKNOWN_DAY,
    VEHICLE_INDEX,
    Batch,
)
from service.engine.bundle import Bundle
from service.engine.compiled import AssetLimits, Rules

# a rule's outcome, ordered so that the worst of several is their maximum
PASS, INSUFFICIENT, FAIL = 0, 1, 2
# a program status, as STATUS_LABELS lists them
ELIGIBLE, INELIGIBLE, INSUFFICIENT_DATA, NOT_APPLICABLE = 0, 1, 2, 3
STATUS_LABELS = ("eligible", "ineligible", "insufficient_data", "not_applicable")
STATUS_CODE = {label: code for code, label in enumerate(STATUS_LABELS)}
BASIS_LABELS = ("", "household", "gradual_exit", "single_person")
BASIS_CODE = {label: code for code, label in enumerate(BASIS_LABELS)}
_STATUS_OF = np.array(
    [ELIGIBLE, INSUFFICIENT_DATA, INELIGIBLE], dtype=np.int8
)  # outcome → program status
_COUNTABLE = frozenset({"wage", "business", "property", "transfer", "other"})
_MAX_STANDARD_FEN = 10**9


class NotExact(Exception):
    """A parameter of the bundle cannot be computed exactly in integer fen here."""


def _fen(value: Decimal | Fraction, what: str) -> int:
    exact = Fraction(value) * 100
    if exact.denominator != 1:
        raise NotExact(f"{what} = {value} is not a whole number of fen")
    return int(exact)


def _checked(decimal_result: Decimal, exact: Fraction, what: str) -> Fraction:
    """The engine computes with ``Decimal``; use a product only if it is exact there too."""
    if Fraction(decimal_result) != exact:
        raise NotExact(f"{what} is rounded by Decimal arithmetic")
    return exact


def _ceil(x: Fraction) -> int:
    return math.ceil(x)


def _floor(x: Fraction) -> int:
    return math.floor(x)


def _half_up(x: Fraction) -> int:
    """ROUND_HALF_UP to an integer, for x ≥ 0."""
    return math.floor(x + Fraction(1, 2))


@dataclass
class AssetParams:
    limits: AssetLimits
    fin_p: np.ndarray  # by residence: months × standard = fin_p / fin_q fen
    fin_q: int
    fin_equal_passes: bool
    vehicle_bits: int
    fail_from: int
    hard_from: int | None
    area_above: int | None  # floor(limit × 100), in 1/100 m²
    commercial: bool
    capital_over: int | None  # capital ≥ this fails
    capital_equal_passes: bool


@dataclass
class Params:
    rules: Rules
    std: np.ndarray  # fen by residence code (0 none, 1 urban, 2 rural); 0 where unknown
    std_known: np.ndarray
    share: np.ndarray | None  # employment cost per employed member, fen by residence
    dib_mask: np.ndarray  # by income type: counted for 低保
    tek_mask: np.ndarray
    ded_mask: np.ndarray  # by deduction type: deducted
    dibao_assets: AssetParams
    marginal_assets: AssetParams
    tek_school: np.ndarray  # by schooling code
    tek_disability: np.ndarray  # max grade by category code (0: none)
    tek_basic: np.ndarray  # fen by residence
    care: tuple[int, int, int]  # self_care, partial, full (0 where not published)
    sp_disability: np.ndarray
    supplement_items: list[tuple[Any, np.ndarray]]  # (conditions, fen by residence)
    supplement_additional: list[tuple[Any, np.ndarray]]
    exit_ceiling: np.ndarray | None  # per-capita income must be below this (fen, by residence)
    exit_fraction: tuple[int, int] | None
    marginal_threshold: np.ndarray
    line: np.ndarray  # monthly disposable income, fen by residence
    line_known: np.ndarray
    rigid_share: tuple[int, int]  # threshold as num / den
    urgent_cause_ok: np.ndarray  # by cause code
    urgent_fixed: int | None
    urgent_multiple: tuple[np.ndarray, int] | None  # multiple × standard = p / q fen
    expenditure: dict[bool, tuple[np.ndarray, np.ndarray, np.ndarray]]
    # in_group → (from thresholds, to thresholds (ceil), amount fen by (residence, tier))
    group_programs: tuple[str, ...]
    group_residence: str | None


_PARAMS: dict[str, Params] = {}


def params_for(bundle: Bundle) -> Params:
    cached = _PARAMS.get(bundle.sha256)
    if cached is None:
        cached = _PARAMS[bundle.sha256] = _params(bundle)
    return cached


def _by_residence(rules: Rules) -> list[Decimal | None]:
    urban, rural = rules.standard["urban"], rules.standard["rural"]
    return [urban if rules.standard_unified else None, urban, rural]


def _asset_params(limits: AssetLimits, standards: list[Decimal | None]) -> AssetParams:
    months = limits.financial.months
    exact = [
        _checked(months * s, Fraction(months) * Fraction(s), "financial limit")
        if s is not None
        else Fraction(0)
        for s in standards
    ]
    fen = [x * 100 for x in exact]
    q = math.lcm(*(f.denominator for f in fen))
    if q > 10**6:
        raise NotExact("financial limit")
    homes = limits.homes
    capital = limits.business_capital
    capital_over = None
    if capital is not None:
        c = Fraction(capital.limit) * 100
        # fails: capital > limit (equality passes) or capital ≥ limit
        capital_over = _floor(c) + 1 if capital.equal_passes else _ceil(c)
    return AssetParams(
        limits=limits,
        fin_p=np.array([int(f * q) for f in fen], dtype=np.int64),
        fin_q=q,
        fin_equal_passes=limits.financial.equal_passes,
        vehicle_bits=sum(1 << VEHICLE_INDEX[k] for k in limits.vehicles_disallowed),
        fail_from=homes.fail_from_count,
        hard_from=homes.hard_fail_from_count,
        area_above=None
        if homes.per_capita_area_above is None
        else _floor(Fraction(homes.per_capita_area_above) * 100),
        commercial=limits.commercial_property_fails,
        capital_over=capital_over,
        capital_equal_passes=capital.equal_passes if capital is not None else True,
    )


def _grade_table(rules_list: Any) -> np.ndarray:
    table = np.zeros(len(layout.DISABILITY_CATEGORIES), dtype=np.int64)
    for rule in rules_list:
        for category, index in CATEGORY_INDEX.items():
            if rule.categories == "any" or category in rule.categories:
                table[index] = max(table[index], rule.max_grade)
    return table


# The parameters this path knows how to apply. If the engine grows a rule (a new field in the
# compiled rules or in a structured parameter), the bundle goes to the per-household engine until
# this module learns it: never a silently different decision.
KNOWN_RULES = frozenset(
    {
        "bundle_jurisdiction", "standard", "standard_unified", "dibao_excluded", "tekun_excluded",
        "deductions_allowed", "employment_cost_share", "supplements", "gradual_exit",
        "single_person", "review_months", "review_able_to_work_months", "dibao_assets",
        "marginal_assets", "marginal_multiplier", "marginal_upper_inclusive",
        "marginal_above_standard_required", "tekun_elderly_age", "tekun_minor_age",
        "tekun_schooling_beyond_minor", "tekun_disability", "tekun_basic", "tekun_basic_mode",
        "care_wage_based", "care_partial_from",
        "care_full_from", "care_amounts", "urgent_causes", "urgent_cap", "advance_cap",
        "expenditure_tiers", "expenditure_cap_multiple", "special_groups",
        "disposable_income_monthly", "disposable_income_annual", "rigid_in_force",
        "rigid_share_threshold", "rigid_threshold_inclusive", "rigid_validity_months",
        "provisional", "step_cache",
    }
)  # fmt: skip
KNOWN_FIELDS = {
    "SupplementCondition": {
        "age_at_least", "age_below", "schooling_in", "severe_disability",
        "disability_grade_at_most", "any_disability", "serious_illness",
    },
    "Supplement": {"id", "when", "amount", "share_of_standard"},
    "ClassifiedSupplements": {"stacking", "items", "additional"},
    "GradualExit": {"max_months", "income_ceiling", "amount", "fraction"},
    "SinglePerson": {"household_types", "disability", "serious_illness"},
    "DisabilityGrades": {"categories", "max_grade"},
    "FinancialLimit": {"months", "equal_passes"},
    "HomesLimit": {"fail_from_count", "per_capita_area_above", "hard_fail_from_count"},
    "CapitalLimit": {"limit", "equal_passes"},
    "Cap": {"fixed", "standard_multiple"},
    "Tier": {"from_", "to", "multiple"},
    "SpecialGroups": {"residence", "programs", "cap_multiple", "tiers"},
}  # fmt: skip


def _check_known(value: Any) -> None:
    """Raise NotExact if ``value`` (a rule model, or a list/dict of them) sets an unknown field."""
    if isinstance(value, list | tuple | frozenset):
        for item in value:
            _check_known(item)
        return
    if isinstance(value, dict):
        for item in value.values():
            _check_known(item)
        return
    known = KNOWN_FIELDS.get(type(value).__name__)
    if known is None:
        return
    for name in type(value).model_fields:
        child = getattr(value, name)
        if name not in known and child is not None:
            raise NotExact(f"unknown rule field {type(value).__name__}.{name}")
        _check_known(child)


def _params(bundle: Bundle) -> Params:
    r: Rules = bundle.rules
    names = {f.name for f in dataclasses.fields(r)}
    if names - KNOWN_RULES:
        raise NotExact(f"unknown rules {sorted(names - KNOWN_RULES)}")
    for name in names:
        _check_known(getattr(r, name))
    if r.supplements is not None and r.supplements.stacking != "highest":
        raise NotExact("supplement stacking")
    for limits in (r.dibao_assets, r.marginal_assets):
        for part in (limits.financial, limits.homes, limits.business_capital):
            _check_known(part)
    standards = _by_residence(r)
    for s in standards:
        if s is not None and not 0 <= _fen(s, "standard") < _MAX_STANDARD_FEN:
            raise NotExact("standard out of range")
    std = np.array([_fen(s, "standard") if s is not None else 0 for s in standards], np.int64)
    std_known = np.array([s is not None for s in standards])

    share = None
    if r.employment_cost_share is not None:
        share = np.array(
            [
                _fen(
                    _checked(
                        r.employment_cost_share * s,
                        Fraction(r.employment_cost_share) * Fraction(s),
                        "employment cost",
                    ),
                    "employment cost",
                )
                if s is not None
                else 0
                for s in standards
            ],
            dtype=np.int64,
        )
    dib_mask = np.array([t in _COUNTABLE or t not in r.dibao_excluded for t in layout.INCOME_TYPES])
    tek_mask = np.array([t in _COUNTABLE or t not in r.tekun_excluded for t in layout.INCOME_TYPES])
    ded_mask = np.array(
        [
            t in r.deductions_allowed
            and not (r.employment_cost_share is not None and t == "employment_cost")
            for t in layout.DEDUCTION_TYPES
        ]
    )
    assert list(DEDUCTION_INDEX) == list(layout.DEDUCTION_TYPES)
    assert list(INCOME_INDEX) == list(layout.INCOME_TYPES)
    dibao_assets = _asset_params(r.dibao_assets, standards)
    marginal_assets = (
        dibao_assets
        if r.marginal_assets is r.dibao_assets
        else _asset_params(r.marginal_assets, standards)
    )
    tek_school = np.array([s in r.tekun_schooling_beyond_minor for s in layout.SCHOOLING])
    basic = [r.tekun_basic["urban"], r.tekun_basic["urban"], r.tekun_basic["rural"]]
    tek_basic = np.array([_fen(b, "特困 basic amount") for b in basic], dtype=np.int64)
    care = tuple(
        _fen(r.care_amounts[t], "care amount") if r.care_amounts[t] is not None else 0
        for t in ("self_care", "partial", "full")
    )

    def supplement_amounts(items: Any) -> list[tuple[Any, np.ndarray]]:
        out = []
        for item in items:
            amounts = []
            for s in standards:
                if item.amount is not None:
                    amounts.append(_fen(item.amount, "supplement"))
                elif s is None:
                    amounts.append(0)
                else:
                    amounts.append(
                        _fen(
                            _checked(
                                item.share_of_standard * s,
                                Fraction(item.share_of_standard) * Fraction(s),
                                "supplement",
                            ),
                            "supplement",
                        )
                    )
            out.append((item.when, np.array(amounts, dtype=np.int64)))
        return out

    plan = r.supplements
    items = supplement_amounts(plan.items) if plan is not None else []
    additional = supplement_amounts(plan.additional) if plan is not None else []

    rule = r.gradual_exit
    exit_ceiling = None
    if rule.income_ceiling is not None:
        exit_ceiling = np.array(
            [
                _ceil(
                    _checked(
                        rule.income_ceiling * s,
                        Fraction(rule.income_ceiling) * Fraction(s),
                        "exit ceiling",
                    )
                    * 100
                )
                if s is not None
                else 0
                for s in standards
            ],
            dtype=np.int64,
        )
    exit_fraction = None
    if rule.amount == "fraction":
        f = Fraction(rule.fraction or 0)
        if f.denominator > 10**6:
            raise NotExact("exit fraction")
        exit_fraction = (f.numerator, f.denominator)

    marginal_threshold = np.array(
        [
            _fen(
                (r.marginal_multiplier * s).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"),
                "marginal threshold",
            )
            if s is not None
            else 0
            for s in standards
        ],
        dtype=np.int64,
    )
    lines = [None, r.disposable_income_monthly["urban"], r.disposable_income_monthly["rural"]]
    line = np.array([_fen(x, "disposable income") if x is not None else 0 for x in lines], np.int64)
    line_known = np.array([x is not None for x in lines])
    threshold = Fraction(r.rigid_share_threshold)
    if threshold.denominator > 10**6 or threshold.numerator > 10**6:
        raise NotExact("rigid share threshold")
    urgent_cause_ok = np.array([c in r.urgent_causes for c in layout.EMERGENCY_CAUSES])
    cap = r.urgent_cap
    urgent_fixed = urgent_multiple = None
    if cap.fixed is not None:
        urgent_fixed = _fen(cap.fixed, "urgent cap")
    else:
        exact = [
            _checked(
                cap.standard_multiple * s,
                Fraction(cap.standard_multiple) * Fraction(s),
                "urgent cap",
            )
            * 100
            if s is not None
            else Fraction(0)
            for s in standards
        ]
        q = math.lcm(*(x.denominator for x in exact))
        if q > 10**6:
            raise NotExact("urgent cap")
        urgent_multiple = (np.array([int(x * q) for x in exact], dtype=np.int64), q)

    def tiers(tier_list: Any, cap_multiple: Decimal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        starts = np.array([_ceil(Fraction(t.from_) * 100) for t in tier_list], dtype=np.int64)
        # spending < to  ⇔  spending < ceil(to × 100) for an integer number of fen
        ends = np.array(
            [_ceil(Fraction(t.to) * 100) if t.to is not None else 2**62 for t in tier_list],
            dtype=np.int64,
        )
        amounts = np.zeros((3, max(len(tier_list), 1)), dtype=np.int64)
        for ri, s in enumerate(standards):
            if s is None:
                continue
            cap_ = _checked(cap_multiple * s, Fraction(cap_multiple) * Fraction(s), "cap")
            for ti, t in enumerate(tier_list):
                amount = _checked(t.multiple * s, Fraction(t.multiple) * Fraction(s), "tier")
                amounts[ri, ti] = _half_up(min(amount, cap_) * 100)
        return starts, ends, amounts

    groups = r.special_groups
    expenditure = {False: tiers(r.expenditure_tiers, r.expenditure_cap_multiple)}
    if groups is not None:
        expenditure[True] = tiers(groups.tiers, groups.cap_multiple)

    return Params(
        rules=r,
        std=std,
        std_known=std_known,
        share=share,
        dib_mask=dib_mask,
        tek_mask=tek_mask,
        ded_mask=ded_mask,
        dibao_assets=dibao_assets,
        marginal_assets=marginal_assets,
        tek_school=tek_school,
        tek_disability=_grade_table(r.tekun_disability),
        tek_basic=tek_basic,
        care=care,  # type: ignore[arg-type]
        sp_disability=_grade_table(r.single_person.disability),
        supplement_items=items,
        supplement_additional=additional,
        exit_ceiling=exit_ceiling,
        exit_fraction=exit_fraction,
        marginal_threshold=marginal_threshold,
        line=line,
        line_known=line_known,
        rigid_share=(threshold.numerator, threshold.denominator),
        urgent_cause_ok=urgent_cause_ok,
        urgent_fixed=urgent_fixed,
        urgent_multiple=urgent_multiple,
        expenditure=expenditure,
        group_programs=tuple(groups.programs) if groups is not None else (),
        group_residence=groups.residence if groups is not None else None,
    )


# --- dates --------------------------------------------------------------------------------------


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def days_in_month(days: np.ndarray) -> np.ndarray:
    months = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]")
    return ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)


def whole_months_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``service.engine.dates.whole_months_between`` on arrays of days."""
    sy, sm, sd = ymd(start)
    ey, em, ed = ymd(end)
    months = (ey - sy) * 12 + (em - sm)
    landed = np.minimum(sd, days_in_month(end))  # add_months(start, months) is in end's month
    months = months - (landed > ed)
    return np.where(end <= start, 0, months)


# --- helpers --------------------------------------------------------------------------------------


def _sum(index: np.ndarray, values: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    if mask is None:
        np.add.at(out, index, values)
    else:
        np.add.at(out, index[mask], values[mask])
    return out


def _count(index: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index[mask], minlength=n).astype(np.int64)


def _tri(values: np.ndarray) -> np.ndarray:
    """Tri-state fact that must be true → outcome (unknown → insufficient)."""
    return np.where(values == -1, INSUFFICIENT, np.where(values == 1, PASS, FAIL)).astype(np.int8)


def _outcome(fail: np.ndarray, missing: np.ndarray) -> np.ndarray:
    return np.where(fail, FAIL, np.where(missing, INSUFFICIENT, PASS)).astype(np.int8)


def asset_outcome(
    b: Batch, a: AssetParams, size: np.ndarray, res: np.ndarray, std_known: np.ndarray
) -> np.ndarray:
    """``Case.assets`` for every household, with household size ``size``."""
    fail = np.zeros(b.n, dtype=bool)
    missing = ~std_known
    limit = (2 * a.fin_p[res] * size + a.fin_q) // (2 * a.fin_q)
    over = b.fin > limit if a.fin_equal_passes else b.fin >= limit
    fail |= std_known & b.fin_known & over
    missing |= std_known & ~b.fin_known
    missing |= ~b.veh_known
    fail |= b.veh_known & ((b.veh_mask & a.vehicle_bits) != 0)
    known = b.houses_known
    missing |= known & (b.homes_dil_unknown > 0)
    missing |= ~known
    count = b.homes_counted
    hard = count >= a.hard_from if a.hard_from is not None else np.zeros(b.n, dtype=bool)
    fail |= known & hard
    many = known & ~hard & (count >= a.fail_from)
    if a.area_above is None:
        fail |= many
    else:
        missing |= many & (b.homes_area_unknown > 0)
        complete = many & (b.homes_area_unknown == 0)
        s = np.maximum(size, 1)
        per_capita = (2 * b.homes_area + 100 * s) // (200 * s)  # 1/100 m², half up
        fail |= complete & (per_capita > a.area_above)
    if a.commercial:
        missing |= b.comm == -1
        fail |= b.comm == 1
    if a.capital_over is not None:
        missing |= ~b.cap_known
        fail |= b.cap_known & (b.cap >= a.capital_over)
    out = _outcome(fail, missing)
    out[~b.assets_known] = INSUFFICIENT
    return out


def _applies(conditions: Any, age: np.ndarray, b: Batch, severe: np.ndarray) -> np.ndarray:
    """``programs.dibao._applies`` for every member: any condition whose facts all hold."""
    result = np.zeros(len(age), dtype=bool)
    for c in conditions:
        ok = np.ones(len(age), dtype=bool)
        if c.age_at_least is not None:
            ok &= age >= c.age_at_least
        if c.age_below is not None:
            ok &= age < c.age_below
        if c.schooling_in is not None:
            ok &= np.isin(b.m_school, [SCHOOLING_INDEX[s] for s in c.schooling_in])
        if c.severe_disability:
            ok &= severe
        if c.any_disability:
            ok &= b.m_cat >= 0
        if c.disability_grade_at_most is not None:
            ok &= (b.m_cat >= 0) & (b.m_grade <= c.disability_grade_at_most)
        if c.serious_illness:
            ok &= b.m_ill
        result |= ok
    return result


def _grades(table: np.ndarray, b: Batch) -> np.ndarray:
    return (b.m_cat >= 0) & (b.m_grade <= table[np.maximum(b.m_cat, 0)])


# --- the evaluation ----------------------------------------------------------------------------------


@dataclass
class Decisions:
    """One entry per household; amounts in fen, -1 for none."""

    tekun_status: np.ndarray
    tekun_members: np.ndarray
    tekun_amount: np.ndarray
    dibao_status: np.ndarray
    dibao_basis: np.ndarray
    dibao_members: np.ndarray
    dibao_amount: np.ndarray
    marginal_status: np.ndarray
    rigid_expenditure_status: np.ndarray
    temporary_status: np.ndarray
    temporary_amount: np.ndarray
    per_capita_income: np.ndarray
    standard: np.ndarray


def evaluate_batch(b: Batch, bundle: Bundle, as_of: np.ndarray) -> Decisions:
    """Every household of ``b`` under ``bundle``, each on its ``as_of`` (days since 1970-01-01).

    Rows flagged ``b.slow`` get meaningless values here: the caller decides them one by one.
    Raises ``NotExact`` if the bundle has a parameter this path cannot use exactly.
    """
    p = params_for(bundle)
    r = p.rules
    n = b.n
    as_of = np.broadcast_to(np.asarray(as_of, dtype=np.int64), (n,))
    res = b.residence.astype(np.int64)
    std = p.std[res]
    sk = p.std_known[res]
    hh = b.m_hh
    m = len(hh)
    counted = ~b.m_excluded

    # --- facts of each member ---------------------------------------------------------------
    ay, am, ad = ymd(as_of)
    by, bm, bd = ymd(b.m_birth)
    age = ay[hh] - by - ((am[hh] < bm) | ((am[hh] == bm) & (ad[hh] < bd)))
    gross_d = _sum(b.i_member, b.i_fen, p.dib_mask[b.i_type], m)
    gross_t = _sum(b.i_member, b.i_fen, p.tek_mask[b.i_type], m)
    deduction = _sum(b.d_member, b.d_fen, p.ded_mask[b.d_type], m)
    income_ok = b.income_known[hh].copy()
    m_std = std[hh]
    m_sk = sk[hh]
    if p.share is not None:
        income_ok &= ~(b.m_employed & ~m_sk)  # the employment cost depends on the standard
        deduction = deduction + np.where(b.m_employed & m_sk, p.share[res][hh], 0)
    dib = np.maximum(gross_d - deduction, 0)
    tek = np.maximum(gross_t - deduction, 0)

    # --- 特困, per member ---------------------------------------------------------------------
    n_people = _count(hh, counted, n)
    tek_assets = asset_outcome(b, p.dibao_assets, n_people, res, sk)
    capacity = (
        (age >= r.tekun_elderly_age)
        | (age < r.tekun_minor_age)
        | p.tek_school[b.m_school]
        | _grades(p.tek_disability, b)
    )
    income_o = np.where(~income_ok | ~m_sk, INSUFFICIENT, np.where(tek < m_std, PASS, FAIL))
    member_o = np.maximum.reduce(
        [
            np.where(capacity, PASS, FAIL),
            np.maximum(income_o, tek_assets[hh]),
            _tri(np.where(b.m_supporter == -1, -1, 1 - b.m_supporter)),  # no supporter
        ]
    )
    tek_el = counted & (member_o == PASS)
    care = np.select(
        [b.m_selfcare < 0, b.m_selfcare >= r.care_full_from, b.m_selfcare >= r.care_partial_from],
        [0, p.care[2], p.care[1]],
        p.care[0],
    )
    tekun_members = _count(hh, tek_el, n)
    tekun_amount = _sum(hh, p.tek_basic[res][hh] + care, tek_el, n)
    tekun_status = np.where(
        n_people == 0,
        NOT_APPLICABLE,
        np.where(
            tekun_members > 0,
            ELIGIBLE,
            np.where(
                _count(hh, counted & (member_o == INSUFFICIENT), n) > 0,
                INSUFFICIENT_DATA,
                INELIGIBLE,
            ),
        ),
    ).astype(np.int8)

    # --- 低保 on the household without 特困 members --------------------------------------------
    rem = counted & ~tek_el
    n_rem = _count(hh, rem, n)
    empty = n_rem == 0
    total = _sum(hh, dib, rem, n)
    pc_known = ~empty & (_count(hh, rem & ~income_ok, n) == 0)
    size = np.maximum(n_rem, 1)
    pc = (2 * total + size) // (2 * size)  # cents(total / size), half up
    income_o = np.where(~pc_known | ~sk, INSUFFICIENT, np.where(pc < std, PASS, FAIL))
    dib_assets = asset_outcome(b, p.dibao_assets, n_rem, res, sk)
    household = np.maximum(income_o, dib_assets)

    dibao_status = np.full(n, INELIGIBLE, dtype=np.int8)
    dibao_basis = np.zeros(n, dtype=np.int8)
    dibao_members = np.zeros(n, dtype=np.int64)
    dibao_amount = np.full(n, -1, dtype=np.int64)
    dibao_status[empty] = NOT_APPLICABLE

    household_pass = ~empty & (household == PASS)
    supplements = np.zeros(m, dtype=np.int64)
    if p.supplement_items or p.supplement_additional:
        severe = (b.m_cat >= 0) & (
            (b.m_grade <= 2)
            | (
                (b.m_grade == 3)
                & np.isin(b.m_cat, [CATEGORY_INDEX["intellectual"], CATEGORY_INDEX["mental"]])
            )
        )
        best = np.zeros(m, dtype=np.int64)
        for conditions, amounts in p.supplement_items:
            best = np.maximum(
                best, np.where(_applies(conditions, age, b, severe), amounts[res][hh], 0)
            )
        supplements = best
        for conditions, amounts in p.supplement_additional:
            supplements = supplements + np.where(
                _applies(conditions, age, b, severe), amounts[res][hh], 0
            )
    amount = (std - pc) * n_rem + _sum(hh, supplements, rem, n)
    dibao_status[household_pass] = ELIGIBLE
    dibao_basis[household_pass] = BASIS_CODE["household"]
    dibao_members[household_pass] = n_rem[household_pass]
    dibao_amount[household_pass] = amount[household_pass]

    # gradual exit (渐退)
    rule = r.gradual_exit
    try_exit = ~empty & ~household_pass & (income_o == FAIL) & (b.ben_prog == 1)
    eligible_o = np.maximum(_tri(b.ben_rise), dib_assets)
    if p.exit_ceiling is not None:
        eligible_o = np.maximum(eligible_o, np.where(pc < p.exit_ceiling[res], PASS, FAIL))
    start = np.where(b.ben_exit == UNKNOWN_DAY, as_of, b.ben_exit.astype(np.int64))
    period_o = np.where(whole_months_between(start, as_of) < rule.max_months, PASS, FAIL)
    exit_o = np.maximum(eligible_o, period_o)
    exit_o = np.where((exit_o == PASS) & ~b.ben_amount_known, INSUFFICIENT, exit_o)
    if p.exit_fraction is None:
        exit_amount = b.ben_amount
    else:
        num, den = p.exit_fraction
        exit_amount = (2 * b.ben_amount * num + den) // (2 * den)
    exit_el = try_exit & (exit_o == PASS)
    dibao_status[exit_el] = ELIGIBLE
    dibao_basis[exit_el] = BASIS_CODE["gradual_exit"]
    dibao_members[exit_el] = n_rem[exit_el]
    dibao_amount[exit_el] = exit_amount[exit_el]
    other = ~empty & ~household_pass & ~exit_el
    outcome = np.where(try_exit, np.minimum(household, exit_o), household)
    dibao_status[other] = _STATUS_OF[outcome[other]]

    # --- 低保边缘 ------------------------------------------------------------------------------
    marginal_status = np.full(n, NOT_APPLICABLE, dtype=np.int8)
    consider = ~empty & (dibao_status != ELIGIBLE)
    pre = np.where(dibao_status == INSUFFICIENT_DATA, INSUFFICIENT, PASS)
    threshold = p.marginal_threshold[res]
    below = pc <= threshold if r.marginal_upper_inclusive else pc < threshold
    if r.marginal_above_standard_required:
        below = below & (pc > std)
    income_o = np.where(~pc_known | ~sk, INSUFFICIENT, np.where(below, PASS, FAIL))
    m_assets = (
        dib_assets
        if p.marginal_assets is p.dibao_assets
        else asset_outcome(b, p.marginal_assets, n_rem, res, sk)
    )
    outcome = np.maximum.reduce([pre, income_o, m_assets])
    marginal_status[consider] = _STATUS_OF[outcome[consider]]

    # --- 刚性支出 ------------------------------------------------------------------------------
    rigid_status = np.full(n, NOT_APPLICABLE, dtype=np.int8)
    if r.rigid_in_force:
        consider = ~empty & (dibao_status != ELIGIBLE) & (marginal_status != ELIGIBLE)
        pre = np.where(
            (dibao_status == INSUFFICIENT_DATA) | (marginal_status == INSUFFICIENT_DATA),
            INSUFFICIENT,
            PASS,
        )
        line = p.line[res]
        income_o = np.where(
            ~pc_known | ~p.line_known[res], INSUFFICIENT, np.where(pc < line, PASS, FAIL)
        )
        num, den = p.rigid_share
        spend = b.rigid_total
        if r.rigid_threshold_inclusive:
            over = spend * den >= 12 * total * num
        else:
            over = spend * den > 12 * total * num
        share_o = np.where(
            ~b.rigid_known | ~pc_known,
            INSUFFICIENT,
            np.where(total == 0, np.where(spend > 0, PASS, FAIL), np.where(over, PASS, FAIL)),
        )
        outcome = np.maximum.reduce([pre, income_o, m_assets, share_o])
        rigid_status[consider] = _STATUS_OF[outcome[consider]]

    # --- 单人户 (reported under 低保) -----------------------------------------------------------
    sp = r.single_person
    candidate = rem & (_grades(p.sp_disability, b) | (sp.serious_illness & b.m_ill))
    n_candidates = _count(hh, candidate, n)
    kinds = {"marginal": marginal_status, "rigid_expenditure": rigid_status}
    any_el = np.zeros(n, dtype=bool)
    any_un = np.zeros(n, dtype=bool)
    for kind in sp.household_types:
        any_el |= kinds[kind] == ELIGIBLE
        any_un |= kinds[kind] == INSUFFICIENT_DATA
    type_o = np.where(any_el, PASS, np.where(any_un, INSUFFICIENT, FAIL))
    # own income at or above the standard fails whatever the household type; then the type
    own_known = income_ok & m_sk
    member_type = type_o[hh]
    cand_o = np.select(
        [
            own_known & (dib >= m_std),
            member_type == FAIL,
            ~own_known,
            member_type == INSUFFICIENT,
        ],
        [FAIL, FAIL, INSUFFICIENT, INSUFFICIENT],
        PASS,
    )
    included = candidate & (cand_o == PASS)
    n_included = _count(hh, included, n)
    n_undecided = _count(hh, candidate & (cand_o == INSUFFICIENT), n)
    # an included member is a covered 低保 member: own difference plus the 分类施保 supplement
    sp_amount = _sum(hh, m_std - dib + supplements, included, n)
    active = ~empty & (dibao_status != ELIGIBLE) & (n_candidates > 0)
    sp_el = active & (n_included > 0)
    sp_un = active & (n_included == 0) & (dibao_status == INELIGIBLE) & (n_undecided > 0)
    dibao_status[sp_el] = ELIGIBLE
    dibao_basis[sp_el] = BASIS_CODE["single_person"]
    dibao_members[sp_el] = n_included[sp_el]
    dibao_amount[sp_el] = sp_amount[sp_el]
    dibao_status[sp_un] = INSUFFICIENT_DATA

    # --- 临时救助 ------------------------------------------------------------------------------
    temporary_status = np.full(n, NOT_APPLICABLE, dtype=np.int8)
    temporary_amount = np.full(n, -1, dtype=np.int64)
    repeat = _tri(np.where(b.em_assisted == -1, -1, 1 - b.em_assisted))  # not already assisted
    urgent = b.em_kind == 1
    if urgent.any():
        cause_o = np.where(
            b.em_cause < 0,
            INSUFFICIENT,
            np.where(p.urgent_cause_ok[np.maximum(b.em_cause, 0)], PASS, FAIL),
        )
        need = b.em_need
        if p.urgent_fixed is not None:
            cap_known = np.ones(n, dtype=bool)
            within = need <= p.urgent_fixed
            capped = np.full(n, p.urgent_fixed, dtype=np.int64)
        else:
            mult, q = p.urgent_multiple  # type: ignore[misc]
            cap_p = mult[res] * n_people
            cap_known = sk
            within = need * q <= cap_p
            capped = (2 * cap_p + q) // (2 * q)
        amount_o = np.where(~b.em_need_known | ~cap_known, INSUFFICIENT, PASS)
        outcome = np.maximum.reduce([repeat, cause_o, amount_o])
        temporary_status[urgent] = _STATUS_OF[outcome[urgent]]
        paid = urgent & (outcome == PASS)
        temporary_amount[paid] = np.where(within, need, capped)[paid]
    expenditure = b.em_kind == 2
    if expenditure.any():
        # the household after 特困 members leave, or everyone if all of them are 特困
        all_total = _sum(hh, dib, counted, n)
        all_known = (n_people > 0) & (_count(hh, counted & ~income_ok, n) == 0)
        people = np.maximum(n_people, 1)
        pc2 = np.where(empty, (2 * all_total + people) // (2 * people), pc)
        pc2_known = np.where(empty, all_known, pc_known)
        line = p.line[res]
        income_o = np.where(
            ~pc2_known | ~p.line_known[res], INSUFFICIENT, np.where(pc2 < line, PASS, FAIL)
        )
        e_assets = np.where(empty, tek_assets, dib_assets)
        in_group = np.zeros(n, dtype=bool)
        if p.group_residence is not None:
            statuses = {"dibao": dibao_status, "tekun": tekun_status, "marginal": marginal_status}
            for program in p.group_programs:
                in_group |= statuses[program] == ELIGIBLE
                if program in layout.BENEFIT_PROGRAMS:
                    in_group |= b.ben_prog == layout.BENEFIT_PROGRAMS.index(program) + 1
            if p.group_residence != "any":
                in_group &= res == layout.RESIDENCES.index(p.group_residence) + 1
        spend = b.rigid_total
        tier_o = np.full(n, INSUFFICIENT, dtype=np.int8)
        tier_amount = np.full(n, -1, dtype=np.int64)
        decided = b.rigid_known & sk
        for group, (starts, ends, amounts) in p.expenditure.items():
            rows = decided & (in_group == group)
            found = np.full(n, -1, dtype=np.int64)
            for index in range(len(starts) - 1, -1, -1):  # the first matching tier wins
                hit = rows & (spend >= starts[index]) & (spend < ends[index])
                found[hit] = index
            tier_o[rows] = np.where(found[rows] >= 0, PASS, FAIL)
            ok = rows & (found >= 0)
            tier_amount[ok] = amounts[res[ok], found[ok]]
        outcome = np.maximum.reduce([repeat, income_o, e_assets, tier_o])
        temporary_status[expenditure] = _STATUS_OF[outcome[expenditure]]
        paid = expenditure & (outcome == PASS)
        temporary_amount[paid] = tier_amount[paid]

    per_capita_income = np.where(pc_known, pc, -1)
    standard = np.where(sk, std, -1)

    # --- programs not asked for are reported as not applicable ---------------------------------
    ask = b.requested
    for index, program in enumerate(layout.PROGRAMS):
        off = ~ask[:, index]
        if not off.any():
            continue
        if program == "tekun":
            tekun_status[off] = NOT_APPLICABLE
            tekun_members[off] = 0
            tekun_amount[off] = 0
        elif program == "dibao":
            dibao_status[off] = NOT_APPLICABLE
            dibao_basis[off] = 0
            dibao_members[off] = 0
            dibao_amount[off] = -1
            per_capita_income[off] = -1
            standard[off] = -1
        elif program == "marginal":
            marginal_status[off] = NOT_APPLICABLE
        elif program == "rigid_expenditure":
            rigid_status[off] = NOT_APPLICABLE
        else:
            temporary_status[off] = NOT_APPLICABLE
            temporary_amount[off] = -1
    tekun_amount = np.where(tekun_members > 0, tekun_amount, -1)
    return Decisions(
        tekun_status=tekun_status,
        tekun_members=tekun_members,
        tekun_amount=tekun_amount,
        dibao_status=dibao_status,
        dibao_basis=dibao_basis,
        dibao_members=dibao_members,
        dibao_amount=dibao_amount,
        marginal_status=marginal_status,
        rigid_expenditure_status=rigid_status,
        temporary_status=temporary_status,
        temporary_amount=temporary_amount,
        per_capita_income=per_capita_income,
        standard=standard,
    )
