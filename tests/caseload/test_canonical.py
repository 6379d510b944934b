"""The JSONL fast reader never accepts what the contract refuses, and reads what it accepts as the
contract does. Thousands of requests, each with one random defect (or none), are read both ways.
"""

from __future__ import annotations

import copy
import random
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from pydantic import Field, ValidationError

from service import synthetic
from service.caseload import columns, layout
from service.caseload.canonical import flat_row, reader
from service.caseload.shape import describe
from service.contract import request as contract
from service.contract.request import EvaluationRequest

ODD_VALUES = [
    None, True, False, 0, 1, 7, -1, 1.5, 10**13, "", " 12.00", "-1", "1e3", "12.345", "bogus",
    "true", "2021-02-30", "2021-2-3", "0001-01-01", "9999-12-31", [], {}, ["x"], {"k": 1},
    "prison", "urban", "wage", "car", "fire", "dibao", "m1", "x" * 65, "110101199003070000",
]  # fmt: skip


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _mutate(rng: random.Random, request: dict) -> dict:
    data = copy.deepcopy(request)
    paths = [p for p in _paths(data) if p]
    path = rng.choice(paths)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = rng.random()
    if action < 0.2 and isinstance(parent, dict):
        del parent[last]
    elif action < 0.3 and isinstance(parent, dict):
        parent[rng.choice(["colour", "id_number", "name", "income", "assets", "cause"])] = (
            rng.choice(ODD_VALUES)
        )
    elif action < 0.35 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))  # duplicate member ids, repeated items
    else:
        parent[last] = rng.choice(ODD_VALUES)
    return data


def test_fast_reader_is_a_subset_of_the_contract(rule_base):
    rng = random.Random(77)
    on = date(2025, 3, 1)
    bases = []
    for jurisdiction in ("wuhan", "zhumadian", "changsha"):
        rules = rule_base.resolve(jurisdiction, on).rules
        bases += list(synthetic.caseload(jurisdiction, 60, 4, on, dict(rules.standard)))
        bases += [synthetic.edge_household(rng, jurisdiction, on, rules) for _ in range(60)]
    for request in bases:
        request.pop("id", None)
        assert flat_row(request) is not None  # generated requests are canonical
    cases = bases + [_mutate(rng, rng.choice(bases)) for _ in range(4000)]
    accepted = [(case, row) for case in cases if (row := flat_row(case)) is not None]
    table = pa.Table.from_pylist([row for _, row in accepted], schema=layout.arrow_schema())
    slow = columns.from_arrow(table).slow
    refused_by_contract = 0
    for (case, row), flagged in zip(accepted, slow, strict=True):
        try:
            expected = EvaluationRequest.model_validate(case)
        except ValidationError:
            refused_by_contract += 1
            assert flagged, case  # only cross-field checks are left to the columns, which flag it
            continue
        if not flagged:  # the same request (names are not carried: the layout has no column)
            got = EvaluationRequest.model_validate(layout.row_to_request(row)).model_dump()
            want = expected.model_dump()
            for member in want["household"]["members"]:
                member["name"] = None
            for group in ("assets", "rigid_expenditure_12m"):  # {} is the omitted group (layout)
                value = want["household"][group]
                if value is not None and all(v is None for v in value.values()):
                    want["household"][group] = None
            assert got == want
    rejected = len(cases) - len(accepted)
    assert rejected > 1500  # most defects are caught by the reader itself
    assert len(accepted) - refused_by_contract > 1000


class _CarerMember(contract.Member):
    carer_allowance: contract.Flag | None = None  # household facts the contract does not have
    care_hours: contract.WholeNumber | None = Field(default=None, ge=0, le=168)


class _CarerHousehold(contract.Household):
    members: list[_CarerMember] = Field(min_length=1, max_length=50)


class _CarerRequest(contract.EvaluationRequest):
    household: _CarerHousehold


