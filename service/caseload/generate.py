"""A realistic synthetic caseload for one jurisdiction (``eligibility caseload generate``).

Builds on ``service.synthetic`` (same helpers, same rule of no real person: no names, no ID
numbers) but draws incomes and savings as multiples of the jurisdiction's own 低保 standard on
the reference date, so every city gets the same mix of programs and statuses, and draws
households in the proportions of an annual review caseload (年度复核: current recipients, the
low-income monitoring list and new applicants). Deterministic: the same jurisdiction, size, seed
and date give the same file, whatever the number of workers (each block of 10,000 households has
its own random stream).

Household types (share of households):

========================  =====  =============================================================
type                      share  drawn as
========================  =====  =============================================================
older people              15 %   1 person (70 %) or a couple, aged 60–95; basic pension
                                 (100–250 元, excluded) for 60 %; other income 0–1.2 × standard
                                 for half; a capable supporter for 40 %; 0–6 self-care items
                                 failed
low-income family         30 %   1–5 people; per-capita countable income 0.1–1.1 × standard
near-poor family          18 %   per-capita income 0.9–1.8 × standard
medical hardship          10 %   per-capita income 0.7–3 × standard; medical spending of the
                                 last 12 months 5,000–120,000 元; 40 % ask 支出型 临时救助
leaving 低保 for work      12 %   receive 低保 now; income 1–1.6 × standard after a job; exit
                                 period started 0–10 months ago (80 %); 85 % say the rise comes
                                 from work
emergency                  6 %   a 急难型 request (fire, accident, sudden illness, disaster;
                                 5 % another cause), assessed need 1,000–150,000 元
incomplete record          5 %   income, assets or a member's supporter/self-care facts left out
better-off                 4 %   per-capita income 1.8–4 × standard (re-checks that end)
========================  =====  =============================================================

Members: the applicant 22–66, a spouse (80 % of second members), parents 60–90 (15 % of
further members), otherwise children 0–20 (schooling by age); 1 % not counted (prison, missing,
…). Disability for 12 % of members (physical 45 %, hearing 15 %, visual 12 %, intellectual 10 %,
mental 10 %, multiple 6 %, speech 2 %; grades 1–4 at 15/25/30/30 %), serious illness for 8 %;
60 % of members aged 18–59 without a disability employed (wage 80 %, business 20 %); a capable
supporter for 90 % of family members; a self-care assessment (0–6 items failed) for 35 %. Excluded
income (social assistance, scholarship, special-care pension, reward; 20–400 元) for 10 % of
members; declared employment costs for 40 % of the employed, illness costs for 30 % of the
seriously ill. Assets: savings below 6 months of the standard per person for 85 % of households,
6–30 months for 10 %, 30–200 months for 5 %; a vehicle for 10 % (car or truck 6 %, motorcycle or
disability vehicle 4 %); no home 25 %, one 60 %, two or more 15 % (20–90 m², 10 % dilapidated);
commercial property 2 %; business capital 4 %. Rigid spending of the last 12 months for every
medical-hardship household and 8 % of the others; 低保 received now by the households leaving for
work and half of the low-income families. Residence urban 65 %; rural households' amounts are
scaled by the rural/urban standard ratio.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from service.synthetic import _birth, _money

DEFAULT_AS_OF = date(2025, 7, 1)
BLOCK = 10_000
KINDS = (
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
CATEGORIES = (
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


def _member(
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
            "category": _pick(rng, CATEGORIES),
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


def household(
    rng: random.Random, jurisdiction: str, as_of: date, standard: Decimal, household_id: str
) -> dict[str, Any]:
    """One contract request (with a caseload ``id``) for a household of a drawn type."""
    std = float(standard)
    kind = _pick(rng, KINDS)
    members: list[dict[str, Any]] = []
    income: list[dict[str, Any]] = []
    if kind == "older":
        size = 1 if rng.random() < 0.7 else 2
        for index in range(1, size + 1):
            m = _member(rng, as_of, index, 60, 95, "applicant" if index == 1 else "spouse")
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
                m = _member(rng, as_of, 1, 22, 66, "applicant")
            elif index == 2 and rng.random() < 0.8:
                m = _member(rng, as_of, 2, 22, 66, "spouse")
            elif rng.random() < 0.15:
                m = _member(rng, as_of, index, 60, 90, "parent")
            else:
                m = _member(rng, as_of, index, 0, 20, "child")
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


def requests(
    jurisdiction: str,
    count: int,
    seed: int,
    as_of: date,
    standards: dict[str, Decimal],
    start: int = 0,
) -> Iterator[dict[str, Any]]:
    """Households ``start`` … ``start + count - 1`` of the caseload (blocks of 10,000)."""
    end = start + count
    block = start // BLOCK
    while block * BLOCK < end:
        rng = random.Random(f"caseload:{seed}:{block}")
        for position in range(block * BLOCK, min(end, (block + 1) * BLOCK)):
            request = _draw(rng, jurisdiction, as_of, standards, f"H{position + 1:07d}")
            if position >= start:
                yield request
        block += 1


def _draw(
    rng: random.Random,
    jurisdiction: str,
    as_of: date,
    standards: dict[str, Decimal],
    household_id: str,
) -> dict[str, Any]:
    # Incomes are drawn against the urban standard, then rescaled to the rural one for rural
    # households, so both residences see the same proportions.
    request = household(rng, jurisdiction, as_of, standards["urban"], household_id)
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
