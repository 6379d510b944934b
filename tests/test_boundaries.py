"""Each rule at its boundaries: equality, one cent either side, birthdays, month ends, the day a
rule version comes into force. Figures from ../shared/domain/jurisdictions.md; semantics
from rules-reference.md (section numbers cited per test)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from service.engine import Decider, RequestRejected, RuleBase

# --- request builders (the contract JSON, as plain dicts) --------------------------------------

CLEAN_ASSETS: dict[str, Any] = {
    "financial": "0.00",
    "vehicles": [],
    "houses": [],
    "commercial_property": False,
    "business_capital": "0.00",
}
NO_RIGID = {"medical": "0.00", "education": "0.00", "rehabilitation": "0.00", "other": "0.00"}


def person(pid: str = "a", born: str = "1985-05-05", **facts: Any) -> dict[str, Any]:
    """A working-age adult with a capable supporter: never 特困, fully self-caring."""
    return {
        "id": pid,
        "relation": "applicant" if pid == "a" else "other",
        "birth_date": born,
        "has_capable_supporter": True,
        "self_care_failed_items": 0,
        **facts,
    }


def elder(pid: str = "e", born: str = "1950-01-01", **facts: Any) -> dict[str, Any]:
    """A 特困 candidate: aged 60+, no capable supporter."""
    return person(pid, born, has_capable_supporter=False, **facts)


def request(
    jurisdiction: str,
    as_of: str,
    *members: dict[str, Any],
    residence: str | None = "urban",
    income: dict[str, str] | None = None,
    assets: dict[str, Any] | None = None,
    rigid: dict[str, str] | None = None,
    current: dict[str, Any] | None = None,
    emergency: dict[str, Any] | None = None,
    deductions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``income`` maps member id → monthly wage; assets default to none at all."""
    household: dict[str, Any] = {
        "members": list(members) or [person()],
        "income": [{"member": m, "type": "wage", "monthly": v} for m, v in (income or {}).items()],
        "assets": {**CLEAN_ASSETS, **(assets or {})},
        "rigid_expenditure_12m": {**NO_RIGID, **(rigid or {})},
    }
    if current is not None:
        household["current_benefit"] = current
    if deductions is not None:
        household["deductions"] = deductions
    out: dict[str, Any] = {"jurisdiction": jurisdiction, "as_of": as_of, "household": household}
    if residence is not None:
        out["residence"] = residence
    if emergency is not None:
        out["emergency"] = emergency
    return out


def step(response: dict[str, Any], step_id: str, member: str | None = None) -> dict[str, Any]:
    """The one trace entry of ``step_id`` (for ``member`` if given)."""
    found = [
        s
        for s in response["trace"]
        if s["step"] == step_id and (member is None or s["member"] == member)
    ]
    assert len(found) == 1, f"{step_id}/{member}: {len(found)} trace entries"
    return found[0]


def day_before(d: date) -> str:
    return (d - timedelta(days=1)).isoformat()


def tekun_member(response: dict[str, Any], pid: str) -> dict[str, Any]:
    (entry,) = [m for m in response["programs"]["tekun"]["members"] if m["member"] == pid]
    return entry


# --- 低保 income test (§3.2 "低于"; §0.1 per-capita rounded to 0.01 half-up first) -----------


def test_income_exactly_at_standard_fails(engine: Decider) -> None:
    r = engine.evaluate(request("wuhan", "2022-06-01", income={"a": "910.00"}))
    s = step(r, "dibao.income_test")
    assert s["outcome"] == "fail"
    assert s["values"]["per_capita_income"] == "910.00" and s["values"]["standard"] == "910.00"
    assert r["programs"]["dibao"]["status"] == "ineligible"
    assert "dibao.income_test" in r["programs"]["dibao"]["reasons"]


def test_income_one_cent_below_standard_passes(engine: Decider) -> None:
    r = engine.evaluate(request("wuhan", "2022-06-01", income={"a": "909.99"}))
    assert step(r, "dibao.income_test")["outcome"] == "pass"
    d = r["programs"]["dibao"]
    assert (d["status"], d["basis"], d["monthly_amount"]) == ("eligible", "household", "0.01")


def test_per_capita_half_cent_rounds_up_to_the_standard(engine: Decider) -> None:
    # 1819.99 / 2 = 909.995 → 910.00 (half up): equal to the standard, so it fails even
    # though the unrounded figure is below it.
    r = engine.evaluate(
        request("wuhan", "2022-06-01", person("a"), person("b"), income={"a": "1819.99"})
    )
    s = step(r, "dibao.income_test")
    assert s["values"]["per_capita_income"] == "910.00"
    assert s["outcome"] == "fail"


def test_per_capita_rounding_is_half_up_not_half_even(engine: Decider) -> None:
    # 1819.97 / 2 = 909.985 → 909.99 (half even would give 909.98); amount (910 − 909.99) × 2
    r = engine.evaluate(
        request("wuhan", "2022-06-01", person("a"), person("b"), income={"a": "1819.97"})
    )
    d = r["programs"]["dibao"]
    assert d["per_capita_income"] == "909.99"
    assert d["monthly_amount"] == "0.02"


def test_per_capita_three_members_rounds_before_comparison(engine: Decider) -> None:
    # 2729.99 / 3 = 909.99666… → 910.00: fails; 2729.98 / 3 = 909.99333… → 909.99: passes.
    members = (person("a"), person("b"), person("c"))
    high = engine.evaluate(request("wuhan", "2022-06-01", *members, income={"a": "2729.99"}))
    low = engine.evaluate(request("wuhan", "2022-06-01", *members, income={"a": "2729.98"}))
    assert step(high, "dibao.income_test")["values"]["per_capita_income"] == "910.00"
    assert step(high, "dibao.income_test")["outcome"] == "fail"
    assert step(low, "dibao.income_test")["values"]["per_capita_income"] == "909.99"
    assert step(low, "dibao.income_test")["outcome"] == "pass"
    assert low["programs"]["dibao"]["monthly_amount"] == "0.03"  # (910 − 909.99) × 3


