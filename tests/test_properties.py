"""Properties every decision must have, whatever the household (rules-reference §0, §10, contract).

Requests come from ``service.synthetic.household`` seeded by hypothesis, plus targeted
strategies for income amounts. The engine is the real one on the shipped rules.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.contract.response import EvaluationResponse
from service.engine import Decider
from service.synthetic import household

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

PROGRAMS = ("tekun", "dibao", "marginal", "rigid_expenditure", "temporary")
STATUSES = {"eligible", "ineligible", "insufficient_data", "not_applicable"}
OUTCOMES = {"pass", "fail", "not_applicable", "insufficient_data"}
MONEY_TEXT = re.compile(r"^[0-9]+\.[0-9]{2}$")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Money fields of the response's program results (contract: "always a string with two decimals").
MONEY_KEYS = {
    "monthly_amount",
    "basic_monthly",
    "care_monthly",
    "amount",
    "cap",
    "advance_cap",
    "per_capita_income",
    "standard",
    "threshold",
}

seeds = st.integers(min_value=0, max_value=2**32 - 1)
requests = seeds.map(lambda seed: household(random.Random(seed)))
# Income amounts a clerk types: 0.01 元 to 20 000 元 with two decimals.
amounts = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2, allow_nan=False
)


def _assets_none() -> dict[str, Any]:
    return {
        "financial": "0.00",
        "vehicles": [],
        "houses": [],
        "commercial_property": False,
        "business_capital": "0.00",
    }


# Wuhan 2022 (urban standard 910): the child b has no capable supporter and is 特困; a alone has
# 1500 a month.
SUPPORTER_CASE: dict[str, Any] = {
    "jurisdiction": "wuhan",
    "as_of": "2022-08-01",
    "residence": "urban",
    "household": {
        "members": [
            {
                "id": "a",
                "relation": "applicant",
                "birth_date": "1982-03-01",
                "employed": True,
                "has_capable_supporter": True,
            },
            {
                "id": "b",
                "relation": "child",
                "birth_date": "2012-05-01",
                "schooling": "compulsory",
                "has_capable_supporter": False,
            },
        ],
        "income": [{"member": "a", "type": "wage", "monthly": "1500.00"}],
        "assets": _assets_none(),
    },
}

# Wuhan 2025 (urban standard 940): m2 is a 单人户 candidate (mental disability grade 2) whose own
# income 4000 is far above the standard; the 12-month rigid expenditure is not given.
SINGLE_PERSON_CASE: dict[str, Any] = {
    "jurisdiction": "wuhan",
    "as_of": "2025-10-14",
    "residence": "urban",
    "household": {
        "members": [
            {
                "id": "m1",
                "relation": "applicant",
                "birth_date": "1968-05-30",
                "employed": True,
                "has_capable_supporter": True,
            },
            {
                "id": "m2",
                "relation": "spouse",
                "birth_date": "1998-03-20",
                "disability": {"category": "mental", "grade": 2},
                "has_capable_supporter": True,
            },
        ],
        "income": [
            {"member": "m1", "type": "wage", "monthly": "4000.00"},
            {"member": "m2", "type": "wage", "monthly": "4000.00"},
        ],
        "assets": _assets_none(),
    },
}


def money_text(value: Decimal) -> str:
    return f"{value:.2f}"


@st.composite
def requests_with_wage(draw: st.DrawFn) -> dict[str, Any]:
    """A synthetic household whose first member's wage is drawn (amounts near the standards)."""
    request = draw(requests)
    wage = draw(amounts)
    first = request["household"]["members"][0]["id"]
    income = [i for i in request["household"].get("income") or [] if i["member"] != first]
    income.append({"member": first, "type": "wage", "monthly": money_text(wage)})
    request["household"]["income"] = income
    return request


