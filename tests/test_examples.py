"""Every contract example is accepted as it is and gives the result its file name states
(figures from the contract's examples README, worked out from the rules reference)."""

from __future__ import annotations

import pytest

from service.contract.response import EvaluationResponse
from service.engine import Decider
from tests.helpers import EXAMPLES, load_example, steps

ALL = sorted(p.name for p in EXAMPLES.glob("*.json"))


def test_every_example_is_covered() -> None:
    assert len(ALL) == 8


@pytest.mark.parametrize("name", ALL)
def test_example_is_accepted_and_fits_the_response_contract(engine: Decider, name: str) -> None:
    response = engine.evaluate(load_example(name))
    EvaluationResponse.model_validate(response)
    city, program, *outcome = name.removesuffix(".json").split("-")
    assert response["jurisdiction"].split("/")[0] == city
    assert len(response["ruleset"]["sha256"]) == 64
    # every step of the trace is bilingual and cited
    for step in response["trace"]:
        assert step["message_zh"] and step["message_en"] and step["citation"]["title"]
        assert "None" not in step["message_zh"] and "None" not in step["message_en"]


def test_wuhan_household_eligible(engine: Decider) -> None:
    r = engine.evaluate(load_example("wuhan-dibao-household-eligible.json"))
    d = r["programs"]["dibao"]
    assert (d["status"], d["basis"]) == ("eligible", "household")
    assert d["per_capita_income"] == "700.00"
    assert d["standard"] == "910.00"
    assert d["monthly_amount"] == "994.00"  # (910 - 700) × 3 + 2 × 20 % × 910
    assert d["members"] == ["m1", "m2", "m3"]
    assert d["payment_starts"] == "2022-09-01"
    assert d["next_review"] == "2023-02-01"  # m1 is able to work: 6 months
    supplemented = {
        s["member"]: s["values"]["supplement"] for s in steps(r, "dibao.classified_supplement")
    }
    assert supplemented == {"m2": "182.00", "m3": "182.00"}
    tekun = {m["member"]: m["status"] for m in r["programs"]["tekun"]["members"]}
    assert tekun == {"m1": "ineligible", "m2": "ineligible", "m3": "insufficient_data"}
    assert {"field": "household.members[2].has_capable_supporter", "program": "tekun"} in r[
        "missing"
    ]


def test_changsha_tekun_eligible(engine: Decider) -> None:
    r = engine.evaluate(load_example("changsha-tekun-eligible.json"))
    (p1,) = r["programs"]["tekun"]["members"]
    assert p1["status"] == "eligible"
    assert (p1["basic_monthly"], p1["care_tier"], p1["care_monthly"]) == (
        "975.00",
        "full",
        "850.00",
    )
    assert p1["monthly_amount"] == "1825.00"
    # the basic pension (128) is excluded: own income is the property income alone
    assert steps(r, "tekun.no_means", "p1")[0]["values"]["own_income"] == "60.00"
    assert r["programs"]["dibao"]["status"] == "not_applicable"


def test_zhumadian_single_person(engine: Decider) -> None:
    r = engine.evaluate(load_example("zhumadian-single-person-eligible.json"))
    d = r["programs"]["dibao"]
    assert (d["status"], d["basis"]) == ("eligible", "single_person")
    assert d["single_person"] == [{"member": "s", "monthly_amount": "630.00"}]
    assert d["monthly_amount"] == "630.00"
    assert d["members"] == ["s"]
    m = r["programs"]["marginal"]
    assert m["status"] == "eligible" and m["threshold"] == "945.00"
    assert d["per_capita_income"] == "750.00"


def test_chongqing_gradual_exit(engine: Decider) -> None:
    r = engine.evaluate(load_example("chongqing-gradual-exit-eligible.json"))
    d = r["programs"]["dibao"]
    assert (d["status"], d["basis"], d["monthly_amount"]) == ("eligible", "gradual_exit", "520.00")
    assert d["exit_ends"] == "2025-03-01"
    assert d["per_capita_income"] == "900.00" and d["standard"] == "750.00"
    assert steps(r, "dibao.gradual_exit.period")[0]["values"]["months_elapsed"] == "2"


def test_changsha_urgent_case_by_case(engine: Decider) -> None:
    r = engine.evaluate(load_example("changsha-temporary-urgent-case-by-case.json"))
    t = r["programs"]["temporary"]
    assert t["status"] == "eligible" and t["kind"] == "urgent"
    assert (t["amount"], t["case_by_case"], t["advance_cap"]) == ("100000.00", True, "1000.00")
    assert r["programs"]["dibao"]["status"] == "ineligible"


def test_wuhan_insufficient_data(engine: Decider) -> None:
    r = engine.evaluate(load_example("wuhan-dibao-insufficient-data.json"))
    d = r["programs"]["dibao"]
    assert d["status"] == "insufficient_data"
    assert d["standard"] == "730.00" and d["per_capita_income"] == "400.00"
    assert d["reasons"] == ["dibao.asset_test"]
    assert {"field": "household.assets", "program": "dibao"} in r["missing"]
    assert steps(r, "dibao.income_test")[0]["outcome"] == "pass"
    assert r["programs"]["tekun"]["status"] == "ineligible"


def test_chongqing_rigid_expenditure(engine: Decider) -> None:
    r = engine.evaluate(load_example("chongqing-rigid-expenditure-eligible.json"))
    x = r["programs"]["rigid_expenditure"]
    assert x["status"] == "eligible" and x["valid_until"] == "2026-09-01"
    assert (
        steps(r, "rigid_expenditure.income_test")[0]["values"]["disposable_income_monthly"]
        == "1735.00"
    )
    assert x["share"] == "0.9028"
    assert r["programs"]["dibao"]["status"] == "ineligible"
    assert r["programs"]["marginal"]["status"] == "ineligible"


def test_zhumadian_assets(engine: Decider) -> None:
    r = engine.evaluate(load_example("zhumadian-dibao-ineligible-assets.json"))
    d = r["programs"]["dibao"]
    assert d["status"] == "ineligible" and d["reasons"] == ["dibao.asset_test"]
    assert d["per_capita_income"] == "200.00" and d["standard"] == "355.00"
    assert steps(r, "dibao.asset_test")[0]["values"]["disallowed_vehicles"] == ["truck"]