# --- 低保边缘 (§5; Zhumadian 豫民〔2022〕4号) -----------------------------------------------------


@pytest.mark.parametrize(
    ("wage", "outcome", "status"),
    [("1365.00", "fail", "ineligible"), ("1364.99", "pass", "eligible")],
)
def test_marginal_national_strictly_below_one_and_a_half(
    engine: Decider, wage: str, outcome: str, status: str
) -> None:
    r = engine.evaluate(request("wuhan", "2022-06-01", income={"a": wage}))
    m = r["programs"]["marginal"]
    assert m["threshold"] == "1365.00"  # 1.5 × 910
    assert step(r, "marginal.income_test")["outcome"] == outcome
    assert m["status"] == status


@pytest.mark.parametrize(
    ("wage", "outcome", "status"),
    [
        ("945.00", "pass", "eligible"),  # exactly 1.5 × 630: 不高于 passes
        ("945.01", "fail", "ineligible"),
        ("630.00", "fail", "ineligible"),  # exactly the standard: must be above it
        ("630.01", "pass", "eligible"),
        ("700.00", "pass", "eligible"),
    ],
)
def test_marginal_zhumadian_from_2022(
    engine: Decider, wage: str, outcome: str, status: str
) -> None:
    r = engine.evaluate(request("zhumadian", "2022-06-01", income={"a": wage}))
    m = r["programs"]["marginal"]
    assert m["threshold"] == "945.00"
    assert r["programs"]["dibao"]["status"] == "ineligible"
    assert step(r, "marginal.income_test")["outcome"] == outcome
    assert m["status"] == status


# --- ages (§7.1, §11) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "outcome", "variant_pass"),
    [("2022-06-01", "pass", True), ("2022-05-31", "fail", False)],
)
def test_tekun_elderly_on_the_sixtieth_birthday(
    engine: Decider, as_of: str, outcome: str, variant_pass: bool
) -> None:
    r = engine.evaluate(request("wuhan", as_of, elder("e", "1962-06-01")))
    s = step(r, "tekun.no_work_capacity", "e")
    assert s["outcome"] == outcome
    assert s["values"]["age"] == ("60" if variant_pass else "59")
    assert tekun_member(r, "e")["status"] == ("eligible" if variant_pass else "ineligible")


def test_tekun_minor_day_before_eighteenth_birthday(engine: Decider) -> None:
    r = engine.evaluate(request("wuhan", "2022-05-31", elder("k", "2004-06-01")))
    s = step(r, "tekun.no_work_capacity", "k")
    assert (s["outcome"], s["values"]["age"]) == ("pass", "17")
    assert tekun_member(r, "k")["status"] == "eligible"


@pytest.mark.parametrize(
    ("schooling", "outcome"),
    [
        ("none", "fail"),
        ("undergraduate", "fail"),
        ("compulsory", "pass"),
        ("high_school", "pass"),
        ("vocational", "pass"),
    ],
)
def test_tekun_minor_on_eighteenth_birthday(engine: Decider, schooling: str, outcome: str) -> None:
    r = engine.evaluate(
        request("wuhan", "2022-06-01", elder("k", "2004-06-01", schooling=schooling))
    )
    s = step(r, "tekun.no_work_capacity", "k")
    assert (s["outcome"], s["values"]["age"]) == (outcome, "18")
    assert tekun_member(r, "k")["status"] == ("eligible" if outcome == "pass" else "ineligible")


@pytest.mark.parametrize(
    ("born", "as_of", "age", "outcome"),
    [
        # born on 29 February: completed years; in a common year the birthday is passed on 1 March
        ("2004-02-29", "2022-02-28", "17", "pass"),
        ("2004-02-29", "2022-03-01", "18", "fail"),
        ("1964-02-29", "2024-02-28", "59", "fail"),
        ("1964-02-29", "2024-02-29", "60", "pass"),
        ("1962-02-28", "2022-02-28", "60", "pass"),
    ],
)
def test_tekun_age_of_a_29_february_birthday(
    engine: Decider, born: str, as_of: str, age: str, outcome: str
) -> None:
    r = engine.evaluate(request("chongqing", as_of, elder("x", born)))
    s = step(r, "tekun.no_work_capacity", "x")
    assert (s["values"]["age"], s["outcome"]) == (age, outcome)


# --- self-care tiers and care amounts (§7 amount, 第二十二条) --------------------------------


@pytest.mark.parametrize(
    ("failed", "tier", "care", "total"),
    [
        (0, "self_care", "100.00", "1075.00"),
        (1, "partial", "300.00", "1275.00"),
        (3, "partial", "300.00", "1275.00"),
        (4, "full", "500.00", "1475.00"),
        (6, "full", "500.00", "1475.00"),
    ],
)
def test_care_tiers_chongqing_2024(
    engine: Decider, failed: int, tier: str, care: str, total: str
) -> None:
    r = engine.evaluate(
        request("chongqing", "2024-10-01", elder(self_care_failed_items=failed), income={})
    )
    e = tekun_member(r, "e")
    assert e["status"] == "eligible"
    assert (e["basic_monthly"], e["care_tier"], e["care_monthly"], e["monthly_amount"]) == (
        "975.00",
        tier,
        care,
        total,
    )
    assert step(r, "tekun.amount", "e")["values"]["care_tier"] == tier


@pytest.mark.parametrize(
    ("as_of", "failed", "tier", "care", "total"),
    [
        ("2022-06-01", 3, "partial", "321.67", "1296.67"),  # 1930 / 6 = 321.666… → 321.67
        ("2022-06-01", 4, "full", "850.00", "1825.00"),  # fixed 850
        ("2022-06-01", 0, "self_care", "193.00", "1168.00"),  # 1930 / 10
        ("2021-06-01", 2, "partial", "283.33", "1258.33"),  # 1700 / 6 = 283.333…
        ("2024-10-01", 1, "partial", "350.00", "1325.00"),  # 2100 / 6
    ],
)
def test_care_amounts_changsha(
    engine: Decider, as_of: str, failed: int, tier: str, care: str, total: str
) -> None:
    r = engine.evaluate(request("changsha", as_of, elder(self_care_failed_items=failed)))
    e = tekun_member(r, "e")
    assert (e["basic_monthly"], e["care_tier"], e["care_monthly"], e["monthly_amount"]) == (
        "975.00",
        tier,
        care,
        total,
    )


