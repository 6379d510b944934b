"""The figures the five seed documents publish come out of the engine unchanged.

Each figure is asserted on an evaluated 特困-eligible household: one person aged 60+, no capable
supporter, no income, no assets (jurisdictions.md gives the seed file of each figure)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from service.engine import Decider


def tekun_household(jurisdiction: str, as_of: str, residence: str) -> dict[str, Any]:
    return {
        "jurisdiction": jurisdiction,
        "as_of": as_of,
        "residence": residence,
        "household": {
            "members": [
                {
                    "id": "p1",
                    "relation": "applicant",
                    "birth_date": "1948-03-03",
                    "has_capable_supporter": False,
                    "self_care_failed_items": 0,
                }
            ],
            "income": [],
            "assets": {
                "financial": "0.00",
                "vehicles": [],
                "houses": [],
                "commercial_property": False,
                "business_capital": "0.00",
            },
        },
    }


def tekun_p1(engine: Decider, jurisdiction: str, as_of: str, residence: str) -> dict[str, Any]:
    response = engine.evaluate(tekun_household(jurisdiction, as_of, residence))
    tekun = response["programs"]["tekun"]
    assert tekun["status"] == "eligible"
    (p1,) = tekun["members"]
    assert p1["status"] == "eligible"
    # 特困 members leave the 低保 household: nobody is left
    assert response["programs"]["dibao"]["status"] == "not_applicable"
    return p1


@pytest.mark.parametrize("residence", ["urban", "rural"])
@pytest.mark.parametrize("as_of", ["2021-01-01", "2022-06-01", "2024-10-01"])
def test_changsha_tekun_975(engine: Decider, as_of: str, residence: str) -> None:
    # seed 002: "基本生活标准按1.3倍低保标准执行" → 1.3 × 750 = 975
    p1 = tekun_p1(engine, "changsha", as_of, residence)
    assert p1["basic_monthly"] == "975.00"
    assert Decimal(p1["basic_monthly"]) == Decimal("1.3") * Decimal("750")


@pytest.mark.parametrize(
    ("residence", "monthly", "yearly"),
    [
        ("urban", "741.00", "8892.00"),  # 1.3 × 570 = 741; × 12 = 8892
        ("rural", "461.50", "5538.00"),  # 4260 / 12 = 355; 1.3 × 355 = 461.50; × 12 = 5538
    ],
)
def test_zhumadian_2020_tekun_per_year(
    engine: Decider, residence: str, monthly: str, yearly: str
) -> None:
    # seed 001: 城市 8892 元/年, 农村 5538 元/年 (不低于当地低保标准的1.3倍)
    p1 = tekun_p1(engine, "zhumadian", "2020-06-01", residence)
    assert p1["basic_monthly"] == monthly
    assert str(Decimal(p1["basic_monthly"]) * 12) == yearly


def test_zhumadian_2020_rural_standard_is_the_annual_figure(engine: Decider) -> None:
    response = engine.evaluate(tekun_household("zhumadian", "2020-06-01", "rural"))
    no_means = [s for s in response["trace"] if s["step"] == "tekun.no_means"]
    assert no_means[0]["values"]["standard"] == "355.00"  # 4260 / 12


@pytest.mark.parametrize("residence", ["urban", "rural"])
@pytest.mark.parametrize("jurisdiction", ["chongqing", "chongqing/banan", "chongqing/yubei"])
def test_chongqing_2020_tekun_806(engine: Decider, jurisdiction: str, residence: str) -> None:
    # seed 000: 低保 620 / 496, 特困 806 — one figure for urban and rural residents, and the
    # published figure is at least 1.3 × the urban standard (1.3 × 620 = 806.00)
    p1 = tekun_p1(engine, jurisdiction, "2020-06-01", residence)
    assert p1["basic_monthly"] == "806.00"
    assert Decimal(p1["basic_monthly"]) >= Decimal("1.3") * Decimal("620")
    # self-care tier, care 50 (city-parameters.md)
    assert (p1["care_tier"], p1["care_monthly"], p1["monthly_amount"]) == (
        "self_care",
        "50.00",
        "856.00",
    )


@pytest.mark.parametrize(("residence", "figure"), [("urban", "1660.00"), ("rural", "1280.00")])
def test_wuhan_2020_tekun_published(engine: Decider, residence: str, figure: str) -> None:
    # seed 004: 特困 1660 urban / 1280 rural from 2020-04-01; no care amount published
    p1 = tekun_p1(engine, "wuhan", "2020-04-01", residence)
    assert p1["basic_monthly"] == figure
    assert (p1["care_tier"], p1["care_monthly"], p1["monthly_amount"]) == (
        "self_care",
        None,
        figure,
    )


@pytest.mark.parametrize(
    ("residence", "standard", "amount"),
    [
        ("urban", "830.00", "996.00"),  # 830 − 0 + 20 % × 830 (aged 72 ≥ 65)
        ("rural", "680.00", "816.00"),  # 680 − 0 + 20 % × 680
    ],
)
def test_wuhan_2020_standards(engine: Decider, residence: str, standard: str, amount: str) -> None:
    household = tekun_household("wuhan", "2020-04-01", residence)
    household["household"]["members"][0]["has_capable_supporter"] = True  # not 特困: 低保
    response = engine.evaluate(household)
    dibao = response["programs"]["dibao"]
    assert (dibao["status"], dibao["standard"], dibao["monthly_amount"]) == (
        "eligible",
        standard,
        amount,
    )
