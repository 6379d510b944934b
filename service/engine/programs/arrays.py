"""What the programs' batch forms share: the batch's columns, codes, exact fen and date helpers.

Each program module ends with its batch form (``decide_batch``): the same decision as its
per-household form, computed on whole arrays of households at once (numpy), without the trace.
The caseload path (``service.caseload.vector``) calls them in the engine's order; the tests check
that both forms give the same status, basis, amount and members for every program of every
household.

Arithmetic is exact, in integer fen: every parameter a decision reads is turned into an integer
(or an exact fraction compared by integer cross-multiplication) once per bundle and residence. A
bundle with a value that is not a whole number of fen where the engine's amount depends on it
(an annual standard not divisible by 12, a share of the standard with fractions of a fen, …)
raises ``NotExact``, and its households go to the per-household engine.

Outcomes are coded so that the engine's ``combine`` (fail beats insufficient beats pass) is a
maximum: PASS 0, INSUFFICIENT 1, FAIL 2; alternative paths (``combine_paths``) are a minimum.
A program status or a 低保 basis is coded as its place in the contract's own vocabulary
(``STATUSES``, ``BASES``), which the caseload's result rows use too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, get_args, get_origin

import numpy as np

from service.contract import request as contract
from service.contract.codes import DibaoBasis, Status
from service.engine.compiled import AssetLimits, Rules

# --- codes -------------------------------------------------------------------------------------


def _values(annotation: Any) -> tuple[str, ...]:
    """The values of a ``Literal`` (or of an optional one)."""
    literal = next(arg for arg in (annotation, *get_args(annotation)) if get_origin(arg) is Literal)
    return get_args(literal)


STATUSES: tuple[str, ...] = get_args(Status)
"""eligible, ineligible, insufficient_data, not_applicable: a status's code is its place here."""
BASES: tuple[str, ...] = ("", *get_args(DibaoBasis))
"""The 低保 basis codes: 0 none, then household, gradual_exit, single_person."""
STATUS_CODE = {status: code for code, status in enumerate(STATUSES)}
BASIS_CODE = {basis: code for code, basis in enumerate(BASES)}
ELIGIBLE = STATUS_CODE["eligible"]
INELIGIBLE = STATUS_CODE["ineligible"]
INSUFFICIENT_DATA = STATUS_CODE["insufficient_data"]
NOT_APPLICABLE = STATUS_CODE["not_applicable"]

# a rule's outcome, ordered so that the worst of several is their maximum
PASS, INSUFFICIENT, FAIL = 0, 1, 2
STATUS_OF = np.array([ELIGIBLE, INSUFFICIENT_DATA, INELIGIBLE], dtype=np.int8)
"""A program's status from its combined outcome."""

# The vocabularies the batch's columns code as a place (-1: none): the contract's own lists.
PROGRAMS: tuple[str, ...] = tuple(contract.PROGRAM_IDS)
RESIDENCES: tuple[str, ...] = get_args(contract.Residence)
DISABILITY_CATEGORIES: tuple[str, ...] = get_args(contract.DisabilityCategory)
SCHOOLING: tuple[str, ...] = get_args(contract.Schooling)
INCOME_TYPES: tuple[str, ...] = get_args(contract.IncomeType)
DEDUCTION_TYPES: tuple[str, ...] = get_args(contract.DeductionType)
VEHICLE_KINDS: tuple[str, ...] = get_args(contract.VehicleKind)
EMERGENCY_KINDS: tuple[str, ...] = get_args(contract.EmergencyKind)
EMERGENCY_CAUSES: tuple[str, ...] = get_args(contract.EmergencyCause)
BENEFIT_PROGRAMS: tuple[str, ...] = _values(
    contract.CurrentBenefit.model_fields["program"].annotation
)

VEHICLE_INDEX = {code: index for index, code in enumerate(VEHICLE_KINDS)}
CATEGORY_INDEX = {code: index for index, code in enumerate(DISABILITY_CATEGORIES)}
SCHOOLING_INDEX = {code: index for index, code in enumerate(SCHOOLING)}
UNKNOWN_DAY = np.iinfo(np.int32).min
"""A date column's value for an unknown date."""