@pytest.mark.parametrize(
    ("as_of", "failed", "tier", "care", "total"),
    [
        ("2022-06-01", 4, "full", "600.00", "1419.00"),  # 1800 / 3; basic 1.3 × 630 = 819
        ("2022-06-01", 3, "partial", "300.00", "1119.00"),  # 1800 / 6
        ("2024-06-01", 5, "full", "666.67", "1485.67"),  # 2000 / 3 = 666.666… → 666.67
        ("2022-06-01", 0, "self_care", None, "819.00"),  # self_care amount not found: null
    ],
)
def test_care_amounts_zhumadian(
    engine: Decider, as_of: str, failed: int, tier: str, care: str | None, total: str
) -> None:
    r = engine.evaluate(request("zhumadian", as_of, elder(self_care_failed_items=failed)))
    e = tekun_member(r, "e")
    assert (e["basic_monthly"], e["care_tier"], e["care_monthly"], e["monthly_amount"]) == (
        "819.00",
        tier,
        care,
        total,
    )


@pytest.mark.parametrize(("failed", "tier"), [(0, "self_care"), (3, "partial"), (4, "full")])
def test_care_amount_wuhan_not_published(engine: Decider, failed: int, tier: str) -> None:
    r = engine.evaluate(
        request("wuhan", "2022-06-01", elder(self_care_failed_items=failed), residence="rural")
    )
    e = tekun_member(r, "e")
    assert (e["basic_monthly"], e["care_tier"], e["care_monthly"], e["monthly_amount"]) == (
        "1500.00",
        tier,
        None,
        "1500.00",
    )
    s = step(r, "tekun.amount", "e")
    assert s["values"]["care_tier"] == tier and s["values"]["care_monthly"] is None


# --- gradual exit (§4; §11 calendar months clamped to the month's end) -------------------------


def exit_request(as_of: str, exit_started: str | None) -> dict[str, Any]:
    # Chongqing, standard 750; income 800 (a job): above the standard, below 1.5 ×.
    return request(
        "chongqing",
        as_of,
        person("a", employed=True),
        income={"a": "800.00"},
        current={
            "program": "dibao",
            "monthly_amount": "300.00",
            "since": "2023-01-01",
            "exit_started": exit_started,
            "income_rise_from_employment": True,
        },
    )


def test_gradual_exit_exactly_six_months_is_over(engine: Decider) -> None:
    r = engine.evaluate(exit_request("2025-03-01", "2024-09-01"))
    s = step(r, "dibao.gradual_exit.period")
    assert s["outcome"] == "fail"
    assert s["values"]["months_elapsed"] == "6"
    assert s["values"]["exit_ends"] == "2025-03-01"
    d = r["programs"]["dibao"]
    assert d["status"] == "ineligible"
    assert "dibao.gradual_exit.period" in d["reasons"]
    assert d["monthly_amount"] is None


def test_gradual_exit_five_months_and_some_days_still_runs(engine: Decider) -> None:
    r = engine.evaluate(exit_request("2025-03-01", "2024-09-05"))
    s = step(r, "dibao.gradual_exit.period")
    assert (s["outcome"], s["values"]["months_elapsed"]) == ("pass", "5")
    d = r["programs"]["dibao"]
    assert (d["status"], d["basis"], d["monthly_amount"]) == ("eligible", "gradual_exit", "300.00")
    assert d["exit_ends"] == "2025-03-05"  # start + 6 months


def test_gradual_exit_not_started_starts_on_as_of(engine: Decider) -> None:
    r = engine.evaluate(exit_request("2025-03-10", None))
    s = step(r, "dibao.gradual_exit.period")
    assert (s["outcome"], s["values"]["months_elapsed"]) == ("pass", "0")
    assert r["programs"]["dibao"]["exit_ends"] == "2025-09-10"


@pytest.mark.parametrize(
    ("as_of", "months", "outcome"),
    [("2025-02-27", "5", "pass"), ("2025-02-28", "6", "fail")],
)
def test_gradual_exit_month_end_clamping(
    engine: Decider, as_of: str, months: str, outcome: str
) -> None:
    # started 31 August: six months later is 28 February 2025 (clamped)
    r = engine.evaluate(exit_request(as_of, "2024-08-31"))
    s = step(r, "dibao.gradual_exit.period")
    assert (s["outcome"], s["values"]["months_elapsed"]) == (outcome, months)
    assert s["values"]["exit_ends"] == "2025-02-28"
    if outcome == "pass":
        assert r["programs"]["dibao"]["exit_ends"] == "2025-02-28"
        assert r["programs"]["dibao"]["basis"] == "gradual_exit"
    else:
        assert r["programs"]["dibao"]["status"] == "ineligible"


# --- assets (§2 asset test) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "as_of", "size", "financial", "outcome"),
    [
        ("wuhan", "2022-06-01", 2, "21840.00", "pass"),  # 12 × 910 × 2, 不超过
        ("wuhan", "2022-06-01", 2, "21840.01", "fail"),
        ("chongqing", "2024-10-01", 3, "27000.00", "pass"),  # 12 × 750 × 3
        ("chongqing", "2024-10-01", 3, "27000.01", "fail"),
    ],
)
def test_financial_limit_equality_passes(
    engine: Decider, jurisdiction: str, as_of: str, size: int, financial: str, outcome: str
) -> None:
    members = [person(f"m{i}") for i in range(size)]
    r = engine.evaluate(request(jurisdiction, as_of, *members, assets={"financial": financial}))
    s = step(r, "dibao.asset_test")
    assert s["outcome"] == outcome
    assert s["values"]["financial"] == financial
    expected = {"2": "21840.00", "3": "27000.00"}[str(size)]
    assert s["values"]["financial_limit"] == expected
    assert r["programs"]["dibao"]["status"] == ("eligible" if outcome == "pass" else "ineligible")


