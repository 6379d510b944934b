"""Data from other systems is never guessed at, and every refusal is in our own words.

Booleans are JSON ``true``/``false`` only, dates ``YYYY-MM-DD`` strings only, counts JSON integers
only; each refusal names the field and says what is wrong in Chinese and English of our own
(never pydantic's English), with the limit that was broken where it helps, and never repeats
the submitted value. A property test sends wrong values to every field of the contract.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import date
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from service.contract.errors import TRANSLATED_TYPES
from service.contract.request import EvaluationRequest
from service.engine import Decider, RequestRejected
from tests.helpers import EXAMPLES, load_example

CJK = re.compile(r"[\u4e00-\u9fff]")
# The error types our own validators raise (already "中文 / English").
OWN_TYPES = {
    "money_type",
    "money_negative",
    "money_format",
    "id_number_format",
    "id_number_check_digit",
    "id_number_birth_date",
    "duplicate_member",
    "unknown_member",
    "date_format",
    "date_invalid",
}
# Pydantic's English starts like this; none of it may reach a person.
PYDANTIC_WORDING = re.compile(
    r"^(Input should|Value error|List should|String should|Field required|Extra inputs|"
    r"Invalid JSON|Object has|Dictionary should|Unable to|Assertion failed)"
)


def rich_request() -> dict[str, Any]:
    """The Wuhan household with every optional part of the contract filled in (still valid)."""
    request = load_example("wuhan-dibao-household-eligible.json")
    household = request["household"]
    household["members"][1].update(
        disability={"category": "physical", "grade": 2},
        self_care_failed_items=1,
        has_capable_supporter=True,
        excluded=None,
        employed=False,
    )
    household["assets"] = {
        "financial": "3000.00",
        "vehicles": [{"kind": "motorcycle"}],
        "houses": [{"area_m2": "60.5", "dilapidated": False}],
        "commercial_property": False,
        "business_capital": "0.00",
    }
    household["rigid_expenditure_12m"] = {
        "medical": "1200.00",
        "education": "0",
        "rehabilitation": "0.00",
        "other": "0.00",
    }
    household["current_benefit"] = {
        "program": "dibao",
        "monthly_amount": "900.00",
        "since": "2021-03-01",
        "exit_started": None,
        "income_rise_from_employment": False,
    }
    request["programs"] = ["dibao", "temporary"]
    request["emergency"] = {
        "kind": "urgent",
        "cause": "fire",
        "occurred_on": "2022-07-20",
        "assessed_need": "3000.00",
        "already_assisted": False,
    }
    return request


def refused(engine: Decider, request: Any) -> list[dict[str, str]]:
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(request)
    return caught.value.problems


def the_problem(engine: Decider, request: dict[str, Any]) -> dict[str, str]:
    """The single problem, identical whether the request comes as text or as an object."""
    as_text = refused(engine, json.dumps(request, ensure_ascii=False))
    assert refused(engine, copy.deepcopy(request)) == as_text
    assert len(as_text) == 1, as_text
    return as_text[0]


def paths(data: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key of the request, in every list item."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def set_at(request: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(request)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def model_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, annotation) of every field of the contract's request, lists as [0]."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, info.annotation
        for inner in _inner_models(info.annotation):
            is_list = "list" in repr(info.annotation)
            yield from model_fields(inner, f"{path}[0]" if is_list else path)


def _inner_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _inner_models(arg)


def _base_types(annotation: Any) -> set[Any]:
    """``Annotated[bool, …] | None`` → {bool, NoneType}."""
    if get_origin(annotation) is Annotated:
        return _base_types(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return set().union(*(_base_types(a) for a in get_args(annotation)))
    return {annotation}


def field_name(path: tuple[str | int, ...]) -> str:
    """The model field a request path is in: list positions count as [0]."""
    return re.sub(r"\[\d+\]", "[0]", dotted(path))


RICH = rich_request()
RICH_PATHS = list(paths(RICH))
FIELD_TYPES = {
    path: _base_types(annotation) for path, annotation in model_fields(EvaluationRequest)
}


def _fields_of(kind: type) -> set[str]:
    return {path for path, types in FIELD_TYPES.items() if kind in types}


def _paths_of(kind: type) -> list[tuple[str | int, ...]]:
    return [p for p in RICH_PATHS if field_name(p) in _fields_of(kind)]


BOOL_FIELDS = _paths_of(bool)
DATE_FIELDS = _paths_of(date)
INT_FIELDS = _paths_of(int)


def test_the_rich_request_is_accepted_and_covers_every_field(engine: Decider) -> None:
    response = engine.evaluate(json.dumps(RICH))
    assert response["programs"]["dibao"]["status"] in {"eligible", "ineligible"}
    missing = set(FIELD_TYPES) - {field_name(p) for p in RICH_PATHS}
    assert not missing, f"rich_request() lacks {sorted(missing)}"
    # so every bool, date and whole-number field of the models is checked below
    assert _fields_of(bool) == {
        "household.members[0].serious_illness",
        "household.members[0].employed",
        "household.members[0].has_capable_supporter",
        "household.assets.houses[0].dilapidated",
        "household.assets.commercial_property",
        "household.current_benefit.income_rise_from_employment",
        "emergency.already_assisted",
    }
    assert _fields_of(date) == {
        "as_of",
        "household.members[0].birth_date",
        "household.current_benefit.since",
        "household.current_benefit.exit_started",
        "emergency.occurred_on",
    }
    assert _fields_of(int) == {
        "household.members[0].disability.grade",
        "household.members[0].self_care_failed_items",
    }


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_contract_example_is_still_accepted(engine: Decider, example: str) -> None:
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    assert engine.evaluate(text) == engine.evaluate(json.loads(text))


# --- booleans ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BOOL_FIELDS, ids=dotted)
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "1", "Y", "false"])
def test_a_boolean_is_json_true_or_false_only(
    engine: Decider, path: tuple[str | int, ...], value: Any
) -> None:
    problem = the_problem(engine, set_at(RICH, path, value))
    assert problem["path"] == dotted(path)
    assert problem["type"] == "bool_type"
    assert problem["reason_zh"] == "应为布尔值 true 或 false"
    assert problem["reason_en"] == "must be true or false (a JSON boolean)"


def test_employed_yes_is_refused_not_taken_as_true(engine: Decider) -> None:
    request = load_example("wuhan-dibao-household-eligible.json")
    request["household"]["members"][0]["employed"] = "yes"
    problem = the_problem(engine, request)
    assert problem["path"] == "household.members[0].employed"


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DATE_FIELDS, ids=dotted)
@pytest.mark.parametrize(
    "value",
    [
        "2022-08-01T00:00:00",
        "2022-08-01 00:00",
        "2022-08-01Z",
        19790308,
        "19790308",
        "2022-8-1",
        "2022/08/01",
        1659312000,
        "",
        True,
    ],
)
def test_a_date_is_a_yyyy_mm_dd_string_only(
    engine: Decider, path: tuple[str | int, ...], value: Any
) -> None:
    problem = the_problem(engine, set_at(RICH, path, value))
    assert problem["path"] == dotted(path)
    assert problem["type"] == "date_format"
    assert problem["reason_zh"] == "日期格式应为 YYYY-MM-DD"
    assert problem["reason_en"] == "date must be written YYYY-MM-DD"


def test_birth_date_as_a_number_says_how_to_write_it(engine: Decider) -> None:
    request = load_example("wuhan-dibao-household-eligible.json")
    request["household"]["members"][0]["birth_date"] = 19790308
    problem = the_problem(engine, request)
    assert (problem["path"], problem["reason_zh"], problem["reason_en"]) == (
        "household.members[0].birth_date",
        "日期格式应为 YYYY-MM-DD",
        "date must be written YYYY-MM-DD",
    )
    assert "时间" not in problem["reason_zh"]


@pytest.mark.parametrize("value", ["2022-02-30", "2022-13-01", "2022-00-10"])
def test_a_date_that_is_not_on_the_calendar(engine: Decider, value: str) -> None:
    problem = the_problem(engine, set_at(RICH, ("as_of",), value))
    assert (problem["path"], problem["type"]) == ("as_of", "date_invalid")
    assert CJK.search(problem["reason_zh"]) and "calendar" in problem["reason_en"]


def test_the_published_schema_gives_the_date_pattern_and_plain_booleans() -> None:
    schema = EvaluationRequest.model_json_schema()
    assert schema["properties"]["as_of"]["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    member = schema["$defs"]["Member"]["properties"]
    assert member["birth_date"]["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    assert member["employed"]["type"] == "boolean"
    assert member["self_care_failed_items"]["anyOf"][0]["type"] == "integer"


# --- whole numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", INT_FIELDS, ids=dotted)
@pytest.mark.parametrize("value", ["2", 2.0, 2.5, True])
def test_a_count_is_a_json_integer_only(
    engine: Decider, path: tuple[str | int, ...], value: Any
) -> None:
    problem = the_problem(engine, set_at(RICH, path, value))
    assert problem["path"] == dotted(path)
    assert (problem["reason_zh"], problem["reason_en"]) == ("应为整数", "must be a whole number")


def test_a_grade_out_of_range_gives_the_limit(engine: Decider) -> None:
    problem = the_problem(
        engine, set_at(RICH, ("household", "members", 1, "disability", "grade"), 5)
    )
    assert (problem["reason_zh"], problem["reason_en"]) == ("不能大于 4", "must be at most 4")
    problem = the_problem(
        engine, set_at(RICH, ("household", "members", 1, "self_care_failed_items"), -1)
    )
    assert (problem["reason_zh"], problem["reason_en"]) == ("不能小于 0", "must be at least 0")


# --- each kind of error in our own words ----------------------------------------------------------


def test_no_members_says_at_least_one_member(engine: Decider) -> None:
    problem = the_problem(engine, set_at(RICH, ("household", "members"), []))
    assert problem["path"] == "household.members"
    assert problem["reason_zh"] == "至少应有 1 名成员"
    assert problem["reason_en"] == "must have at least 1 member"


def test_too_many_members_gives_the_limit(engine: Decider) -> None:
    member = {"relation": "other", "birth_date": "1990-01-01"}
    members = [{"id": f"m{i}", **member} for i in range(51)]
    members[0]["relation"] = "applicant"
    problem = the_problem(engine, set_at(RICH, ("household",), {"members": members}))
    assert problem["reason_zh"] == "最多只能有 50 名成员"
    assert problem["reason_en"] == "must have at most 50 members"


@pytest.mark.parametrize(
    ("path", "value", "zh", "en"),
    [
        (("residence",), "town", "应为以下之一：urban、rural", "must be one of: urban, rural"),
        (("household", "members", 0, "id"), "", "至少应有 1 个字符", "at least 1 character"),
        (("household", "members", 0, "name"), "王" * 101, "最多只能有 100 个字符", "at most 100"),
        (("household", "members"), {"m1": {}}, "应为数组", "must be a list"),
        (("household", "assets"), ["x"], "应为对象", "must be an object"),
        (("jurisdiction",), 42, "应为字符串", "must be a string"),
        (("programs",), ["pension"], "tekun、dibao", "must be one of: tekun, dibao"),
    ],
)
def test_each_kind_of_error_has_our_wording(
    engine: Decider, path: tuple[str | int, ...], value: Any, zh: str, en: str
) -> None:
    problem = the_problem(engine, set_at(RICH, path, value))
    assert zh in problem["reason_zh"] and en in problem["reason_en"], problem


def test_a_missing_and_an_unknown_field(engine: Decider) -> None:
    request = copy.deepcopy(RICH)
    del request["household"]["members"][0]["relation"]
    problem = the_problem(engine, request)
    assert (problem["reason_zh"], problem["reason_en"]) == (
        "缺少必填字段",
        "required field is missing",
    )
    request = set_at(RICH, ("household", "members", 0, "favourite_colour"), "blue")
    problem = the_problem(engine, request)
    assert problem["path"] == "household.members[0].favourite_colour"
    assert "不允许" in problem["reason_zh"] and "not permitted" in problem["reason_en"]


@pytest.mark.parametrize(
    ("text", "line", "column", "zh", "en"),
    [
        ('{"jurisdiction": "wuhan", ', 1, 26, "文本却已结束", "ends"),
        ('{\n  "jurisdiction": "wuhan",\n  "as_of": 2022-08-01\n}', 3, 16, "逗号", "comma"),
        ('{\n  "jurisdiction": "wuhan",\n}', 3, 1, "多余的逗号", "comma"),
        ('{"household": {"members": [tru]}}', 1, 31, "true", "true"),
        ("", 1, 0, "文本却已结束", "ends"),
    ],
)
def test_broken_json_gives_line_and_column_in_both_languages(
    engine: Decider, text: str, line: int, column: int, zh: str, en: str
) -> None:
    (problem,) = refused(engine, text)
    assert problem["type"] == "json_invalid"
    assert f"第 {line} 行第 {column} 列" in problem["reason_zh"], problem
    assert f"line {line}, column {column}" in problem["reason_en"], problem
    assert zh in problem["reason_zh"] and en in problem["reason_en"], problem
    assert "EOF" not in problem["reason_en"] and "Invalid JSON" not in problem["reason_en"]


# --- property: random wrong values anywhere --------------------------------------------------------

SECRET = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789王李", min_size=6, max_size=20).map(
    lambda text: "Zq" + text  # a value we can look for in the messages
)
WRONG = st.one_of(
    SECRET,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.just("yes"),
    st.just("2022-08-01T00:00:00"),
    st.just(19790308),
    st.just(""),
    st.just([]),
    st.just({}),
    st.lists(SECRET, max_size=3),
    st.dictionaries(SECRET, SECRET, max_size=2),
)


def _pydantic_messages(text: str) -> set[str]:
    try:
        EvaluationRequest.model_validate_json(text)
    except ValidationError as error:
        return {e["msg"] for e in error.errors()}
    return set()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(RICH_PATHS), WRONG, st.sampled_from(["set", "delete", "add"])),
        min_size=1,
        max_size=3,
    )
)
def test_every_refusal_is_in_our_own_words_and_never_repeats_the_value(
    engine: Decider, changes: list[tuple[tuple[str | int, ...], Any, str]]
) -> None:
    request: Any = copy.deepcopy(RICH)
    secrets: list[str] = []
    for path, value, action in changes:
        node = request
        try:
            for part in path[:-1]:
                node = node[part]
            if action == "delete":
                del node[path[-1]]
            elif action == "add" and isinstance(node, dict):
                node["Zq_unknown_" + str(path[-1])] = value
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced the parent
        secrets.extend(re.findall(r"Zq[A-Z0-9王李]{6,}", json.dumps(value, ensure_ascii=False)))
    text = json.dumps(request, ensure_ascii=False)
    try:
        engine.evaluate(text)
    except RequestRejected as error:
        problems = error.problems
    else:
        return
    pydantic_said = _pydantic_messages(text)
    assert problems
    for p in problems:
        assert p["type"] in TRANSLATED_TYPES | OWN_TYPES | {
            "unknown_jurisdiction",
            "before_first_version",
        }, p
        assert CJK.search(p["reason_zh"]), p
        assert p["reason_en"].strip() and not CJK.search(p["reason_en"]), p
        assert p["reason_en"] not in pydantic_said, p
        assert not PYDANTIC_WORDING.match(p["reason_en"]), p
        for secret in secrets:
            assert secret not in p["reason_zh"] and secret not in p["reason_en"], p