# --- the batch's columns -------------------------------------------------------------------------


@dataclass
class Batch:
    """Households as numpy arrays (``service.caseload.columns.from_arrow`` reads them from a
    caseload file). Money is integer fen (int64), floor areas integer 1/10,000 m², dates days
    since 1970-01-01; tri-state facts are int8: -1 unknown, 0 false, 1 true."""

    count: int  # households
    ids: Any  # pyarrow string array (household ids; null: the line number is used)
    slow: np.ndarray  # bool: validate and evaluate this row one by one
    residence: np.ndarray  # int8: 0 none, 1 urban, 2 rural
    requested: np.ndarray  # bool (n, 5), in PROGRAMS order
    income_known: np.ndarray
    assets_known: np.ndarray
    fin: np.ndarray
    fin_known: np.ndarray
    veh_known: np.ndarray
    veh_mask: np.ndarray  # int32 bit set of vehicle kinds
    houses_known: np.ndarray
    homes_counted: np.ndarray  # non-dilapidated homes
    homes_dil_unknown: np.ndarray
    homes_area: np.ndarray  # total area of counted homes with a known area
    homes_area_unknown: np.ndarray  # counted homes without an area
    comm: np.ndarray  # tri-state
    cap: np.ndarray
    cap_known: np.ndarray
    rigid_known: np.ndarray
    rigid_total: np.ndarray
    ben_prog: np.ndarray  # 0 none, 1 dibao, 2 tekun
    ben_amount: np.ndarray
    ben_amount_known: np.ndarray
    ben_exit: np.ndarray  # days, UNKNOWN_DAY if none
    ben_rise: np.ndarray  # tri-state
    em_kind: np.ndarray  # 0 none, 1 urgent, 2 expenditure
    em_cause: np.ndarray  # -1 none, else EMERGENCY_CAUSES index
    em_need: np.ndarray
    em_need_known: np.ndarray
    em_assisted: np.ndarray  # tri-state
    # members, grouped by household in order
    m_hh: np.ndarray
    m_birth: np.ndarray  # days
    m_cat: np.ndarray  # -1 none
    m_grade: np.ndarray
    m_ill: np.ndarray
    m_employed: np.ndarray
    m_school: np.ndarray
    m_selfcare: np.ndarray  # -1 unknown
    m_supporter: np.ndarray  # tri-state
    m_excluded: np.ndarray
    # income and deduction items: member index (into the member arrays), type, fen
    i_member: np.ndarray
    i_type: np.ndarray
    i_fen: np.ndarray
    d_member: np.ndarray
    d_type: np.ndarray
    d_fen: np.ndarray


# --- exact fen -----------------------------------------------------------------------------------

MAX_STANDARD_FEN = 10**9


class NotExact(Exception):
    """A parameter of the bundle cannot be computed exactly in integer fen here."""


def fen(value: Decimal | Fraction, what: str) -> int:
    exact = Fraction(value) * 100
    if exact.denominator != 1:
        raise NotExact(f"{what} = {value} is not a whole number of fen")
    return int(exact)


def checked(decimal_result: Decimal, exact: Fraction, what: str) -> Fraction:
    """The engine computes with ``Decimal``; use a product only if it is exact there too."""
    if Fraction(decimal_result) != exact:
        raise NotExact(f"{what} is rounded by Decimal arithmetic")
    return exact


def share_of(share: Decimal, standard: Decimal, what: str) -> Fraction:
    """``share × standard`` in yuan, exact (the engine's ``Decimal`` product)."""
    return checked(share * standard, Fraction(share) * Fraction(standard), what)


def half_up(value: Fraction) -> int:
    """ROUND_HALF_UP to an integer, for value ≥ 0."""
    return math.floor(value + Fraction(1, 2))


def by_residence(rules: Rules) -> list[Decimal | None]:
    """The monthly standard by residence code (0 none, 1 urban, 2 rural); None where unknown."""
    urban, rural = rules.standard["urban"], rules.standard["rural"]
    return [urban if rules.standard_unified else None, urban, rural]


# --- checking that every rule of a bundle is known ------------------------------------------------