@pytest.mark.parametrize(
    ("financial", "outcome"),
    [("45360.00", "fail"), ("45359.99", "pass")],  # 36 × 630 × 2 = 45360, 低于
)
def test_zhumadian_marginal_financial_limit_equality_fails(
    engine: Decider, financial: str, outcome: str
) -> None:
    r = engine.evaluate(
        request(
            "zhumadian",
            "2022-06-01",
            person("a"),
            person("b"),
            income={"a": "1400.00"},  # per capita 700: between 630 and 945
            assets={"financial": financial},
        )
    )
    s = step(r, "marginal.asset_test")
    assert s["values"]["financial_limit"] == "45360.00"
    assert s["outcome"] == outcome
    assert r["programs"]["marginal"]["status"] == (
        "eligible" if outcome == "pass" else "ineligible"
    )


@pytest.mark.parametrize(("capital", "outcome"), [("200000.00", "fail"), ("199999.99", "pass")])
def test_zhumadian_marginal_business_capital(engine: Decider, capital: str, outcome: str) -> None:
    r = engine.evaluate(
        request(
            "zhumadian",
            "2022-06-01",
            income={"a": "700.00"},
            assets={"business_capital": capital},
        )
    )
    s = step(r, "marginal.asset_test")
    assert s["outcome"] == outcome
    assert s["values"]["business_capital_limit"] == "200000.00"
    assert r["programs"]["marginal"]["status"] == (
        "eligible" if outcome == "pass" else "ineligible"
    )


@pytest.mark.parametrize(
    ("kinds", "outcome", "bad"),
    [
        (["car"], "fail", ["car"]),
        (["truck", "motorcycle"], "fail", ["truck"]),
        (["motorcycle"], "pass", []),
        (["disability_vehicle", "motorcycle"], "pass", []),
    ],
)
def test_vehicles(engine: Decider, kinds: list[str], outcome: str, bad: list[str]) -> None:
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            income={"a": "500.00"},
            assets={"vehicles": [{"kind": k} for k in kinds]},
        )
    )
    s = step(r, "dibao.asset_test")
    assert (s["outcome"], s["values"]["disallowed_vehicles"]) == (outcome, bad)


@pytest.mark.parametrize(
    ("houses", "counted", "outcome"),
    [
        ([False, False], "2", "fail"),
        ([False, True], "1", "pass"),  # the dilapidated home is not counted
        ([True, True, False], "1", "pass"),
        ([False], "1", "pass"),
    ],
)
def test_homes_national(engine: Decider, houses: list[bool], counted: str, outcome: str) -> None:
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            income={"a": "500.00"},
            assets={"houses": [{"area_m2": "30", "dilapidated": d} for d in houses]},
        )
    )
    s = step(r, "dibao.asset_test")
    assert (s["outcome"], s["values"]["homes_counted"]) == (outcome, counted)


@pytest.mark.parametrize(
    ("areas", "per_capita", "outcome"),
    [
        (["40", "38"], "39.00", "pass"),  # 78 / 2 = 39: not above 39
        (["40", "38.02"], "39.01", "fail"),
    ],
)
def test_homes_chongqing_area_rule(
    engine: Decider, areas: list[str], per_capita: str, outcome: str
) -> None:
    r = engine.evaluate(
        request(
            "chongqing",
            "2024-10-01",
            person("a"),
            person("b"),
            income={"a": "500.00"},
            assets={"houses": [{"area_m2": a, "dilapidated": False} for a in areas]},
        )
    )
    s = step(r, "dibao.asset_test")
    assert s["values"]["homes_counted"] == "2"
    assert s["values"]["home_area_per_capita_m2"] == per_capita
    assert s["outcome"] == outcome


# --- standards (§2 Standard) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("residence", "standard", "amount"),
    [("urban", "910.00", "210.00"), ("rural", "780.00", "80.00")],
)
def test_wuhan_urban_and_rural_standards(
    engine: Decider, residence: str, standard: str, amount: str
) -> None:
    r = engine.evaluate(request("wuhan", "2022-06-01", residence=residence, income={"a": "700.00"}))
    d = r["programs"]["dibao"]
    assert d["standard"] == standard
    assert d["monthly_amount"] == amount  # (standard − 700) × 1


@pytest.mark.parametrize("residence", ["urban", "rural"])
def test_changsha_unified_standard(engine: Decider, residence: str) -> None:
    r = engine.evaluate(
        request("changsha", "2022-06-01", residence=residence, income={"a": "700.00"})
    )
    d = r["programs"]["dibao"]
    assert (d["standard"], d["monthly_amount"]) == ("750.00", "50.00")


@pytest.mark.parametrize(
    ("wage", "outcome", "amount"), [("355.00", "fail", None), ("354.99", "pass", "0.01")]
)
def test_zhumadian_annual_rural_standard_2020(
    engine: Decider, wage: str, outcome: str, amount: str | None
) -> None:
    # 4260 a year / 12 = 355.00 a month
    r = engine.evaluate(request("zhumadian", "2020-06-01", residence="rural", income={"a": wage}))
    d = r["programs"]["dibao"]
    assert d["standard"] == "355.00"
    assert step(r, "dibao.income_test")["outcome"] == outcome
    assert d["monthly_amount"] == amount


# --- dated versions (§0.5, §11) ---------------------------------------------------------------

JURISDICTIONS = [
    "wuhan",
    "changsha",
    "zhumadian",
    "chongqing",
    "chongqing/banan",
    "chongqing/yubei",
]