def test_a_fact_added_to_the_contract_reaches_the_layout_and_the_reader() -> None:
    """The layout, its Arrow schema and the fast reader are derived from the contract's models:
    a member fact added to the model gets its column, is read, refused when not canonical, and
    comes back from the row; nothing else lists it."""
    shape = describe(_CarerRequest)
    members = layout.arrow_schema(shape).field("members").type.value_type
    assert members.field("carer_allowance").type == pa.bool_()
    assert layout.arrow_schema(shape).remove(
        layout.arrow_schema(shape).get_field_index("members")
    ) == (layout.arrow_schema().remove(layout.arrow_schema().get_field_index("members")))
    read = reader(shape)
    request = {
        "jurisdiction": "wuhan",
        "as_of": "2025-07-01",
        "household": {
            "members": [
                {
                    "id": "a",
                    "relation": "applicant",
                    "birth_date": "1950-01-01",
                    "carer_allowance": True,
                },
                {"id": "b", "relation": "spouse", "birth_date": "1952-01-01"},
            ],
            "income": [],
        },
    }
    row = read(request)
    assert row is not None
    assert [m["carer_allowance"] for m in row["members"]] == [True, None]
    assert flat_row(request) is None  # the contract of today has no such field
    odd = copy.deepcopy(request)
    odd["household"]["members"][0]["carer_allowance"] = "yes"
    assert read(odd) is None
    with pytest.raises(ValidationError):
        _CarerRequest.model_validate(odd)
    back = layout.gatherer(shape, "")(row)
    assert _CarerRequest.model_validate(back) == _CarerRequest.model_validate(request)
    cells: dict = dict.fromkeys(("id", *(c.name for c in layout.flatten(shape))))
    layout.spreader(shape, "")(request, cells)
    assert cells["members"] == row["members"]


def test_the_layout_leaves_out_personal_data_only() -> None:
    """Every field of the contract has a column (or a struct field), except names and ID
    numbers, which a caseload file never holds."""
    seen: set[str] = set()

    def walk(fields, schema_fields) -> None:
        for fact in fields:
            if fact.kind == "object":
                walk(fact.fields, schema_fields)
            elif fact.name in layout.PERSONAL:
                assert not any(name.endswith(fact.name) for name in schema_fields), fact.name
            else:
                seen.add(fact.name)
                assert any(name.endswith(fact.name) for name in schema_fields), fact.name
                if fact.kind == "list" and fact.item is not None and fact.item.kind == "object":
                    item = (
                        layout.arrow_schema()
                        .field(next(n for n in schema_fields if n.endswith(fact.name)))
                        .type.value_type
                    )
                    if hasattr(item, "names"):
                        walk(fact.item.fields, item.names)

    walk(describe(contract.EvaluationRequest).fields, layout.arrow_schema().names)
    assert {"serious_illness", "area_m2", "exit_started", "assessed_need"} <= seen


def test_a_fact_no_program_reads_is_still_checked_on_the_fast_path() -> None:
    """A fact added to the contract that no program reads yet is checked from its shape: a row
    the contract would refuse for it goes to the contract (flagged), never the fast path."""
    shape = describe(_CarerRequest)
    assert columns.UNREAD == ()  # today every fact of the layout is read where it is checked
    unread = tuple(
        leaf for leaf in columns.leaves(layout.flatten(shape)) if leaf[:2] not in columns.READ
    )
    assert [leaf[:2] for leaf in unread] == [
        ("members", "carer_allowance"),
        ("members", "care_hours"),
    ]
    member = {"id": "a", "relation": "applicant", "birth_date": date(1950, 1, 1)}
    rows = [
        {"members": [{**member, "care_hours": 20}]},
        {"members": [{**member, "care_hours": 200}]},  # the contract refuses more than 168
        {"members": [member, {**member, "id": "b", "care_hours": 169}]},
        {"members": [{**member, "carer_allowance": False}]},
    ]
    for request in rows:
        hours = [m.get("care_hours") for m in request["members"]]
        valid = all(h is None or h <= 168 for h in hours)
        try:
            _CarerRequest.model_validate({"jurisdiction": "wuhan", "household": request})
            assert valid
        except ValidationError:
            assert not valid
    table = pa.Table.from_pylist(rows, schema=layout.arrow_schema(shape))
    slow = np.zeros(len(rows), dtype=bool)
    columns.flag_unread(
        {name: table.column(name).combine_chunks() for name in table.column_names}, unread, slow
    )
    assert slow.tolist() == [False, True, True, False]
