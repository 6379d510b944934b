"""Bad input is refused with precise problems (contract: "Errors"): each names the field's path,
says what is wrong in Chinese and in English, and has a type; personal data is never repeated.

Every test runs on the request as a Python object and as JSON text (the command line and the HTTP
layer hand the engine text), and both must give the same problems.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from service.contract.request import id_number_check_digit
from service.engine import Decider, RequestRejected
from tests.helpers import load_example

CJK = re.compile(r"[\u4e00-\u9fff]")
Form = Callable[[dict[str, Any]], Any]
FORMS: dict[str, Form] = {
    "object": lambda request: copy.deepcopy(request),
    "json": lambda request: json.dumps(request, ensure_ascii=False),
}


@pytest.fixture(params=sorted(FORMS))
def form(request: pytest.FixtureRequest) -> Form:
    return FORMS[request.param]


def base() -> dict[str, Any]:
    """Wuhan 2022: three members, m1 with an 18-digit ID number (valid check digit)."""
    return load_example("wuhan-dibao-household-eligible.json")


def refused(engine: Decider, request: Any) -> list[dict[str, str]]:
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(request)
    problems = caught.value.problems
    assert problems, "refused without a problem"
    for p in problems:
        assert set(p) >= {"path", "reason_zh", "reason_en", "type"}, p
        assert p["reason_zh"].strip() and CJK.search(p["reason_zh"]), p
        assert p["reason_en"].strip() and p["type"].strip(), p
    return problems


def only(engine: Decider, request: Any) -> dict[str, str]:
    problems = refused(engine, request)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_base_request_is_accepted(engine: Decider, form: Form) -> None:
    response = engine.evaluate(form(base()))
    assert response["programs"]["dibao"]["monthly_amount"] == "994.00"


# --- money -------------------------------------------------------------------------------------


def test_negative_money(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["income"][0]["monthly"] = "-1.00"
    problem = only(engine, form(request))
    assert problem["path"] == "household.income[0].monthly"
    assert "negative" in problem["reason_en"]
    assert "负" in problem["reason_zh"]


def test_negative_json_number(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["assets"]["financial"] = -5
    problem = only(engine, form(request))
    assert problem["path"] == "household.assets.financial"


@pytest.mark.parametrize("amount", ["1200.005", "0.001", "1e3", "12,00", "abc", ""])
def test_money_that_is_not_two_decimals(engine: Decider, form: Form, amount: str) -> None:
    request = base()
    request["household"]["income"][0]["monthly"] = amount
    problem = only(engine, form(request))
    assert problem["path"] == "household.income[0].monthly"
    assert "2" in problem["reason_en"] or "decimal" in problem["reason_en"]


def test_json_number_with_three_decimals_is_refused(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["income"][0]["monthly"] = 2100.005
    problem = only(engine, form(request))
    assert problem["path"] == "household.income[0].monthly"


@pytest.mark.parametrize("amount", [2100.55, 2100.5, 2100])
def test_json_number_with_at_most_two_decimals_is_accepted(
    engine: Decider, form: Form, amount: float
) -> None:
    request = base()
    request["household"]["income"][0]["monthly"] = amount
    response = engine.evaluate(form(request))
    # (2100.55 + 150 - 150 deduction) / 3, exactly as the string "2100.55" would give
    as_text = copy.deepcopy(request)
    as_text["household"]["income"][0]["monthly"] = f"{Decimal(str(amount)):.2f}"
    expected = engine.evaluate(as_text)
    assert response["programs"] == expected["programs"]
    per_capita = (Decimal(str(amount)) + 150 - 150) / 3
    assert response["programs"]["dibao"]["per_capita_income"] == str(
        per_capita.quantize(Decimal("0.01"))
    )


# --- enums, fields, members --------------------------------------------------------------------


def test_unknown_enum_value(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["members"][0]["relation"] = "cousin"
    problem = only(engine, form(request))
    assert problem["path"] == "household.members[0].relation"
    # the allowed values are given
    assert "spouse" in problem["reason_en"] and "spouse" in problem["reason_zh"]


def test_unknown_field(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["members"][1]["favourite_colour"] = "blue"
    problem = only(engine, form(request))
    assert problem["path"] == "household.members[1].favourite_colour"


def test_unknown_top_level_field(engine: Decider, form: Form) -> None:
    request = base()
    request["programme"] = ["dibao"]
    problem = only(engine, form(request))
    assert problem["path"] == "programme"


def test_duplicate_member_ids(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["members"][1]["id"] = "m1"
    problem = only(engine, form(request))
    assert problem["path"] == "household.members[1].id"
    assert "duplicate" in problem["reason_en"]


def test_income_for_an_unknown_member(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["income"][0]["member"] = "m9"
    problem = only(engine, form(request))
    assert problem["path"] == "household.income[0].member"


def test_deduction_for_an_unknown_member(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["deductions"][0]["member"] = "m9"
    problem = only(engine, form(request))
    assert problem["path"] == "household.deductions[0].member"


def test_missing_birth_date(engine: Decider, form: Form) -> None:
    request = base()
    del request["household"]["members"][2]["birth_date"]
    problem = only(engine, form(request))
    assert problem["path"] == "household.members[2].birth_date"
    assert problem["type"] == "missing"


def test_several_problems_are_reported_together(engine: Decider, form: Form) -> None:
    request = base()
    request["household"]["income"][0]["monthly"] = "-1.00"
    request["household"]["members"][2]["relation"] = "cousin"
    del request["household"]["members"][1]["birth_date"]
    paths = {p["path"] for p in refused(engine, form(request))}
    assert paths == {
        "household.income[0].monthly",
        "household.members[2].relation",
        "household.members[1].birth_date",
    }


# --- personal data -----------------------------------------------------------------------------


def _valid_id(birth: str, sequence: str = "123") -> str:
    first17 = "420106" + birth.replace("-", "") + sequence
    return first17 + id_number_check_digit(first17)


def _never_repeated(problems: list[dict[str, str]], error_text: str, secret: str) -> None:
    for p in problems:
        for value in p.values():
            assert secret not in value, p
            assert secret[:17] not in value, p
    assert secret not in error_text and secret[:17] not in error_text


def test_id_number_with_a_wrong_check_digit(engine: Decider, form: Form) -> None:
    request = base()
    good = _valid_id("1979-03-08")
    assert good == request["household"]["members"][0]["id_number"]  # the example's own number
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    request["household"]["members"][0]["id_number"] = wrong
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(form(request))
    problems = caught.value.problems
    assert [p["path"] for p in problems] == ["household.members[0].id_number"]
    assert "check" in problems[0]["reason_en"]
    assert CJK.search(problems[0]["reason_zh"])
    _never_repeated(problems, str(caught.value), wrong)


def test_id_number_whose_birth_date_differs_from_birth_date(engine: Decider, form: Form) -> None:
    request = base()
    other = _valid_id("1979-03-09")  # valid check digit, but born a day later
    request["household"]["members"][0]["id_number"] = other
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(form(request))
    problems = caught.value.problems
    assert [p["path"] for p in problems] == ["household.members[0].id_number"]
    assert "birth" in problems[0]["reason_en"]
    assert CJK.search(problems[0]["reason_zh"])
    _never_repeated(problems, str(caught.value), other)


def test_id_number_of_the_wrong_length(engine: Decider, form: Form) -> None:
    request = base()
    short = "4201061979030812"
    request["household"]["members"][0]["id_number"] = short
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(form(request))
    problems = caught.value.problems
    assert [p["path"] for p in problems] == ["household.members[0].id_number"]
    for p in problems:
        assert all(short not in value for value in p.values())


def test_a_too_long_name_is_not_repeated(engine: Decider, form: Form) -> None:
    request = base()
    name = "王" * 60 + "某某某" * 20  # 120 characters, the limit is 100
    request["household"]["members"][0]["name"] = name
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(form(request))
    problems = caught.value.problems
    assert [p["path"] for p in problems] == ["household.members[0].name"]
    assert all("某某某" not in value for p in problems for value in p.values())
    assert "某某某" not in str(caught.value)


def test_a_valid_id_number_is_accepted(engine: Decider, form: Form) -> None:
    request = base()
    number = _valid_id("1981-11-20", "245")
    request["household"]["members"][1]["id_number"] = number
    response = engine.evaluate(form(request))
    assert response["programs"]["dibao"]["monthly_amount"] == "994.00"
    # the response never carries the ID number either
    assert number not in json.dumps(response, ensure_ascii=False)
    assert request["household"]["members"][0]["id_number"] not in json.dumps(response)


# --- jurisdiction and date ---------------------------------------------------------------------


def test_unknown_jurisdiction(engine: Decider, form: Form) -> None:
    request = base()
    request["jurisdiction"] = "atlantis"
    problem = only(engine, form(request))
    assert problem["path"] == "jurisdiction"
    # the known jurisdictions are listed
    for known in ("wuhan", "changsha", "zhumadian", "chongqing", "chongqing/banan"):
        assert known in problem["reason_en"] and known in problem["reason_zh"]


def test_national_base_is_not_a_jurisdiction(engine: Decider, form: Form) -> None:
    request = base()
    request["jurisdiction"] = "national"
    assert only(engine, form(request))["path"] == "jurisdiction"


@pytest.mark.parametrize(
    ("jurisdiction", "as_of", "first"),
    [
        ("wuhan", "2020-03-31", "2020-04-01"),
        ("changsha", "2020-12-31", "2021-01-01"),
        ("chongqing/banan", "2019-12-31", "2020-01-01"),
    ],
)
def test_date_before_the_first_version(
    engine: Decider, form: Form, jurisdiction: str, as_of: str, first: str
) -> None:
    request = base()
    request["jurisdiction"], request["as_of"] = jurisdiction, as_of
    problem = only(engine, form(request))
    assert problem["path"] == "as_of"
    # the first valid date is given
    assert first in problem["reason_en"] and first in problem["reason_zh"]


def test_first_day_of_the_first_version_is_accepted(engine: Decider, form: Form) -> None:
    request = base()
    request["as_of"] = "2020-04-01"
    response = engine.evaluate(form(request))
    assert response["ruleset"]["version"] == "2020-04-01"


def test_malformed_date(engine: Decider, form: Form) -> None:
    request = base()
    request["as_of"] = "2022-02-30"
    problem = only(engine, form(request))
    assert problem["path"] == "as_of"


def test_malformed_json_text(engine: Decider) -> None:
    problems = refused(engine, '{"jurisdiction": "wuhan", ')
    assert problems[0]["type"] == "json_invalid"


def test_a_json_array_is_not_a_request(engine: Decider) -> None:
    problems = refused(engine, [base()])
    assert problems[0]["path"] == ""