# the dates of jurisdictions.md, each of which must be a switch date
DOCUMENTED_SWITCHES = {
    "wuhan": ["2020-04-01", "2021-04-01", "2022-04-01", "2023-04-01", "2024-01-01"],
    "changsha": ["2021-01-01", "2022-04-01", "2024-09-01"],
    "zhumadian": ["2020-01-01", "2021-09-01", "2022-01-01", "2023-01-01", "2024-01-01"],
    "chongqing": [
        "2020-01-01",
        "2021-09-01",
        "2022-09-01",
        "2023-09-01",
        "2024-01-01",
        "2024-09-01",
        "2025-04-14",
        "2025-07-01",
    ],
    "chongqing/banan": ["2020-01-01", "2021-01-01", "2021-09-01", "2025-04-14", "2025-07-01"],
    "chongqing/yubei": ["2020-01-01", "2021-09-01", "2024-09-01", "2025-07-01"],
}
NATIONAL_SWITCHES = ["2021-01-01", "2025-01-01", "2026-01-01"]


def test_jurisdictions_are_the_documented_ones(rule_base: RuleBase) -> None:
    assert sorted(rule_base.known()) == sorted(JURISDICTIONS)


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_documented_dates_are_switch_dates(rule_base: RuleBase, jurisdiction: str) -> None:
    switches = {d.isoformat() for d in rule_base.switch_dates(jurisdiction)}
    assert set(DOCUMENTED_SWITCHES[jurisdiction]) <= switches
    first = rule_base.first_date(jurisdiction)
    assert set(NATIONAL_SWITCHES) <= {d for d in switches if d >= first.isoformat()}


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_every_switch_changes_the_bundle(
    engine: Decider, rule_base: RuleBase, jurisdiction: str
) -> None:
    dates = rule_base.switch_dates(jurisdiction)
    assert dates[0] == rule_base.first_date(jurisdiction)
    for switch in dates[1:]:
        before = rule_base.resolve(jurisdiction, switch - timedelta(days=1))
        on = rule_base.resolve(jurisdiction, switch)
        assert before.sha256 != on.sha256, (jurisdiction, switch)
        assert before.version < on.version == switch, (jurisdiction, switch)
        r_before = engine.evaluate(request(jurisdiction, day_before(switch)))
        r_on = engine.evaluate(request(jurisdiction, switch.isoformat()))
        assert r_on["ruleset"]["version"] == switch.isoformat()
        assert r_before["ruleset"]["version"] == before.version.isoformat()
        assert r_before["ruleset"]["sha256"] == before.sha256
        assert r_on["ruleset"]["sha256"] == on.sha256
        assert r_before["ruleset"]["sha256"] != r_on["ruleset"]["sha256"]


_CQ = [
    ("2021-09-01", ("620.00", "496.00"), ("636.00", "515.00")),
    ("2022-09-01", ("636.00", "515.00"), ("717.00", "581.00")),
    ("2023-09-01", ("717.00", "581.00"), ("735.00", "600.00")),
    ("2024-09-01", ("735.00", "600.00"), ("750.00", "610.00")),
    ("2025-07-01", ("750.00", "610.00"), ("770.00", "630.00")),
]
STANDARD_SWITCHES = [
    ("wuhan", "2021-04-01", ("830.00", "680.00"), ("870.00", "730.00")),
    ("wuhan", "2022-04-01", ("870.00", "730.00"), ("910.00", "780.00")),
    ("wuhan", "2023-04-01", ("910.00", "780.00"), ("940.00", "820.00")),
    ("changsha", "2022-04-01", ("750.00", "750.00"), ("750.00", "750.00")),
    ("changsha", "2024-09-01", ("750.00", "750.00"), ("750.00", "750.00")),
    ("zhumadian", "2021-09-01", ("570.00", "355.00"), ("590.00", "377.00")),
    ("zhumadian", "2022-01-01", ("590.00", "377.00"), ("630.00", "420.00")),
    ("zhumadian", "2023-01-01", ("630.00", "420.00"), ("630.00", "440.00")),
    ("zhumadian", "2024-01-01", ("630.00", "440.00"), ("630.00", "440.00")),
    *[(j, d, old, new) for j in JURISDICTIONS[3:] for d, old, new in _CQ],
]


@pytest.mark.parametrize(
    ("jurisdiction", "switch", "old", "new"),
    STANDARD_SWITCHES,
    ids=[f"{j}-{d}" for j, d, _, _ in STANDARD_SWITCHES],
)
def test_standard_changes_on_the_switch_date(
    engine: Decider,
    jurisdiction: str,
    switch: str,
    old: tuple[str, str],
    new: tuple[str, str],
) -> None:
    before = day_before(date.fromisoformat(switch))
    for index, residence in enumerate(("urban", "rural")):
        r_before = engine.evaluate(request(jurisdiction, before, residence=residence))
        r_on = engine.evaluate(request(jurisdiction, switch, residence=residence))
        assert r_before["programs"]["dibao"]["standard"] == old[index], (residence, before)
        assert r_on["programs"]["dibao"]["standard"] == new[index], (residence, switch)
        assert r_on["ruleset"]["version"] == switch


def rigid_request(jurisdiction: str, as_of: str, spending: str) -> dict[str, Any]:
    # income 1500 a month (above 1.5 × every standard in force, below every disposable income
    # line): neither 低保 nor 低保边缘; income over 12 months 18000
    return request(jurisdiction, as_of, income={"a": "1500.00"}, rigid={"medical": spending})


@pytest.mark.parametrize(
    ("jurisdiction", "as_of", "outcome", "status"),
    [
        ("chongqing", "2025-04-14", "pass", "eligible"),  # 渝民规〔2025〕1号: ≥ 0.70
        ("chongqing", "2025-04-13", "fail", "ineligible"),  # national: strictly above 0.70
        ("chongqing/banan", "2025-04-14", "pass", "eligible"),
        ("chongqing/yubei", "2025-04-13", "fail", "ineligible"),
        ("chongqing/yubei", "2025-04-14", "pass", "eligible"),
    ],
)
def test_chongqing_rigid_share_exactly_seventy_percent(
    engine: Decider, jurisdiction: str, as_of: str, outcome: str, status: str
) -> None:
    r = engine.evaluate(rigid_request(jurisdiction, as_of, "12600.00"))  # 0.70 × 18000
    s = step(r, "rigid_expenditure.share_test")
    assert s["values"]["income_12m"] == "18000.00"
    assert s["values"]["share"] == "0.7000"
    assert s["outcome"] == outcome
    assert r["programs"]["rigid_expenditure"]["status"] == status


