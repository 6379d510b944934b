"""Synthetic households for benchmarks, property tests and caseload demos.

Deterministic for a seed. The mix is tuned so every program and status appears: elderly people
living alone without supporters (特困), low-income families (低保), families just above the
standard (低保边缘, 单人户), households with large medical bills (刚性支出, 支出型临时救助),
households in an emergency (急难型), households leaving 低保 after finding work (渐退), and a
share of records with facts left out (insufficient_data). No real person: names and ID numbers
are never generated.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

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


def _money(rng: random.Random, low: float, high: float) -> str:
    return f"{rng.uniform(low, high):.2f}"


def _birth(rng: random.Random, as_of: date, age_low: int, age_high: int) -> str:
    age_days = rng.randint(age_low * 365, age_high * 365 + 364)
    return (as_of - timedelta(days=age_days)).isoformat()


def household(
    rng: random.Random, jurisdiction: str | None = None, as_of: date | None = None
) -> dict[str, Any]:
    """One request of the contract."""
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
                    "category": rng.choice(
                        [
                            "physical",
                            "intellectual",
                            "mental",
                            "visual",
                            "hearing",
                            "speech",
                            "multiple",
                        ]
                    ),
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
    rng = random.Random(seed)
    return [household(rng, jurisdiction, as_of) for _ in range(count)]