def check_known(value: Any, known_fields: dict[str, set[str]]) -> None:
    """Raise NotExact if ``value`` (a rule model, or a list/dict of them) sets a field not in
    ``known_fields`` (model name → the fields the batch forms apply)."""
    if isinstance(value, list | tuple | frozenset):
        for item in value:
            check_known(item, known_fields)
        return
    if isinstance(value, dict):
        for item in value.values():
            check_known(item, known_fields)
        return
    known = known_fields.get(type(value).__name__)
    if known is None:
        return
    for name in type(value).model_fields:
        child = getattr(value, name)
        if name not in known and child is not None:
            raise NotExact(f"unknown rule field {type(value).__name__}.{name}")
        check_known(child, known_fields)


# --- shared parameters ----------------------------------------------------------------------------


@dataclass
class AssetParams:
    """One asset test's limits (``AssetLimits``), in integers."""

    limits: AssetLimits
    financial: np.ndarray  # by residence: months × standard = financial / financial_scale fen
    financial_scale: int
    financial_equal_passes: bool
    vehicle_bits: int
    fail_from: int
    hard_from: int | None
    area_above: int | None  # floor(limit × 100), in 1/100 m²
    commercial: bool
    capital_over: int | None  # capital ≥ this fails
    capital_equal_passes: bool


def asset_params(limits: AssetLimits, standards: list[Decimal | None]) -> AssetParams:
    for part in (limits.financial, limits.homes, limits.business_capital):
        check_known(part, SHARED_FIELDS)
    months = limits.financial.months
    exact = [
        checked(months * standard, Fraction(months) * Fraction(standard), "financial limit")
        if standard is not None
        else Fraction(0)
        for standard in standards
    ]
    in_fen = [value * 100 for value in exact]
    scale = math.lcm(*(value.denominator for value in in_fen))
    if scale > 10**6:
        raise NotExact("financial limit")
    homes = limits.homes
    capital = limits.business_capital
    capital_over = None
    if capital is not None:
        limit = Fraction(capital.limit) * 100
        # fails: capital > limit (equality passes) or capital ≥ limit
        capital_over = math.floor(limit) + 1 if capital.equal_passes else math.ceil(limit)
    return AssetParams(
        limits=limits,
        financial=np.array([int(value * scale) for value in in_fen], dtype=np.int64),
        financial_scale=scale,
        financial_equal_passes=limits.financial.equal_passes,
        vehicle_bits=sum(1 << VEHICLE_INDEX[kind] for kind in limits.vehicles_disallowed),
        fail_from=homes.fail_from_count,
        hard_from=homes.hard_fail_from_count,
        area_above=None
        if homes.per_capita_area_above is None
        else math.floor(Fraction(homes.per_capita_area_above) * 100),
        commercial=limits.commercial_property_fails,
        capital_over=capital_over,
        capital_equal_passes=capital.equal_passes if capital is not None else True,
    )


def grade_table(grades: Any) -> np.ndarray:
    """The highest qualifying disability grade by category code (0: none)."""
    table = np.zeros(len(DISABILITY_CATEGORIES), dtype=np.int64)
    for rule in grades:
        for category, index in CATEGORY_INDEX.items():
            if rule.categories == "any" or category in rule.categories:
                table[index] = max(table[index], rule.max_grade)
    return table


# The shared rules: the standard, the income every program counts (deductions, employment cost)
# and 低保's asset limits (also 特困's and 临时救助's); the bundle's name, its provisional marks
# and the engine's step cache change no decision.
SHARED_RULES = frozenset(
    {
        "bundle_jurisdiction", "standard", "standard_unified", "deductions_allowed",
        "employment_cost_share", "dibao_assets", "provisional", "step_cache",
    }
)  # fmt: skip
SHARED_FIELDS = {
    "DisabilityGrades": {"categories", "max_grade"},
    "FinancialLimit": {"months", "equal_passes"},
    "HomesLimit": {"fail_from_count", "per_capita_area_above", "hard_fail_from_count"},
    "CapitalLimit": {"limit", "equal_passes"},
}