def test_chongqing_rigid_share_just_above_seventy_percent_passes_before_04_14(
    engine: Decider,
) -> None:
    r = engine.evaluate(rigid_request("chongqing", "2025-04-13", "12600.01"))
    assert step(r, "rigid_expenditure.share_test")["outcome"] == "pass"
    assert r["programs"]["rigid_expenditure"]["status"] == "eligible"


@pytest.mark.parametrize("jurisdiction", ["changsha", "zhumadian", *JURISDICTIONS[3:]])
def test_rigid_expenditure_in_force_from_2025(engine: Decider, jurisdiction: str) -> None:
    before = engine.evaluate(rigid_request(jurisdiction, "2024-12-31", "20000.00"))
    assert before["programs"]["rigid_expenditure"]["status"] == "not_applicable"
    assert step(before, "rigid_expenditure.in_force")["outcome"] == "not_applicable"
    on = engine.evaluate(rigid_request(jurisdiction, "2025-01-01", "20000.00"))
    x = on["programs"]["rigid_expenditure"]
    assert (x["status"], x["valid_until"]) == ("eligible", "2026-01-01")
    assert not [s for s in on["trace"] if s["step"] == "rigid_expenditure.in_force"]
    assert on["ruleset"]["version"] == "2025-01-01"


def test_wuhan_rigid_predecessor_from_first_version(engine: Decider) -> None:
    r = engine.evaluate(rigid_request("wuhan", "2020-04-01", "20000.00"))
    x = r["programs"]["rigid_expenditure"]
    assert (x["status"], x["valid_until"]) == ("eligible", "2021-04-01")
    assert x["share"] == "1.1111"  # 20000 / 18000
    assert r["programs"]["marginal"]["threshold"] == "1245.00"  # 1.5 × 830


# --- refused requests (§11, contract errors) --------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "first"),
    [
        ("wuhan", "2020-04-01"),
        ("changsha", "2021-01-01"),
        ("zhumadian", "2020-01-01"),
        ("chongqing", "2020-01-01"),
        ("chongqing/banan", "2020-01-01"),
        ("chongqing/yubei", "2020-01-01"),
    ],
)
def test_date_before_first_version_is_refused(
    engine: Decider, jurisdiction: str, first: str
) -> None:
    with pytest.raises(RequestRejected) as refused:
        engine.evaluate(request(jurisdiction, day_before(date.fromisoformat(first))))
    assert [p["path"] for p in refused.value.problems] == ["as_of"]
    assert first in refused.value.problems[0]["reason_en"]
    assert engine.evaluate(request(jurisdiction, first))["ruleset"]["version"] == first


@pytest.mark.parametrize("jurisdiction", ["shanghai", "national", "chongqing/jiangbei"])
def test_unknown_jurisdiction_is_refused(engine: Decider, jurisdiction: str) -> None:
    with pytest.raises(RequestRejected) as refused:
        engine.evaluate(request(jurisdiction, "2022-06-01"))
    assert [p["path"] for p in refused.value.problems] == ["jurisdiction"]


# --- 临时救助 (§8) ------------------------------------------------------------------------------


def urgent(need: str, cause: str = "fire") -> dict[str, Any]:
    return {
        "kind": "urgent",
        "cause": cause,
        "occurred_on": "2022-05-20",
        "assessed_need": need,
        "already_assisted": False,
    }


def expenditure(cause: str = "medical") -> dict[str, Any]:
    return {
        "kind": "expenditure",
        "cause": cause,
        "occurred_on": "2022-05-20",
        "already_assisted": False,
    }


@pytest.mark.parametrize(
    ("need", "amount", "case_by_case"),
    [
        ("5460.00", "5460.00", False),  # cap 3 × 910 × 2
        ("5460.01", "5460.00", True),
        ("800.00", "800.00", False),
    ],
)
def test_urgent_cap(engine: Decider, need: str, amount: str, case_by_case: bool) -> None:
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            person("a"),
            person("b"),
            income={"a": "3000.00"},
            emergency=urgent(need),
        )
    )
    t = r["programs"]["temporary"]
    assert (t["status"], t["kind"]) == ("eligible", "urgent")
    assert (t["amount"], t["case_by_case"], t["advance_cap"]) == (amount, case_by_case, "1000.00")
    assert step(r, "temporary.urgent.amount")["values"]["urgent_cap"] == "5460.00"


def test_urgent_cause_medical_is_not_urgent(engine: Decider) -> None:
    r = engine.evaluate(
        request("wuhan", "2022-06-01", income={"a": "3000.00"}, emergency=urgent("800", "medical"))
    )
    t = r["programs"]["temporary"]
    assert t["status"] == "ineligible"
    assert t["reasons"] == ["temporary.urgent.cause"]
    assert t["amount"] is None
    assert step(r, "temporary.urgent.cause")["outcome"] == "fail"


def test_urgent_repeat_event_is_refused(engine: Decider) -> None:
    em = {**urgent("800.00"), "already_assisted": True}
    r = engine.evaluate(request("wuhan", "2022-06-01", income={"a": "3000.00"}, emergency=em))
    t = r["programs"]["temporary"]
    assert (t["status"], t["reasons"]) == ("ineligible", ["temporary.repeat_event"])


@pytest.mark.parametrize(
    ("spending", "status", "multiple", "amount"),
    [
        ("4999.99", "ineligible", None, None),
        ("5000.00", "eligible", "2", "1820.00"),  # 2 × 910
        ("9999.99", "eligible", "2", "1820.00"),
        ("10000.00", "eligible", "4", "3640.00"),
        ("29999.99", "eligible", "4", "3640.00"),
        ("30000.00", "eligible", "6", "5460.00"),  # 6 × 910 = the cap
    ],
)
def test_expenditure_tiers(
    engine: Decider, spending: str, status: str, multiple: str | None, amount: str | None
) -> None:
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            income={"a": "3000.00"},  # below 61693 / 12 = 5141.08
            rigid={"medical": spending},
            emergency=expenditure(),
        )
    )
    t = r["programs"]["temporary"]
    assert (t["status"], t["kind"], t["amount"]) == (status, "expenditure", amount)
    s = step(r, "temporary.expenditure.tier")
    assert s["outcome"] == ("pass" if status == "eligible" else "fail")
    assert s["values"].get("multiple") == multiple
    assert t["cap"] == "5460.00"
    if status == "ineligible":
        assert t["reasons"] == ["temporary.expenditure.tier"]


