"""The JSONL fast reader never accepts what the contract refuses, and reads what it accepts as the
contract does. Thousands of requests, each with one random defect (or none), are read both ways.
"""

from __future__ import annotations

import copy
import random
from datetime import date

import pyarrow as pa
from pydantic import ValidationError

from service.caseload import generate, layout
from service.caseload.canonical import flat_row
from service.caseload.columns import Batch
from service.contract.request import EvaluationRequest
from tests.caseload import fuzz

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
        bases += list(generate.requests(jurisdiction, 60, 4, on, dict(rules.standard)))
        bases += [fuzz.household(rng, jurisdiction, on, rules) for _ in range(60)]
    for request in bases:
        request.pop("id", None)
        assert flat_row(request) is not None  # generated requests are canonical
    cases = bases + [_mutate(rng, rng.choice(bases)) for _ in range(4000)]
    accepted = [(case, row) for case in cases if (row := flat_row(case)) is not None]
    table = pa.Table.from_pylist([row for _, row in accepted], schema=layout.arrow_schema())
    slow = Batch.from_arrow(table).slow
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


def test_fast_reader_knows_no_field_the_contract_lacks() -> None:
    """The fast reader lists the fields it can read; each must still exist in the contract, so
    a field removed from the contract can never be accepted here without pydantic."""
    from service.caseload import canonical
    from service.contract import request as contract

    pairs = [
        (canonical._REQUEST, contract.EvaluationRequest),
        (canonical._HOUSEHOLD, contract.Household),
        (canonical._MEMBER, contract.Member),
        (canonical._ITEM, contract.IncomeItem),
        (canonical._ITEM, contract.DeductionItem),
        (canonical._ASSETS, contract.Assets),
        (canonical._RIGID, contract.RigidExpenditure),
        (canonical._BENEFIT, contract.CurrentBenefit),
        (canonical._EMERGENCY, contract.Emergency),
    ]
    for keys, model in pairs:
        assert keys <= set(model.model_fields), (model.__name__, keys - set(model.model_fields))