@dataclass
class SharedParams:
    standard: np.ndarray  # fen by residence code (0 none, 1 urban, 2 rural); 0 where unknown
    standard_known: np.ndarray
    employment_cost: np.ndarray | None  # per employed member, fen by residence
    deducted: np.ndarray  # by deduction type
    dibao_assets: AssetParams


def shared_params(rules: Rules) -> SharedParams:
    standards = by_residence(rules)
    for standard in standards:
        if standard is not None and not 0 <= fen(standard, "standard") < MAX_STANDARD_FEN:
            raise NotExact("standard out of range")
    employment_cost = None
    share = rules.employment_cost_share
    if share is not None:
        employment_cost = np.array(
            [
                fen(share_of(share, standard, "employment cost"), "employment cost")
                if standard is not None
                else 0
                for standard in standards
            ],
            dtype=np.int64,
        )
    deducted = np.array(
        [
            kind in rules.deductions_allowed
            and not (share is not None and kind == "employment_cost")
            for kind in DEDUCTION_TYPES
        ]
    )
    return SharedParams(
        standard=np.array(
            [fen(standard, "standard") if standard is not None else 0 for standard in standards],
            np.int64,
        ),
        standard_known=np.array([standard is not None for standard in standards]),
        employment_cost=employment_cost,
        deducted=deducted,
        dibao_assets=asset_params(rules.dibao_assets, standards),
    )


_ALWAYS_COUNTED = frozenset({"wage", "business", "property", "transfer", "other"})


def counted_income(excluded: frozenset[str]) -> np.ndarray:
    """By income type: counted by a program that excludes ``excluded`` (types the law always
    counts cannot be excluded)."""
    return np.array([kind in _ALWAYS_COUNTED or kind not in excluded for kind in INCOME_TYPES])


# --- the facts every program reads ----------------------------------------------------------------


@dataclass
class Households:
    """The facts of a batch every program reads, worked out once under one bundle."""

    count: int
    as_of: np.ndarray  # days, by household
    residence: np.ndarray  # int64 code, by household
    standard: np.ndarray  # fen, by household (0 where unknown)
    standard_known: np.ndarray
    people: np.ndarray  # counted members, by household
    # by member
    household: np.ndarray  # the member's household
    counted: np.ndarray
    age: np.ndarray
    income_known: np.ndarray  # the household's income is known (and so is the employment cost)
    deduction: np.ndarray  # fen deducted from the member's income
    member_standard: np.ndarray
    member_standard_known: np.ndarray


def households(batch: Batch, shared: SharedParams, as_of: np.ndarray) -> Households:
    count = batch.count
    as_of = np.broadcast_to(np.asarray(as_of, dtype=np.int64), (count,))
    residence = batch.residence.astype(np.int64)
    standard = shared.standard[residence]
    standard_known = shared.standard_known[residence]
    household = batch.m_hh
    members = len(household)
    counted = ~batch.m_excluded
    year, month, day = ymd(as_of)
    birth_year, birth_month, birth_day = ymd(batch.m_birth)
    age = (
        year[household]
        - birth_year
        - (
            (month[household] < birth_month)
            | ((month[household] == birth_month) & (day[household] < birth_day))
        )
    )
    deduction = sum_by(batch.d_member, batch.d_fen, shared.deducted[batch.d_type], members)
    income_known = batch.income_known[household].copy()
    member_standard = standard[household]
    member_standard_known = standard_known[household]
    if shared.employment_cost is not None:
        # the employment cost depends on the standard
        income_known &= ~(batch.m_employed & ~member_standard_known)
        deduction = deduction + np.where(
            batch.m_employed & member_standard_known,
            shared.employment_cost[residence][household],
            0,
        )
    return Households(
        count=count,
        as_of=as_of,
        residence=residence,
        standard=standard,
        standard_known=standard_known,
        people=count_by(household, counted, count),
        household=household,
        counted=counted,
        age=age,
        income_known=income_known,
        deduction=deduction,
        member_standard=member_standard,
        member_standard_known=member_standard_known,
    )


