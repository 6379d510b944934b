"""Households built to sit on the rules' edges, for the vectorised-vs-engine equality test.

Each household is valid for the contract. Amounts are chosen against the bundle in force (the
standard, the 低保边缘 threshold, the asset limits, the rigid-expenditure share, the 临时救助 caps
and tiers) so that many land exactly on a boundary or one fen either side; ages land on
birthdays; exit periods end on the day; facts are left out one at a time.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from service.caseload import layout
from service.engine.compiled import Rules
from service.engine.dates import add_months

CENT = Decimal("0.01")


def _m(value: Decimal) -> str:
    return str(max(value, Decimal(0)).quantize(CENT))


def _near(rng: random.Random, value: Decimal) -> Decimal:
    return value + rng.choice([Decimal("-0.01"), Decimal(0), Decimal(0), Decimal("0.01")])


def _birthday(rng: random.Random, as_of: date, years: int) -> str:
    if rng.random() < 0.5:
        return add_months(as_of, -12 * years).isoformat()  # exactly ``years`` today
    return (add_months(as_of, -12 * years) + timedelta(days=rng.choice([-1, 1]))).isoformat()


def household(rng: random.Random, jurisdiction: str, as_of: date, rules: Rules) -> dict[str, Any]:
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
            "relation": "applicant" if index == 0 else rng.choice(layout.RELATIONS),
            "birth_date": birth,
            "schooling": rng.choice(layout.SCHOOLING),
            "serious_illness": rng.random() < 0.15,
            "employed": rng.random() < 0.4,
        }
        if rng.random() < 0.35:
            member["disability"] = {
                "category": rng.choice(layout.DISABILITY_CATEGORIES),
                "grade": rng.randint(1, 4),
            }
        if rng.random() < 0.8:
            member["has_capable_supporter"] = rng.random() < 0.4
        if rng.random() < 0.8:
            member["self_care_failed_items"] = rng.randint(0, 6)
        if rng.random() < 0.06:
            member["excluded"] = rng.choice(layout.EXCLUSIONS)
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
                "monthly": _m(share),
            }
        )
    for m in members:
        if rng.random() < 0.2:
            income.append(
                {
                    "member": m["id"],
                    "type": rng.choice(layout.INCOME_TYPES),
                    "monthly": _m(Decimal(rng.randint(0, 90000)) / 100),
                }
            )
    if rng.random() < 0.08:
        income = None
    deductions = [
        {
            "member": m["id"],
            "type": rng.choice(layout.DEDUCTION_TYPES),
            "monthly": _m(Decimal(rng.randint(0, 40000)) / 100),
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
            "financial": _m(financial),
            "vehicles": [
                {"kind": rng.choice(layout.VEHICLE_KINDS)} for _ in range(rng.choice([0, 0, 1, 2]))
            ],
            "houses": houses,
            "commercial_property": rng.random() < 0.05,
            "business_capital": _m(
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
        rigid = {"medical": _m(spending), "education": "0", "rehabilitation": "0", "other": "0"}
        if rng.random() < 0.1:
            del rigid[rng.choice(list(rigid))]
        household["rigid_expenditure_12m"] = rigid
    if rng.random() < 0.3:
        months = rules.gradual_exit.max_months
        started = add_months(as_of, -rng.choice([months, months - 1, months + 1, 0]))
        started += timedelta(days=rng.choice([0, 0, 1, -1]))
        benefit: dict[str, Any] = {
            "program": rng.choice(["dibao", "dibao", "tekun"]),
            "monthly_amount": _m(Decimal(rng.randint(0, 200000)) / 100),
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
        request["programs"] = rng.sample(layout.PROGRAMS, rng.randint(1, 4))
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
            "cause": rng.choice(layout.EMERGENCY_CAUSES),
            "assessed_need": _m(
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
