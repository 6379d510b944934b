"""Synthetic households: the one generator for tests, benchmarks and ``caseload generate``.

Deterministic for a seed; no real person (names and ID numbers are never generated). Every
household is a request of the contract. Three mixes, built from the same pieces (money and birth
dates drawn alike, the contract's vocabularies):

- ``population(count, seed)``, the **mixed** population of the benchmarks and property tests:
  every shipped jurisdiction and date range, tuned so every program and status appears: elderly
  people living alone without supporters (特困), low-income families (低保), families just above
  the standard (低保边缘, 单人户), households with large medical bills (刚性支出, 支出型临时救助),
  households in an emergency (急难型), households leaving 低保 after finding work (渐退), and a
  share of records with facts left out (insufficient_data).
- ``caseload(jurisdiction, count, seed, as_of, standards)``, the **annual review** caseload of
  one jurisdiction (``eligibility caseload generate``): incomes and savings as multiples of the
  jurisdiction's own 低保 standard, in the proportions described under ``CASELOAD_KINDS``.
- ``edge_household(rng, jurisdiction, as_of, rules)``, households on the **rules' edges** (the
  tests comparing the vectorised path with the engine): amounts chosen against the bundle in
  force so that many land exactly on a boundary or one fen either side.

The draws of each mix are fixed: tests and benchmarks compare decisions on these exact
households across commits, so a change to a draw is a change of their inputs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, get_args

from service.contract import request as contract
from service.engine.compiled import Rules
from service.engine.dates import add_months

RELATIONS: tuple[str, ...] = get_args(contract.Relation)
DISABILITY_CATEGORIES: tuple[str, ...] = get_args(contract.DisabilityCategory)
SCHOOLING: tuple[str, ...] = get_args(contract.Schooling)
EXCLUSIONS: tuple[str, ...] = get_args(contract.Exclusion)
INCOME_TYPES: tuple[str, ...] = get_args(contract.IncomeType)
DEDUCTION_TYPES: tuple[str, ...] = get_args(contract.DeductionType)
VEHICLE_KINDS: tuple[str, ...] = get_args(contract.VehicleKind)
EMERGENCY_CAUSES: tuple[str, ...] = get_args(contract.EmergencyCause)
PROGRAMS: tuple[str, ...] = tuple(contract.PROGRAM_IDS)

# --- pieces every mix draws with ----------------------------------------------------------------


def _money(rng: random.Random, low: float, high: float) -> str:
    return f"{rng.uniform(low, high):.2f}"


def _birth(rng: random.Random, as_of: date, age_low: int, age_high: int) -> str:
    age_days = rng.randint(age_low * 365, age_high * 365 + 364)
    return (as_of - timedelta(days=age_days)).isoformat()


# --- the mixed population ----------------------------------------------------------------------

JURISDICTIONS = (
    "wuhan",
    "changsha",
    "zhumadian",
    "chongqing",
    "chongqing/banan",
    "chongqing/yubei",
)
FIRST_DATES = {
    "wuhan": date(2020, 4, 1),
    "changsha": date(2021, 1, 1),
    "zhumadian": date(2020, 1, 1),
    "chongqing": date(2020, 1, 1),
    "chongqing/banan": date(2020, 1, 1),
    "chongqing/yubei": date(2020, 1, 1),
}
LAST_DATE = date(2026, 6, 30)


def household(
    rng: random.Random, jurisdiction: str | None = None, as_of: date | None = None
) -> dict[str, Any]:
    """One household of the mixed population (a request of the contract)."""
    jurisdiction = jurisdiction or rng.choice(JURISDICTIONS)
    if as_of is None:
        first = FIRST_DATES.get(jurisdiction, date(2021, 1, 1))
        as_of = first + timedelta(days=rng.randint(0, (LAST_DATE - first).days))
    kind = rng.choices(
        ["elderly_alone", "poor_family", "near_poor", "medical", "working", "emergency", "sparse"],
        weights=[12, 30, 20, 12, 16, 6, 4],
    )[0]
    members: list[dict[str, Any]] = []
    income: list[dict[str, Any]] = []
    if kind == "elderly_alone":
        members.append(
            {
                "id": "p1",
                "relation": "applicant",
                "birth_date": _birth(rng, as_of, 58, 92),
                "self_care_failed_items": rng.choice([0, 0, 1, 2, 3, 4, 5, 6]),
                "has_capable_supporter": rng.random() < 0.35,
            }
        )
        if rng.random() < 0.6:
            income.append(
                {"member": "p1", "type": "basic_pension_base", "monthly": _money(rng, 100, 250)}
            )
        if rng.random() < 0.5:
            income.append(
                {
                    "member": "p1",
                    "type": rng.choice(["transfer", "property"]),
                    "monthly": _money(rng, 0, 900),
                }
            )
    else:
        size = rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5])
        for index in range(size):
            adult = index < 2
            member: dict[str, Any] = {
                "id": f"m{index + 1}",
                "relation": "applicant" if index == 0 else ("spouse" if index == 1 else "child"),
                "birth_date": _birth(rng, as_of, 22, 66) if adult else _birth(rng, as_of, 0, 20),
            }
            if not adult:
                member["schooling"] = rng.choice(
                    ["none", "compulsory", "compulsory", "high_school", "vocational"]
                )
            if rng.random() < 0.12:
                member["disability"] = {
                    "category": rng.choice(DISABILITY_CATEGORIES),
                    "grade": rng.randint(1, 4),
                }
            if rng.random() < 0.08:
                member["serious_illness"] = True
            if adult and rng.random() < 0.6:
                member["employed"] = True
            if rng.random() < 0.9:
                member["has_capable_supporter"] = rng.random() < 0.7
            if rng.random() < 0.3:
                member["self_care_failed_items"] = rng.randint(0, 6)
            if rng.random() < 0.01:
                member["excluded"] = rng.choice(
                    ["prison", "missing", "clergy_away_3y", "compulsory_rehab"]
                )
            members.append(member)
            if adult and member.get("employed"):
                scale = {
                    "poor_family": (300, 1600),
                    "near_poor": (900, 2600),
                    "medical": (1000, 4000),
                    "working": (1200, 3500),
                    "emergency": (1500, 6000),
                    "sparse": (0, 3000),
                }[kind]
                income.append(
                    {
                        "member": member["id"],
                        "type": rng.choice(["wage", "wage", "business"]),
                        "monthly": _money(rng, *scale),
                    }
                )
            elif rng.random() < 0.25:
                income.append(
                    {
                        "member": member["id"],
                        "type": rng.choice(
                            ["transfer", "other", "social_assistance", "scholarship"]
                        ),
                        "monthly": _money(rng, 20, 400),
                    }
                )
    request: dict[str, Any] = {
        "jurisdiction": jurisdiction,
        "as_of": as_of.isoformat(),
        "residence": rng.choice(["urban", "urban", "rural"]),
        "household": {"members": members},
    }
    household_ = request["household"]
    if kind != "sparse" or rng.random() < 0.5:
        household_["income"] = income
    deductions = [
        {"member": m["id"], "type": "employment_cost", "monthly": _money(rng, 50, 300)}
        for m in members
        if m.get("employed") and rng.random() < 0.4
    ]
    if deductions:
        household_["deductions"] = deductions
    if kind != "sparse" or rng.random() < 0.3:
        vehicles = (
            [{"kind": rng.choice(["car", "truck", "motorcycle", "disability_vehicle"])}]
            if rng.random() < 0.12
            else []
        )
        houses = [
            {"area_m2": f"{rng.randint(25, 140)}", "dilapidated": rng.random() < 0.15}
            for _ in range(rng.choice([0, 1, 1, 1, 1, 2, 2, 3]))
        ]
        household_["assets"] = {
            "financial": _money(rng, 0, 30000)
            if rng.random() < 0.9
            else _money(rng, 30000, 200000),
            "vehicles": vehicles,
            "houses": houses,
            "commercial_property": rng.random() < 0.03,
            "business_capital": "0.00" if rng.random() < 0.95 else _money(rng, 10000, 300000),
        }
    if kind == "medical" or rng.random() < 0.15:
        household_["rigid_expenditure_12m"] = {
            "medical": _money(rng, 0, 60000),
            "education": _money(rng, 0, 12000),
            "rehabilitation": _money(rng, 0, 8000),
            "other": "0",
        }
    if kind == "working" and rng.random() < 0.7:
        started = as_of - timedelta(days=rng.randint(0, 300))
        household_["current_benefit"] = {
            "program": "dibao",
            "monthly_amount": _money(rng, 200, 1200),
            "since": (started - timedelta(days=rng.randint(100, 1500))).isoformat(),
            "exit_started": started.isoformat() if rng.random() < 0.8 else None,
            "income_rise_from_employment": rng.random() < 0.85,
        }
    if kind == "emergency" or (kind == "medical" and rng.random() < 0.4):
        urgent = kind == "emergency"
        request["emergency"] = {
            "kind": "urgent" if urgent else "expenditure",
            "cause": rng.choice(["fire", "traffic_accident", "sudden_illness", "disaster", "other"])
            if urgent
            else "medical",
            "occurred_on": (as_of - timedelta(days=rng.randint(0, 30))).isoformat(),
            "assessed_need": _money(rng, 1000, 150000),
            "already_assisted": rng.random() < 0.05,
        }
    return request


def population(
    count: int, seed: int = 0, jurisdiction: str | None = None, as_of: date | None = None
) -> list[dict[str, Any]]:
    """``count`` households of the mixed population (any jurisdiction and date unless given)."""
    rng = random.Random(seed)
    return [household(rng, jurisdiction, as_of) for _ in range(count)]


# --- the annual review caseload of one jurisdiction ------------------------------------------
#
# Household types (share of households):
#
# ========================  =====  =============================================================
# type                      share  drawn as
# ========================  =====  =============================================================
# older people              15 %   1 person (70 %) or a couple, aged 60–95; basic pension
#                                  (100–250 元, excluded) for 60 %; other income 0–1.2 × standard
#                                  for half; a capable supporter for 40 %; 0–6 self-care items
#                                  failed
# low-income family         30 %   1–5 people; per-capita countable income 0.1–1.1 × standard
# near-poor family          18 %   per-capita income 0.9–1.8 × standard
# medical hardship          10 %   per-capita income 0.7–3 × standard; medical spending of the
#                                  last 12 months 5,000–120,000 元; 40 % ask 支出型 临时救助
# leaving 低保 for work      12 %   receive 低保 now; income 1–1.6 × standard after a job; exit
#                                  period started 0–10 months ago (80 %); 85 % say the rise comes
#                                  from work
# emergency                  6 %   a 急难型 request (fire, accident, sudden illness, disaster;
#                                  5 % another cause), assessed need 1,000–150,000 元
# incomplete record          5 %   income, assets or a member's supporter/self-care facts left out
# better-off                 4 %   per-capita income 1.8–4 × standard (re-checks that end)
# ========================  =====  =============================================================
#
# Members: the applicant 22–66, a spouse (80 % of second members), parents 60–90 (15 % of
# further members), otherwise children 0–20 (schooling by age); 1 % not counted (prison, missing,
# …). Disability for 12 % of members (physical 45 %, hearing 15 %, visual 12 %, intellectual 10 %,
# mental 10 %, multiple 6 %, speech 2 %; grades 1–4 at 15/25/30/30 %), serious illness for 8 %;
# 60 % of members aged 18–59 without a disability employed (wage 80 %, business 20 %); a capable
# supporter for 90 % of family members; a self-care assessment (0–6 items failed) for 35 %. Excluded
# income (social assistance, scholarship, special-care pension, reward; 20–400 元) for 10 % of
# members; declared employment costs for 40 % of the employed, illness costs for 30 % of the
# seriously ill. Assets: savings below 6 months of the standard per person for 85 % of households,
# 6–30 months for 10 %, 30–200 months for 5 %; a vehicle for 10 % (car or truck 6 %, motorcycle or
# disability vehicle 4 %); no home 25 %, one 60 %, two or more 15 % (20–90 m², 10 % dilapidated);
# commercial property 2 %; business capital 4 %. Rigid spending of the last 12 months for every
# medical-hardship household and 8 % of the others; 低保 received now by the households leaving for
# work and half of the low-income families. Residence urban 65 %; rural households' amounts are
# scaled by the rural/urban standard ratio.

DEFAULT_AS_OF = date(2025, 7, 1)
BLOCK = 10_000
CASELOAD_KINDS = (  # the household types of the annual review; shares in per cent
    ("older", 15),
    ("low_income", 30),
    ("near_poor", 18),
    ("medical", 10),
    ("leaving", 12),
    ("emergency", 6),
    ("incomplete", 5),
    ("better_off", 4),
)
INCOME_BANDS = {  # per-capita countable income as a multiple of the standard
    "low_income": (0.1, 1.1),
    "near_poor": (0.9, 1.8),
    "medical": (0.7, 3.0),
    "leaving": (1.0, 1.6),
    "emergency": (0.3, 2.5),
    "incomplete": (0.2, 1.6),
    "better_off": (1.8, 4.0),
}
CASELOAD_CATEGORIES = (
    ("physical", 45),
    ("hearing", 15),
    ("visual", 12),
    ("intellectual", 10),
    ("mental", 10),
    ("multiple", 6),
    ("speech", 2),
)


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*table, strict=True)
    return rng.choices(names, weights=weights)[0]


def _yuan(value: float) -> str:
    return f"{max(value, 0.0):.2f}"


def _caseload_member(
    rng: random.Random, as_of: date, index: int, age_low: int, age_high: int, relation: str
) -> dict[str, Any]:
    member: dict[str, Any] = {
        "id": f"m{index}",
        "relation": relation,
        "birth_date": _birth(rng, as_of, age_low, age_high),
    }
    age = as_of.year - int(member["birth_date"][:4])
    if age < 22:
        member["schooling"] = (
            "none"
            if age < 6
            else "compulsory"
            if age < 15
            else rng.choice(["high_school", "vocational", "undergraduate", "none"])
        )
    if rng.random() < 0.12:
        member["disability"] = {
            "category": _pick(rng, CASELOAD_CATEGORIES),
            "grade": rng.choices([1, 2, 3, 4], weights=[15, 25, 30, 30])[0],
        }
    if rng.random() < 0.08:
        member["serious_illness"] = True
    if 18 <= age < 60 and "disability" not in member and rng.random() < 0.6:
        member["employed"] = True
    # Children and adults in a family mostly have someone able to support them (a parent, a
    # spouse, an adult child); older people living alone often do not (set by the caller).
    member["has_capable_supporter"] = rng.random() < 0.9
    if rng.random() < 0.35:
        member["self_care_failed_items"] = rng.choices(range(7), weights=[50, 12, 8, 8, 8, 7, 7])[0]
    if rng.random() < 0.01:
        member["excluded"] = rng.choice(["prison", "missing", "clergy_away_3y", "compulsory_rehab"])
    return member


def caseload_household(
    rng: random.Random, jurisdiction: str, as_of: date, standard: Decimal, household_id: str
) -> dict[str, Any]:
    """One contract request (with a caseload ``id``) for a household of a drawn type."""
    std = float(standard)
    kind = _pick(rng, CASELOAD_KINDS)
    members: list[dict[str, Any]] = []
    income: list[dict[str, Any]] = []
    if kind == "older":
        size = 1 if rng.random() < 0.7 else 2
        for index in range(1, size + 1):
            m = _caseload_member(rng, as_of, index, 60, 95, "applicant" if index == 1 else "spouse")
            m["has_capable_supporter"] = rng.random() < 0.4
            m.pop("employed", None)
            members.append(m)
            if rng.random() < 0.6:
                income.append(
                    {
                        "member": m["id"],
                        "type": "basic_pension_base",
                        "monthly": _money(rng, 100, 250),
                    }
                )
            if rng.random() < 0.5:
                income.append(
                    {
                        "member": m["id"],
                        "type": rng.choice(["transfer", "property", "social_insurance"]),
                        "monthly": _yuan(rng.uniform(0, 1.2) * std),
                    }
                )
    else:
        size = rng.choices([1, 2, 3, 4, 5], weights=[18, 24, 30, 18, 10])[0]
        for index in range(1, size + 1):
            if index == 1:
                m = _caseload_member(rng, as_of, 1, 22, 66, "applicant")
            elif index == 2 and rng.random() < 0.8:
                m = _caseload_member(rng, as_of, 2, 22, 66, "spouse")
            elif rng.random() < 0.15:
                m = _caseload_member(rng, as_of, index, 60, 90, "parent")
            else:
                m = _caseload_member(rng, as_of, index, 0, 20, "child")
            members.append(m)
        low, high = INCOME_BANDS[kind]
        household_income = rng.uniform(low, high) * std * size
        earners = [m for m in members if m.get("employed")]
        if earners:
            shares = [rng.random() + 0.2 for _ in earners]
            for m, share in zip(earners, shares, strict=True):
                income.append(
                    {
                        "member": m["id"],
                        "type": rng.choices(["wage", "business"], weights=[80, 20])[0],
                        "monthly": _yuan(household_income * share / sum(shares)),
                    }
                )
        else:
            income.append(
                {
                    "member": members[0]["id"],
                    "type": rng.choice(["transfer", "other", "property"]),
                    "monthly": _yuan(household_income),
                }
            )
        for m in members:
            if rng.random() < 0.1:
                income.append(
                    {
                        "member": m["id"],
                        "type": rng.choice(
                            ["social_assistance", "scholarship", "special_care_pension", "reward"]
                        ),
                        "monthly": _money(rng, 20, 400),
                    }
                )
    counted = sum(1 for m in members if "excluded" not in m) or 1
    request: dict[str, Any] = {
        "id": household_id,
        "jurisdiction": jurisdiction,
        "as_of": as_of.isoformat(),
        "residence": "urban" if rng.random() < 0.65 else "rural",
        "household": {"members": members, "income": income},
    }
    h = request["household"]
    deductions = [
        {"member": m["id"], "type": "employment_cost", "monthly": _money(rng, 50, 300)}
        for m in members
        if m.get("employed") and rng.random() < 0.4
    ] + [
        {"member": m["id"], "type": "illness_rigid", "monthly": _money(rng, 50, 500)}
        for m in members
        if m.get("serious_illness") and rng.random() < 0.3
    ]
    if deductions:
        h["deductions"] = deductions
    roll = rng.random()
    months = (
        rng.uniform(0, 6)
        if roll < 0.85
        else rng.uniform(6, 30)
        if roll < 0.95
        else rng.uniform(30, 200)
    )
    houses = [
        {"area_m2": str(rng.randint(20, 90)), "dilapidated": rng.random() < 0.1}
        for _ in range(rng.choices([0, 1, 2, 3], weights=[25, 60, 13, 2])[0])
    ]
    h["assets"] = {
        "financial": _yuan(months * std * counted),
        "vehicles": [
            {"kind": rng.choice(["car", "car", "truck", "motorcycle", "disability_vehicle"])}
        ]
        if rng.random() < 0.1
        else [],
        "houses": houses,
        "commercial_property": rng.random() < 0.02,
        "business_capital": "0.00" if rng.random() < 0.96 else _money(rng, 5000, 300000),
    }
    if kind == "medical" or rng.random() < 0.08:
        h["rigid_expenditure_12m"] = {
            "medical": _money(rng, 5000, 120000) if kind == "medical" else _money(rng, 0, 20000),
            "education": _money(rng, 0, 12000),
            "rehabilitation": _money(rng, 0, 8000),
            "other": "0",
        }
    if kind == "leaving" or (kind == "low_income" and rng.random() < 0.5):
        started = as_of - timedelta(days=rng.randint(0, 310))
        h["current_benefit"] = {
            "program": "dibao",
            "monthly_amount": _yuan(rng.uniform(0.2, 1.0) * std * counted),
            "since": (started - timedelta(days=rng.randint(100, 1500))).isoformat(),
            "exit_started": started.isoformat()
            if kind == "leaving" and rng.random() < 0.8
            else None,
            "income_rise_from_employment": rng.random() < 0.85 if kind == "leaving" else False,
        }
    if kind == "emergency":
        request["emergency"] = {
            "kind": "urgent",
            "cause": rng.choice(["fire", "traffic_accident", "sudden_illness", "disaster"])
            if rng.random() < 0.95
            else "other",
            "occurred_on": (as_of - timedelta(days=rng.randint(0, 30))).isoformat(),
            "assessed_need": _money(rng, 1000, 150000),
            "already_assisted": rng.random() < 0.05,
        }
    elif kind == "medical" and rng.random() < 0.4:
        request["emergency"] = {
            "kind": "expenditure",
            "cause": "medical",
            "occurred_on": (as_of - timedelta(days=rng.randint(0, 60))).isoformat(),
            "already_assisted": rng.random() < 0.05,
        }
    if kind == "incomplete":
        gap = rng.choice(["income", "assets", "members", "financial"])
        if gap == "income":
            del h["income"]
        elif gap == "assets":
            del h["assets"]
        elif gap == "financial":
            del h["assets"]["financial"]
        else:
            for m in members:
                m.pop("has_capable_supporter", None)
                m.pop("self_care_failed_items", None)
    return request


def caseload(
    jurisdiction: str,
    count: int,
    seed: int,
    as_of: date,
    standards: dict[str, Decimal],
    start: int = 0,
) -> Iterator[dict[str, Any]]:
    """Households ``start`` … ``start + count - 1`` of one jurisdiction's annual review caseload.

    Each block of 10,000 households has its own random stream, so the same arguments give the
    same households whatever the number of workers writing the blocks."""
    end = start + count
    block = start // BLOCK
    while block * BLOCK < end:
        rng = random.Random(f"caseload:{seed}:{block}")
        for position in range(block * BLOCK, min(end, (block + 1) * BLOCK)):
            request = _caseload_draw(rng, jurisdiction, as_of, standards, f"H{position + 1:07d}")
            if position >= start:
                yield request
        block += 1


def _caseload_draw(
    rng: random.Random,
    jurisdiction: str,
    as_of: date,
    standards: dict[str, Decimal],
    household_id: str,
) -> dict[str, Any]:
    # Incomes are drawn against the urban standard, then rescaled to the rural one for rural
    # households, so both residences see the same proportions.
    request = caseload_household(rng, jurisdiction, as_of, standards["urban"], household_id)
    if request["residence"] == "rural" and standards["rural"] != standards["urban"]:
        ratio = standards["rural"] / standards["urban"]
        _rescale(request, ratio)
    return request


def _rescale(request: dict[str, Any], ratio: Decimal) -> None:
    h = request["household"]
    for item in h.get("income") or []:
        if item["type"] != "basic_pension_base":
            item["monthly"] = str((Decimal(item["monthly"]) * ratio).quantize(Decimal("0.01")))
    assets = h.get("assets")
    if assets and assets.get("financial") is not None:
        assets["financial"] = str((Decimal(assets["financial"]) * ratio).quantize(Decimal("0.01")))
    benefit = h.get("current_benefit")
    if benefit and benefit.get("monthly_amount") is not None:
        benefit["monthly_amount"] = str(
            (Decimal(benefit["monthly_amount"]) * ratio).quantize(Decimal("0.01"))
        )


# --- households on the rules' edges ----------------------------------------------------------

CENT = Decimal("0.01")


def _cents(value: Decimal) -> str:
    return str(max(value, Decimal(0)).quantize(CENT))


def _near(rng: random.Random, value: Decimal) -> Decimal:
    return value + rng.choice([Decimal("-0.01"), Decimal(0), Decimal(0), Decimal("0.01")])


def _birthday(rng: random.Random, as_of: date, years: int) -> str:
    if rng.random() < 0.5:
        return add_months(as_of, -12 * years).isoformat()  # exactly ``years`` today
    return (add_months(as_of, -12 * years) + timedelta(days=rng.choice([-1, 1]))).isoformat()


def edge_household(
    rng: random.Random, jurisdiction: str, as_of: date, rules: Rules
) -> dict[str, Any]:
    """One household on the edges of ``rules``: ages on birthdays, amounts on or one fen either
    side of the standard, the 低保边缘 threshold, the asset limits, the rigid-expenditure share
    and the 临时救助 caps; exit periods ending on the day; facts left out one at a time."""
    residence = rng.choice(["urban", "urban", "rural", None])
    std = rules.standard[residence or "urban"]
    size = rng.choice([1, 1, 2, 3, 4, 5, 6])
    members = []
    for index in range(size):
        if rng.random() < 0.3:
            birth = _birthday(
                rng,
                as_of,
                rng.choice([rules.tekun_elderly_age, rules.tekun_minor_age, 16, 6, 65, 70, 59]),
            )
        else:
            birth = (as_of - timedelta(days=rng.randint(0, 95 * 365))).isoformat()
        if rng.random() < 0.03:
            birth = "2000-02-29"
        member: dict[str, Any] = {
            "id": f"x{index}",
            "relation": "applicant" if index == 0 else rng.choice(RELATIONS),
            "birth_date": birth,
            "schooling": rng.choice(SCHOOLING),
            "serious_illness": rng.random() < 0.15,
            "employed": rng.random() < 0.4,
        }
        if rng.random() < 0.35:
            member["disability"] = {
                "category": rng.choice(DISABILITY_CATEGORIES),
                "grade": rng.randint(1, 4),
            }
        if rng.random() < 0.8:
            member["has_capable_supporter"] = rng.random() < 0.4
        if rng.random() < 0.8:
            member["self_care_failed_items"] = rng.randint(0, 6)
        if rng.random() < 0.06:
            member["excluded"] = rng.choice(EXCLUSIONS)
        members.append(member)
    counted = [m for m in members if "excluded" not in m] or members
    target = rng.choice(
        [
            std,
            std * rules.marginal_multiplier,
            rules.disposable_income_monthly["urban"],
            Decimal(0),
            std * Decimal(rng.uniform(0, 2.5)),
            std * rules.tekun_basic["urban"] / max(std, Decimal(1)),
        ]
    )
    per_capita = _near(rng, target.quantize(CENT))
    income: list[dict[str, Any]] | None = []
    total = per_capita * len(counted)
    earners = [m for m in counted if rng.random() < 0.6] or counted[:1]
    for position, m in enumerate(earners):
        share = (
            total / len(earners)
            if position < len(earners) - 1
            else total - ((total / len(earners)).quantize(CENT) * (len(earners) - 1))
        )
        income.append(
            {
                "member": m["id"],
                "type": rng.choice(["wage", "business", "transfer"]),
                "monthly": _cents(share),
            }
        )
    for m in members:
        if rng.random() < 0.2:
            income.append(
                {
                    "member": m["id"],
                    "type": rng.choice(INCOME_TYPES),
                    "monthly": _cents(Decimal(rng.randint(0, 90000)) / 100),
                }
            )
    if rng.random() < 0.08:
        income = None
    deductions = [
        {
            "member": m["id"],
            "type": rng.choice(DEDUCTION_TYPES),
            "monthly": _cents(Decimal(rng.randint(0, 40000)) / 100),
        }
        for m in members
        if rng.random() < 0.25
    ]
    household: dict[str, Any] = {"members": members}
    if income is not None:
        household["income"] = income
    if deductions:
        household["deductions"] = deductions
    if rng.random() < 0.92:
        limits = rules.dibao_assets if rng.random() < 0.5 else rules.marginal_assets
        financial = _near(rng, (limits.financial.months * std * len(counted)).quantize(CENT))
        if rng.random() < 0.5:
            financial = Decimal(rng.randint(0, 5_000_000)) / 100
        area_limit = limits.homes.per_capita_area_above or Decimal(40)
        houses = []
        for _ in range(rng.choice([0, 1, 2, 2, 3])):
            house: dict[str, Any] = {}
            if rng.random() < 0.9:
                house["area_m2"] = str(
                    rng.choice(
                        [area_limit * len(counted) / 2, Decimal(rng.randint(10, 120)), area_limit]
                    ).quantize(Decimal("0.0001"))
                )
            if rng.random() < 0.9:
                house["dilapidated"] = rng.random() < 0.2
            houses.append(house)
        assets: dict[str, Any] = {
            "financial": _cents(financial),
            "vehicles": [
                {"kind": rng.choice(VEHICLE_KINDS)} for _ in range(rng.choice([0, 0, 1, 2]))
            ],
            "houses": houses,
            "commercial_property": rng.random() < 0.05,
            "business_capital": _cents(
                rng.choice(
                    [
                        Decimal(0),
                        Decimal(200000),
                        Decimal(199999.99),
                        Decimal(rng.randint(0, 300000)),
                    ]
                )
            ),
        }
        for key in list(assets):
            if rng.random() < 0.06:
                del assets[key]
        household["assets"] = assets
    if rng.random() < 0.6:
        income_total = per_capita * len(counted)
        spending = _near(rng, (income_total * 12 * rules.rigid_share_threshold).quantize(CENT))
        if rng.random() < 0.4:
            spending = rng.choice(
                [
                    Decimal(5000),
                    Decimal(10000),
                    Decimal(30000),
                    Decimal("4999.99"),
                    Decimal(rng.randint(0, 80000)),
                ]
            )
        rigid = {"medical": _cents(spending), "education": "0", "rehabilitation": "0", "other": "0"}
        if rng.random() < 0.1:
            del rigid[rng.choice(list(rigid))]
        household["rigid_expenditure_12m"] = rigid
    if rng.random() < 0.3:
        months = rules.gradual_exit.max_months
        started = add_months(as_of, -rng.choice([months, months - 1, months + 1, 0]))
        started += timedelta(days=rng.choice([0, 0, 1, -1]))
        benefit: dict[str, Any] = {
            "program": rng.choice(["dibao", "dibao", "tekun"]),
            "monthly_amount": _cents(Decimal(rng.randint(0, 200000)) / 100),
            "exit_started": started.isoformat(),
            "income_rise_from_employment": rng.random() < 0.7,
        }
        for key in ("monthly_amount", "exit_started", "income_rise_from_employment"):
            if rng.random() < 0.1:
                del benefit[key]
        household["current_benefit"] = benefit
    request: dict[str, Any] = {
        "jurisdiction": jurisdiction,
        "as_of": as_of.isoformat(),
        "household": household,
    }
    if residence is not None:
        request["residence"] = residence
    if rng.random() < 0.1:
        request["programs"] = rng.sample(PROGRAMS, rng.randint(1, 4))
    if rng.random() < 0.35:
        urgent = rng.random() < 0.5
        cap = rules.urgent_cap
        need = (
            cap.fixed
            if cap.fixed is not None
            else (cap.standard_multiple * std * len(counted)).quantize(CENT)
        )
        emergency: dict[str, Any] = {
            "kind": "urgent" if urgent else "expenditure",
            "cause": rng.choice(EMERGENCY_CAUSES),
            "assessed_need": _cents(
                _near(rng, need)
                if rng.random() < 0.5
                else Decimal(rng.randint(0, 20_000_000)) / 100
            ),
            "already_assisted": rng.random() < 0.1,
        }
        for key in ("cause", "assessed_need", "already_assisted"):
            if rng.random() < 0.08:
                del emergency[key]
        request["emergency"] = emergency
    return request