def net_income(batch: Batch, facts: Households, counted: np.ndarray) -> np.ndarray:
    """Each member's monthly income of the types ``counted`` (by income type), less deductions."""
    gross = sum_by(batch.i_member, batch.i_fen, counted[batch.i_type], len(facts.household))
    return np.maximum(gross - facts.deduction, 0)


# --- dates ----------------------------------------------------------------------------------------


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def days_in_month(days: np.ndarray) -> np.ndarray:
    months = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]")
    return ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)


def whole_months_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``service.engine.dates.whole_months_between`` on arrays of days."""
    start_year, start_month, start_day = ymd(start)
    end_year, end_month, end_day = ymd(end)
    months = (end_year - start_year) * 12 + (end_month - start_month)
    landed = np.minimum(start_day, days_in_month(end))  # add_months(start, months): end's month
    months = months - (landed > end_day)
    return np.where(end <= start, 0, months)


# --- array helpers -------------------------------------------------------------------------------


def sum_by(index: np.ndarray, values: np.ndarray, mask: np.ndarray | None, size: int) -> np.ndarray:
    """The sum of ``values`` (where ``mask``) by ``index``, for indexes 0 … size - 1."""
    out = np.zeros(size, dtype=np.int64)
    if mask is None:
        np.add.at(out, index, values)
    else:
        np.add.at(out, index[mask], values[mask])
    return out


def count_by(index: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """How many entries (where ``mask``) each index 0 … size - 1 has."""
    return np.bincount(index[mask], minlength=size).astype(np.int64)


def must_hold(values: np.ndarray) -> np.ndarray:
    """A tri-state fact that must be true → outcome (unknown → insufficient)."""
    return np.where(values == -1, INSUFFICIENT, np.where(values == 1, PASS, FAIL)).astype(np.int8)


def outcome_of(fail: np.ndarray, missing: np.ndarray) -> np.ndarray:
    return np.where(fail, FAIL, np.where(missing, INSUFFICIENT, PASS)).astype(np.int8)


def grades(table: np.ndarray, batch: Batch) -> np.ndarray:
    """Each member's disability qualifies under ``table`` (``grade_table``)."""
    return (batch.m_cat >= 0) & (batch.m_grade <= table[np.maximum(batch.m_cat, 0)])


def asset_outcome(
    batch: Batch,
    limits: AssetParams,
    size: np.ndarray,
    residence: np.ndarray,
    standard_known: np.ndarray,
) -> np.ndarray:
    """``Case.assets`` for every household, with household size ``size``."""
    fail = np.zeros(batch.count, dtype=bool)
    missing = ~standard_known
    scale = limits.financial_scale
    limit = (2 * limits.financial[residence] * size + scale) // (2 * scale)
    over = batch.fin > limit if limits.financial_equal_passes else batch.fin >= limit
    fail |= standard_known & batch.fin_known & over
    missing |= standard_known & ~batch.fin_known
    missing |= ~batch.veh_known
    fail |= batch.veh_known & ((batch.veh_mask & limits.vehicle_bits) != 0)
    known = batch.houses_known
    missing |= known & (batch.homes_dil_unknown > 0)
    missing |= ~known
    homes = batch.homes_counted
    hard = (
        homes >= limits.hard_from if limits.hard_from is not None else np.zeros(batch.count, bool)
    )
    fail |= known & hard
    many = known & ~hard & (homes >= limits.fail_from)
    if limits.area_above is None:
        fail |= many
    else:
        missing |= many & (batch.homes_area_unknown > 0)
        complete = many & (batch.homes_area_unknown == 0)
        people = np.maximum(size, 1)
        per_capita = (2 * batch.homes_area + 100 * people) // (200 * people)  # 1/100 m², half up
        fail |= complete & (per_capita > limits.area_above)
    if limits.commercial:
        missing |= batch.comm == -1
        fail |= batch.comm == 1
    if limits.capital_over is not None:
        missing |= ~batch.cap_known
        fail |= batch.cap_known & (batch.cap >= limits.capital_over)
    out = outcome_of(fail, missing)
    out[~batch.assets_known] = INSUFFICIENT
    return out


def rules_fields(rules: Rules) -> set[str]:
    return {entry.name for entry in dataclasses.fields(rules)}