def money_fields(programs: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, value) for every money field of the program results, however deep."""

    def walk(node: Any, where: str) -> Iterator[tuple[str, Any]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in MONEY_KEYS and not isinstance(value, dict | list):
                    yield f"{where}.{key}", value
                else:
                    yield from walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{where}[{index}]")

    yield from walk(programs, "programs")


def tekun_status(response: dict[str, Any]) -> dict[str, str]:
    return {m["member"]: m["status"] for m in response["programs"]["tekun"].get("members", [])}


# --- determinism -------------------------------------------------------------------------------


@SETTINGS
@given(request=requests)
def test_same_request_same_response(engine: Decider, request: dict[str, Any]) -> None:
    first = engine.evaluate(copy.deepcopy(request))
    second = engine.evaluate(copy.deepcopy(request))
    assert first == second
    assert first["ruleset"]["sha256"] == second["ruleset"]["sha256"]
    assert first["trace"] == second["trace"]
    # the JSON text of the request gives the very same decision
    assert engine.evaluate(json.dumps(request, ensure_ascii=False)) == first
    assert engine.evaluate(json.dumps(request).encode("utf-8")) == first
    # the response is plain JSON: it survives a round trip unchanged
    assert json.loads(json.dumps(first, ensure_ascii=False)) == first


# --- monotonic income --------------------------------------------------------------------------


@SETTINGS
@given(request=requests_with_wage(), extra=amounts, data=st.data())
def test_more_income_never_raises_the_household_dibao_amount(
    engine: Decider, request: dict[str, Any], extra: Decimal, data: st.DataObject
) -> None:
    before = engine.evaluate(request)
    # The income of a member who is 特困 is outside the 低保 household (§0.6, §3); raising it can
    # bring the member back into the household, which is a different household. Raise the wage of a
    # member who is not 特困, so the 低保 household stays the same.
    tekun = tekun_status(before)
    candidates = [
        m["id"]
        for m in request["household"]["members"]
        if tekun.get(m["id"]) != "eligible" and not m.get("excluded")
    ]
    if not candidates:
        return
    member = data.draw(st.sampled_from(candidates), label="member")
    richer = copy.deepcopy(request)
    richer["household"]["income"].append(
        {"member": member, "type": "wage", "monthly": money_text(extra)}
    )
    after = engine.evaluate(richer)
    assert tekun_status(after).get(member) != "eligible"
    old, new = before["programs"]["dibao"], after["programs"]["dibao"]
    if old["basis"] == "household" and new["basis"] == "household":
        assert new["members"] == old["members"]
        assert Decimal(new["monthly_amount"]) <= Decimal(old["monthly_amount"])
        assert Decimal(new["per_capita_income"]) >= Decimal(old["per_capita_income"])
    if old["status"] != "eligible":
        assert not (new["status"] == "eligible" and new["basis"] == "household"), (
            f"more income made 低保 eligible on the household basis: {old} → {new}"
        )


def test_more_income_lowers_the_amount_by_the_difference(engine: Decider) -> None:
    """A concrete anchor for the property: difference mode, Wuhan 2022 urban standard 910."""
    request = {
        "jurisdiction": "wuhan",
        "as_of": "2022-08-01",
        "residence": "urban",
        "household": {
            "members": [
                {
                    "id": "a",
                    "relation": "applicant",
                    "birth_date": "1980-01-01",
                    "employed": True,
                    "has_capable_supporter": True,
                },
                {
                    "id": "b",
                    "relation": "spouse",
                    "birth_date": "1981-01-01",
                    "has_capable_supporter": True,
                },
            ],
            "income": [{"member": "a", "type": "wage", "monthly": "1000.00"}],
            "assets": {
                "financial": "0",
                "vehicles": [],
                "houses": [],
                "commercial_property": False,
                "business_capital": "0",
            },
        },
    }
    before = engine.evaluate(request)["programs"]["dibao"]
    assert (before["status"], before["basis"], before["monthly_amount"]) == (
        "eligible",
        "household",
        "820.00",  # (910 - 500) × 2
    )
    request["household"]["income"].append({"member": "b", "type": "wage", "monthly": "300.00"})
    after = engine.evaluate(request)["programs"]["dibao"]
    assert (after["basis"], after["monthly_amount"]) == ("household", "520.00")  # (910 - 650) × 2
    request["household"]["income"].append({"member": "b", "type": "wage", "monthly": "520.00"})
    last = engine.evaluate(request)["programs"]["dibao"]
    assert last["status"] == "ineligible"  # 910 is not below 910
    assert "dibao.income_test" in last["reasons"]


# --- amounts -----------------------------------------------------------------------------------


@SETTINGS
@given(request=st.one_of(requests, requests_with_wage()))
def test_money_is_never_negative_and_has_two_decimals(
    engine: Decider, request: dict[str, Any]
) -> None:
    response = engine.evaluate(request)
    programs = response["programs"]
    seen = 0
    for where, value in money_fields(programs):
        if value is None:
            continue
        seen += 1
        assert isinstance(value, str), f"{where} = {value!r} is not a string"
        assert MONEY_TEXT.match(value), f"{where} = {value!r} is not money with two decimals"
        assert Decimal(value) >= 0, f"{where} = {value} is negative"
    dibao = programs["dibao"]
    if dibao["status"] == "eligible":
        assert Decimal(dibao["monthly_amount"]) > 0
        assert dibao["members"]
    if dibao["basis"] == "household":
        assert Decimal(dibao["per_capita_income"]) < Decimal(dibao["standard"])
    if dibao["basis"] == "single_person":
        shares = sum(Decimal(s["monthly_amount"]) for s in dibao["single_person"])
        assert shares == Decimal(dibao["monthly_amount"])
    for member in programs["tekun"].get("members", []):
        if member["status"] == "eligible":
            total = Decimal(member["basic_monthly"]) + Decimal(member["care_monthly"] or "0")
            assert Decimal(member["monthly_amount"]) == total
        else:
            assert member["monthly_amount"] is None
    if programs["dibao"]["status"] != "not_applicable" or programs["tekun"]["status"] != (
        "not_applicable"
    ):
        assert seen > 0  # the money fields are really there to check


# --- an omitted fact never makes a case eligible ----------------------------------------------


Mutation = Callable[[dict[str, Any]], None]


def omissions(request: dict[str, Any]) -> Iterator[tuple[str, Mutation]]:
    """Every fact the contract lets a caller omit, and how to remove it from ``request``."""

    def drop(*path: str | int) -> Mutation:
        def mutate(req: dict[str, Any]) -> None:
            node: Any = req
            for part in path[:-1]:
                node = node[part]
            del node[path[-1]]

        return mutate

    hh = request["household"]
    if "residence" in request:
        yield "residence", drop("residence")
    if "income" in hh:
        yield "household.income", drop("household", "income")
    if "assets" in hh:
        yield "household.assets", drop("household", "assets")
        for key in list(hh["assets"]):
            yield f"household.assets.{key}", drop("household", "assets", key)
        for index, house in enumerate(hh["assets"].get("houses") or []):
            for key in list(house):
                yield (
                    f"household.assets.houses[{index}].{key}",
                    drop("household", "assets", "houses", index, key),
                )
    if "rigid_expenditure_12m" in hh:
        yield "household.rigid_expenditure_12m", drop("household", "rigid_expenditure_12m")
        for key in list(hh["rigid_expenditure_12m"]):
            yield (
                f"household.rigid_expenditure_12m.{key}",
                drop("household", "rigid_expenditure_12m", key),
            )
    for index, member in enumerate(hh["members"]):
        for key in ("has_capable_supporter", "self_care_failed_items"):
            if key in member:
                yield f"household.members[{index}].{key}", drop("household", "members", index, key)
    current = hh.get("current_benefit")
    if current:
        # exit_started is left alone: null states that the exit period has not started.
        for key in ("monthly_amount", "since", "income_rise_from_employment"):
            if key in current:
                yield (
                    f"household.current_benefit.{key}",
                    drop("household", "current_benefit", key),
                )
    emergency = request.get("emergency")
    if emergency:
        for key in ("cause", "occurred_on", "assessed_need", "already_assisted"):
            if key in emergency:
                yield f"emergency.{key}", drop("emergency", key)


def _found_tekun(response: dict[str, Any]) -> set[str]:
    return {m for m, status in tekun_status(response).items() if status == "eligible"}


def _never_eligible_by_omission(engine: Decider, request: dict[str, Any]) -> None:
    full = engine.evaluate(request)
    full_members = tekun_status(full)
    for label, mutate in omissions(request):
        reduced_request = copy.deepcopy(request)
        mutate(reduced_request)
        reduced = engine.evaluate(reduced_request)
        # Only members found 特困 leave the 低保 household; an undecided one stays (the contract's
        # Wuhan example). When omitting a fact changes who is found 特困, the household the other
        # programs assess is a different household, so only 特困 itself is compared.
        same_household = _found_tekun(full) == _found_tekun(reduced)
        for program in PROGRAMS if same_household else ("tekun",):
            stated = full["programs"][program]["status"]
            omitted = reduced["programs"][program]["status"]
            assert not (stated == "ineligible" and omitted == "eligible"), (
                f"omitting {label}: {program} ineligible when stated, eligible when omitted\n"
                f"request: {json.dumps(request, ensure_ascii=False)}"
            )
        for member, status in tekun_status(reduced).items():
            assert not (full_members.get(member) == "ineligible" and status == "eligible"), (
                f"omitting {label}: 特困 member {member} ineligible when stated, eligible when "
                f"omitted\nrequest: {json.dumps(request, ensure_ascii=False)}"
            )


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(request=requests)
@example(request=SUPPORTER_CASE)
def test_an_omitted_fact_never_turns_ineligible_into_eligible(
    engine: Decider, request: dict[str, Any]
) -> None:
    _never_eligible_by_omission(engine, request)


def test_an_undecided_tekun_member_stays_in_the_dibao_household(engine: Decider) -> None:
    """Wuhan 2022, urban standard 910: the child b has no capable supporter.

    Stated: b is 特困 and leaves the 低保 household; a alone has 1500 ≥ 910 → 低保 ineligible.
    Omitted: b's 特困 result is undecided, so b has not been *found* 特困 and stays in the
    household (as in the contract's Wuhan example, where m3 stays): 1500 / 2 = 750 < 910. The
    trace says that b's 特困 result is pending and that the household must be re-assessed.
    """
    request = copy.deepcopy(SUPPORTER_CASE)
    stated = engine.evaluate(request)
    assert tekun_status(stated) == {"a": "ineligible", "b": "eligible"}
    assert stated["programs"]["dibao"]["status"] == "ineligible"
    del request["household"]["members"][1]["has_capable_supporter"]
    omitted = engine.evaluate(request)
    assert tekun_status(omitted)["b"] == "insufficient_data"
    assert omitted["programs"]["dibao"]["members"] == ["a", "b"]
    (household_step,) = [s for s in omitted["trace"] if s["step"] == "dibao.household"]
    assert household_step["values"]["tekun_undecided"] == ["b"]
    assert "b" in household_step["message_zh"] and "待定" in household_step["message_zh"]
    assert {"field": "household.members[1].has_capable_supporter", "program": "tekun"} in omitted[
        "missing"
    ]


# --- the response fits the contract -----------------------------------------------------------


@SETTINGS
@given(request=requests)
def test_every_response_fits_the_contract(engine: Decider, request: dict[str, Any]) -> None:
    response = engine.evaluate(request)
    EvaluationResponse.model_validate(response)
    assert response["jurisdiction"] == request["jurisdiction"]
    assert response["as_of"] == request["as_of"]
    assert re.fullmatch(r"[0-9a-f]{64}", response["ruleset"]["sha256"])
    assert set(response["programs"]) == set(PROGRAMS)
    for name, result in response["programs"].items():
        assert result["status"] in STATUSES, name
    assert response["trace"], "every decision leaves a trace"
    for step in response["trace"]:
        assert step["outcome"] in OUTCOMES, step
        assert step["program"] in PROGRAMS, step
        assert step["message_zh"].strip() and CJK.search(step["message_zh"]), step
        assert step["message_en"].strip(), step
        assert "None" not in step["message_zh"] and "None" not in step["message_en"], step
        assert step["citation"]["title"], step
    # 特困 is decided per counted member, one result each
    counted = [m["id"] for m in request["household"]["members"] if not m.get("excluded")]
    assert [m["member"] for m in response["programs"]["tekun"]["members"]] == counted


# --- missing facts -----------------------------------------------------------------------------


_MEMBER_FIELD = re.compile(r"^household\.members\[(\d+)\]\.self_care_failed_items$")


@SETTINGS
@given(request=requests)
def test_missing_names_only_undecided_programs(engine: Decider, request: dict[str, Any]) -> None:
    response = engine.evaluate(request)
    programs = response["programs"]
    members = request["household"]["members"]
    tekun = tekun_status(response)
    for item in response["missing"]:
        program, field = item["program"], item["field"]
        assert program in PROGRAMS, item
        if programs[program]["status"] == "insufficient_data":
            continue
        match = _MEMBER_FIELD.match(field)
        assert program == "tekun" and match, (
            f"{item} listed, but {program} is {programs[program]['status']}"
        )
        member_id = members[int(match.group(1))]["id"]
        assert tekun[member_id] == "eligible", item


@SETTINGS
@given(request=requests)
@example(request=SINGLE_PERSON_CASE)
def test_an_undecided_program_names_the_facts_it_lacks(
    engine: Decider, request: dict[str, Any]
) -> None:
    """§0.2: insufficient_data "naming the missing field"; §10: "the missing fields are listed"."""
    response = engine.evaluate(request)
    for program, result in response["programs"].items():
        if result["status"] == "insufficient_data":
            named = [m["field"] for m in response["missing"] if m["program"] == program]
            assert named, (
                f"{program} is insufficient_data but no missing fact is named for it\n"
                f"request: {json.dumps(request, ensure_ascii=False)}"
            )


def test_single_person_path_fails_on_known_income(engine: Decider) -> None:
    """Wuhan 2025: the household type (支出型 / 刚性支出) is undecided, but the only candidate's own
    income (4000) is far above the standard (940): the 单人户 path fails on known facts, so 低保
    is ineligible, not insufficient_data (§10: ineligible if any rule fails on known facts)."""
    request = copy.deepcopy(SINGLE_PERSON_CASE)
    response = engine.evaluate(request)
    assert response["programs"]["rigid_expenditure"]["status"] == "insufficient_data"
    dibao = response["programs"]["dibao"]
    assert dibao["status"] == "ineligible", dibao
    assert "dibao.single_person" in dibao["reasons"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_households_cover_every_status(engine: Decider, seed: int) -> None:
    """The generator is tuned so the properties above see every program status."""
    seen: set[tuple[str, str]] = set()
    rng = random.Random(seed)
    for _ in range(400):
        response = engine.evaluate(household(rng))
        seen |= {(p, r["status"]) for p, r in response["programs"].items()}
    for program in ("tekun", "dibao", "marginal"):
        for status in ("eligible", "ineligible", "insufficient_data"):
            assert (program, status) in seen