def test_expenditure_income_test_at_disposable_income(engine: Decider) -> None:
    # 61693 / 12 = 5141.0833… → 5141.08; income equal to it fails (低于)
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            income={"a": "5141.08"},
            rigid={"medical": "30000.00"},
            emergency=expenditure(),
        )
    )
    s = step(r, "temporary.expenditure.income_test")
    assert s["values"]["disposable_income_monthly"] == "5141.08"
    assert s["outcome"] == "fail"
    assert r["programs"]["temporary"]["status"] == "ineligible"


@pytest.mark.parametrize(
    ("residence", "current", "spending", "group", "amount", "cap"),
    [
        ("urban", True, "5000.00", "true", "2250.00", "6750.00"),  # 3 × 750, cap 9 × 750
        ("urban", True, "10000.00", "true", "4500.00", "6750.00"),  # 6 ×
        ("urban", True, "30000.00", "true", "6750.00", "6750.00"),  # 9 ×
        ("urban", False, "5000.00", "false", "1500.00", "4500.00"),  # 2 ×, cap 6 ×
        ("urban", False, "30000.00", "false", "4500.00", "4500.00"),  # 6 ×
        ("rural", True, "30000.00", "false", "4500.00", "4500.00"),  # group is urban only
    ],
)
def test_changsha_special_group_cap(
    engine: Decider,
    residence: str,
    current: bool,
    spending: str,
    group: str,
    amount: str,
    cap: str,
) -> None:
    benefit = {
        "program": "dibao",
        "monthly_amount": "200.00",
        "since": "2021-03-01",
        "exit_started": None,
        "income_rise_from_employment": False,
    }
    r = engine.evaluate(
        request(
            "changsha",
            "2022-06-01",
            residence=residence,
            income={"a": "1500.00"},  # above 1.5 × 750: no 低保, no 低保边缘 in this decision
            rigid={"medical": spending},
            current=benefit if current else None,
            emergency=expenditure(),
        )
    )
    assert r["programs"]["dibao"]["status"] == "ineligible"
    assert r["programs"]["marginal"]["status"] == "ineligible"
    t = r["programs"]["temporary"]
    assert (t["status"], t["amount"], t["cap"]) == ("eligible", amount, cap)
    assert step(r, "temporary.expenditure.tier")["values"]["special_group"] == group


@pytest.mark.parametrize(
    ("wage", "current_program", "group"),
    [
        ("1000.00", None, "true"),  # 低保边缘 in this decision (750 < 1000 < 1125)
        ("1500.00", "tekun", "true"),  # receiving 特困 now
        ("1500.00", None, "false"),
    ],
)
def test_changsha_special_group_membership(
    engine: Decider, wage: str, current_program: str | None, group: str
) -> None:
    current = None
    if current_program is not None:
        current = {"program": current_program, "monthly_amount": "975.00", "since": "2021-03-01"}
    r = engine.evaluate(
        request(
            "changsha",
            "2022-06-01",
            income={"a": wage},
            rigid={"medical": "30000.00"},
            current=current,
            emergency=expenditure(),
        )
    )
    t = r["programs"]["temporary"]
    assert step(r, "temporary.expenditure.tier")["values"]["special_group"] == group
    assert t["amount"] == ("6750.00" if group == "true" else "4500.00")


def test_urgent_cap_counts_only_counted_members(engine: Decider) -> None:
    # a member in prison does not count (第七条): cap 3 × 910 × 2, not × 3
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            person("a"),
            person("b"),
            person("c", excluded="prison"),
            income={"a": "3000.00"},
            emergency=urgent("9000.00"),
        )
    )
    t = r["programs"]["temporary"]
    assert (t["cap"], t["amount"], t["case_by_case"]) == ("5460.00", "5460.00", True)


def test_changsha_urgent_cap_is_fixed(engine: Decider) -> None:
    r = engine.evaluate(
        request("changsha", "2022-06-01", income={"a": "3000.00"}, emergency=urgent("100000.00"))
    )
    t = r["programs"]["temporary"]
    assert (t["amount"], t["case_by_case"], t["cap"]) == ("100000.00", False, "100000.00")


# --- 分类施保 boundaries (jurisdictions.md: Wuhan 20 %, Chongqing 60/100 + 40) -------------------


def supplement_of(response: dict[str, Any], pid: str) -> str | None:
    found = [
        s["values"]["supplement"]
        for s in response["trace"]
        if s["step"] == "dibao.classified_supplement" and s["member"] == pid
    ]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("born", "facts", "supplement"),
    [
        ("1957-06-01", {}, "182.00"),  # 65 on as_of: aged ≥ 65
        ("1957-06-02", {}, None),  # 64
        ("2004-06-02", {}, "182.00"),  # 17: a minor
        ("2004-06-01", {}, None),  # 18, not studying
        ("2004-06-01", {"schooling": "high_school"}, "182.00"),  # full-time student
        ("2004-06-01", {"schooling": "compulsory"}, "182.00"),  # 18, still in compulsory school
        ("1980-01-01", {"disability": {"category": "mental", "grade": 3}}, "182.00"),
        ("1980-01-01", {"disability": {"category": "physical", "grade": 3}}, None),
        ("1980-01-01", {"serious_illness": True}, "182.00"),
    ],
)
def test_wuhan_supplement_categories(
    engine: Decider, born: str, facts: dict[str, Any], supplement: str | None
) -> None:
    # 2022-06-01 urban 910: 20 % = 182.00; a alone, no income → 910 + supplement
    r = engine.evaluate(request("wuhan", "2022-06-01", person("a", born, **facts), income={}))
    assert supplement_of(r, "a") == supplement
    expected = Decimal("910.00") + Decimal(supplement or "0")
    assert r["programs"]["dibao"]["monthly_amount"] == f"{expected:.2f}"


