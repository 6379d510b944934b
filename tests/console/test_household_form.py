"""The intake form holds any request of the contract: through the form's fields and back, a
request comes out as it went in (no fact lost, none invented, an unknown stays unknown)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.console.fields import field_id
from service.console.household import add_item, flatten, remove_item, to_contract
from service.contract.request import EvaluationRequest

money = st.decimals(min_value=0, max_value=99999, places=2).map(lambda d: f"{d:.2f}")
days = st.dates(min_value=date(1930, 1, 1), max_value=date(2024, 12, 31)).map(date.isoformat)
maybe = st.one_of(st.none(), st.booleans())


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


@st.composite
def members(draw: Any) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 4))
    out = []
    for index in range(count):
        disabled = draw(st.booleans())
        out.append(
            _without_none(
                {
                    "id": f"m{index + 1}",
                    "relation": "applicant"
                    if index == 0
                    else draw(st.sampled_from(["spouse", "child", "parent", "other"])),
                    "birth_date": draw(days),
                    "disability": {
                        "category": draw(st.sampled_from(["physical", "mental", "visual"])),
                        "grade": draw(st.integers(1, 4)),
                    }
                    if disabled
                    else None,
                    "serious_illness": draw(st.booleans()),
                    "employed": draw(st.booleans()),
                    "schooling": draw(st.sampled_from(["none", "compulsory", "undergraduate"])),
                    "self_care_failed_items": draw(st.one_of(st.none(), st.integers(0, 6))),
                    "has_capable_supporter": draw(maybe),
                    "excluded": draw(st.one_of(st.none(), st.sampled_from(["prison", "missing"]))),
                }
            )
        )
    return out


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    people = draw(members())
    ids = [m["id"] for m in people]
    household: dict[str, Any] = {"members": people}
    income = draw(
        st.one_of(
            st.none(),
            st.lists(
                st.fixed_dictionaries(
                    {
                        "member": st.sampled_from(ids),
                        "type": st.sampled_from(["wage", "business", "transfer"]),
                        "monthly": money,
                    }
                ),
                max_size=3,
            ),
        )
    )
    if income is not None:
        household["income"] = income
    assets = _without_none(
        {
            "financial": draw(st.one_of(st.none(), money)),
            "vehicles": draw(
                st.one_of(
                    st.none(),
                    st.lists(
                        st.fixed_dictionaries({"kind": st.sampled_from(["car", "motorcycle"])}),
                        max_size=2,
                    ),
                )
            ),
            "houses": draw(
                st.one_of(
                    st.none(),
                    st.lists(
                        st.builds(
                            lambda area, bad: _without_none({"area_m2": area, "dilapidated": bad}),
                            st.one_of(st.none(), st.sampled_from(["55", "120.5"])),
                            maybe,
                        ),
                        max_size=2,
                    ),
                )
            ),
            "commercial_property": draw(maybe),
        }
    )
    if assets:
        household["assets"] = assets
    if draw(st.booleans()):
        household["rigid_expenditure_12m"] = {"medical": draw(money)}
    request: dict[str, Any] = {
        "jurisdiction": draw(st.sampled_from(["wuhan", "chongqing/banan"])),
        "as_of": draw(days),
        "household": household,
    }
    if draw(st.booleans()):
        request["residence"] = draw(st.sampled_from(["urban", "rural"]))
    if draw(st.booleans()):
        request["programs"] = sorted(
            draw(st.sets(st.sampled_from(["tekun", "dibao", "temporary"]), min_size=1)),
            key=["tekun", "dibao", "temporary"].index,
        )
    if draw(st.booleans()):
        request["emergency"] = _without_none(
            {"kind": "urgent", "cause": "fire", "assessed_need": draw(st.one_of(st.none(), money))}
        )
    return request


@settings(max_examples=150, deadline=None)
@given(requests())
def test_a_request_goes_through_the_form_unchanged(request: dict[str, Any]) -> None:
    values, unknown = flatten(request)
    assert unknown == []
    assert EvaluationRequest.model_validate(
        to_contract(values)
    ) == EvaluationRequest.model_validate(request)


@settings(max_examples=60, deadline=None)
@given(requests(), st.data())
def test_removing_an_item_drops_exactly_that_item(request: dict[str, Any], data: Any) -> None:
    values, _ = flatten(request)
    people = request["household"]["members"]
    index = data.draw(st.integers(0, len(people) - 1))
    after = to_contract(remove_item(values, "household.members", index))
    assert after["household"]["members"] == [
        to_contract(values)["household"]["members"][i] for i in range(len(people)) if i != index
    ]
    grown = to_contract(add_item(values, "household.members"))["household"]["members"]
    assert len(grown) == len(people) + 1
    assert grown[-1]["id"] not in {m["id"] for m in people}


def test_field_ids_follow_the_contract_path() -> None:
    assert field_id("household.members[0].birth_date") == "household-members-0-birth_date"
    assert field_id("household.assets.houses[1].area_m2") == "household-assets-houses-1-area_m2"
    assert field_id("none:household.income") == "none-household-income"
    assert field_id("as_of") == "as_of"