@pytest.mark.parametrize(
    ("born", "facts", "supplement"),
    [
        ("1954-10-01", {}, "60.00"),  # 70 on as_of
        ("1954-10-02", {}, None),  # 69
        ("2018-10-02", {}, "100.00"),  # 5, preschool
        ("2018-10-01", {}, None),  # 6 today, not at school
        ("2018-10-01", {"schooling": "compulsory"}, "100.00"),  # a pupil
        ("1980-01-01", {"disability": {"category": "physical", "grade": 2}}, "100.00"),  # 60 + 40
        ("1980-01-01", {"disability": {"category": "hearing", "grade": 4}}, "40.00"),  # 40 only
        # grade 3 intellectual is not "disability grade 1–2": 40 only
        ("1980-01-01", {"disability": {"category": "intellectual", "grade": 3}}, "40.00"),
        ("1980-01-01", {"serious_illness": True}, "60.00"),
        (
            "2010-01-01",
            {"schooling": "compulsory", "disability": {"category": "visual", "grade": 1}},
            "140.00",  # highest of 60 and 100, plus 40
        ),
    ],
)
def test_chongqing_supplement_categories(
    engine: Decider, born: str, facts: dict[str, Any], supplement: str | None
) -> None:
    r = engine.evaluate(request("chongqing", "2024-10-01", person("a", born, **facts), income={}))
    assert supplement_of(r, "a") == supplement
    expected = Decimal("750.00") + Decimal(supplement or "0")
    assert r["programs"]["dibao"]["monthly_amount"] == f"{expected:.2f}"


# --- income details (§2 countable income) ------------------------------------------------------


def test_deductions_never_below_zero_per_member(engine: Decider) -> None:
    # a: 100 − 300 → 0 (not −200); b: 1000. Per capita 1000 / 2 = 500.00 → (910 − 500) × 2
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            person("a"),
            person("b"),
            income={"a": "100.00", "b": "1000.00"},
            deductions=[{"member": "a", "type": "disability_rigid", "monthly": "300.00"}],
        )
    )
    d = r["programs"]["dibao"]
    assert (d["per_capita_income"], d["monthly_amount"]) == ("500.00", "820.00")


def test_declared_employment_cost_is_deducted_outside_zhumadian(engine: Decider) -> None:
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            person("a", employed=True),
            income={"a": "1000.00"},
            deductions=[{"member": "a", "type": "employment_cost", "monthly": "200.00"}],
        )
    )
    d = r["programs"]["dibao"]
    assert (d["per_capita_income"], d["monthly_amount"]) == ("800.00", "110.00")


# --- Zhumadian 低保边缘 homes (3 or more fail; 2 fail above 40 m² per capita) --------------------


@pytest.mark.parametrize(
    ("areas", "outcome"),
    [
        (["50", "30"], "pass"),  # 80 / 2 = 40.00: not above 40
        (["50", "30.02"], "fail"),  # 40.01
        (["20", "20", "20"], "fail"),  # 3 homes
    ],
)
def test_zhumadian_marginal_homes(engine: Decider, areas: list[str], outcome: str) -> None:
    r = engine.evaluate(
        request(
            "zhumadian",
            "2022-06-01",
            person("a"),
            person("b"),
            income={"a": "1400.00"},
            assets={"houses": [{"area_m2": a, "dilapidated": False} for a in areas]},
        )
    )
    assert step(r, "dibao.asset_test")["outcome"] == "fail"  # 2+ homes fail for 低保
    assert step(r, "marginal.asset_test")["outcome"] == outcome


def test_rigid_expenditure_without_income_passes_the_share(engine: Decider) -> None:
    # Zhumadian 2025: no income; deposits 20000 fail 低保 (12 × 630 = 7560) but pass the
    # 低保边缘 rules (36 × 630 = 22680); not 低保边缘 (income not above the standard).
    # 刚性支出: income 0 < 2697.00, marginal assets pass, no income + spending → eligible.
    r = engine.evaluate(
        request(
            "zhumadian",
            "2025-03-01",
            income={},
            assets={"financial": "20000.00"},
            rigid={"medical": "5000.00"},
        )
    )
    assert r["programs"]["dibao"]["status"] == "ineligible"
    assert r["programs"]["marginal"]["status"] == "ineligible"
    assert step(r, "rigid_expenditure.share_test")["outcome"] == "pass"
    x = r["programs"]["rigid_expenditure"]
    assert (x["status"], x["valid_until"]) == ("eligible", "2026-03-01")


def test_expenditure_income_test_after_tekun_members_leave(engine: Decider) -> None:
    # e is 特困 and leaves; a alone: 6000 ≥ 5141.08 fails (with e counted it would be 3000)
    r = engine.evaluate(
        request(
            "wuhan",
            "2022-06-01",
            elder("e"),
            person("a"),
            income={"a": "6000.00"},
            rigid={"medical": "30000.00"},
            emergency=expenditure(),
        )
    )
    assert r["programs"]["tekun"]["status"] == "eligible"
    s = step(r, "temporary.expenditure.income_test")
    assert (s["values"]["per_capita_income"], s["outcome"]) == ("6000.00", "fail")
    assert r["programs"]["temporary"]["status"] == "ineligible"


def test_gradual_exit_needs_the_rise_to_come_from_a_job(engine: Decider) -> None:
    req = exit_request("2025-03-01", "2025-01-01")
    req["household"]["current_benefit"]["income_rise_from_employment"] = False
    r = engine.evaluate(req)
    assert step(r, "dibao.gradual_exit.eligible")["outcome"] == "fail"
    d = r["programs"]["dibao"]
    assert (d["status"], d["reasons"]) == (
        "ineligible",
        ["dibao.income_test", "dibao.gradual_exit.eligible"],
    )
