"""The published request schema is as strict as the validation.

A client generated from ``/openapi.json`` follows the schema; it must then send bodies the
service accepts. So every body the validator refuses for its shape (a type, a format, a bound,
an unknown or missing field), the published schema refuses too. Only the rules no JSON Schema
can state are left to the service (``SEMANTIC``; the document's description lists them).

Bodies: each contract example with one place changed (every property of every object, also the
ones no example has) to each of a list of wrong, loose and edge values, or removed; and, with
hypothesis, random JSON values in random places.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.engine import Decider, RequestRejected
from tests.api.conftest import EXAMPLES
from tests.api.test_openapi import doc, validator_for

__all__ = ["doc"]  # the fixture, shared

# Refusals that depend on more than one field or on arithmetic (GB 11643 check digit, member
# references, duplicate ids): no JSON Schema states them.
SEMANTIC = {"unknown_member", "duplicate_member", "id_number_check_digit", "id_number_birth_date"}


class _Schemas:
    """Walks a request body alongside the published schema (``$ref``, ``anyOf``, ``items``)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.components = doc["components"]["schemas"]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.components[node["$ref"].rsplit("/", 1)[1]]
        return node

    def alternative(self, node: dict[str, Any], kind: str) -> dict[str, Any] | None:
        node = self.resolve(node)
        if node.get("type") == kind:
            return node
        for option in node.get("anyOf", []):
            found = self.alternative(option, kind)
            if found is not None:
                return found
        return None

    def slots(self, value: Any, node: dict[str, Any], path: tuple[Any, ...]) -> Iterator[tuple]:
        """Every place a value can be set: (path of the object, property name), recursively."""
        if isinstance(value, dict) and (obj := self.alternative(node, "object")) is not None:
            for name, child in obj.get("properties", {}).items():
                yield path, name
                if name in value:
                    yield from self.slots(value[name], child, (*path, name))
        elif isinstance(value, list) and (arr := self.alternative(node, "array")) is not None:
            for index, item in enumerate(value):
                yield from self.slots(item, arr.get("items", {}), (*path, index))


# Values set into every slot: wrong types, bounds, formats, the loose forms other systems send.
CANDIDATES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    7,
    2.5,
    1.234,
    -0.5,
    1e20,
    "",
    " ",
    "x",
    "yes",
    "true",
    "1",
    "-1",
    "0.5",
    "1.234",
    "12345678901234",
    "1e3",
    "2022-08-01",
    "2022-08-01T00:00:00",
    "2022-02-30",
    "19790308",
    19790308,
    "42010619790308123X",
    "42010619790308123",
    "a" * 65,
    "a" * 101,
    [],
    [{}],
    ["dibao", "dibao"],
    {},
    {"unexpected": 1},
]
# A sample body per place: deduplicated across examples by the path without list indexes.
_SAMPLES = [json.loads(path.read_text(encoding="utf-8")) for path in EXAMPLES]


_DELETE = object()


def _set(body: Any, path: tuple[Any, ...], name: str, value: Any) -> Any:
    mutated = copy.deepcopy(body)
    target = mutated
    for part in path:
        target = target[part]
    if value is _DELETE:
        target.pop(name, None)
    else:
        target[name] = value
    return mutated


@cache
def _slots(doc_text: str) -> list[tuple[int, tuple[Any, ...], str]]:
    schemas = _Schemas(json.loads(doc_text))
    seen: set[tuple[Any, ...]] = set()
    out = []
    for index, body in enumerate(_SAMPLES):
        root = {"$ref": "#/components/schemas/EvaluationRequest"}
        for path, name in schemas.slots(body, root, ()):
            key = (*[p for p in path if isinstance(p, str)], name)
            if key not in seen:
                seen.add(key)
                out.append((index, path, name))
    return out


def _schema_level_refusals(engine: Decider, body: Any) -> set[str]:
    try:
        engine.parse(body)
    except RequestRejected as rejected:
        return {p["type"] for p in rejected.problems} - SEMANTIC
    return set()


def _looser(doc: dict[str, Any], engine: Decider, bodies: list[Any]) -> list[str]:
    """Bodies the published schema accepts although the validator refuses their shape."""
    validator = validator_for(doc, "EvaluationRequest")
    found = []
    for body in bodies:
        refused = _schema_level_refusals(engine, body)
        if refused and validator.is_valid(body):
            found.append(f"{sorted(refused)}: {json.dumps(body, ensure_ascii=False)[:300]}")
    return found


def test_every_body_the_validator_refuses_for_its_shape_the_schema_refuses_too(
    doc: dict[str, Any], engine: Decider
) -> None:
    slots = _slots(json.dumps(doc))
    assert len(slots) >= 45  # every field of the contract, with the ones no example has
    bodies = []
    for index, path, name in slots:
        for value in [*CANDIDATES, _DELETE]:
            bodies.append(_set(_SAMPLES[index], path, name, value))
    refused = sum(1 for body in bodies if _schema_level_refusals(engine, body))
    assert refused > len(bodies) // 2  # the sample does probe the validation
    assert _looser(doc, engine, bodies) == []


def test_the_contract_examples_are_valid_per_the_published_schema(doc: dict[str, Any]) -> None:
    validator = validator_for(doc, "EvaluationRequest")
    for sample, path in zip(_SAMPLES, EXAMPLES, strict=True):
        assert [e.message for e in validator.iter_errors(sample)] == [], path.name


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.from_regex(r"-?[0-9]{0,15}(\.[0-9]{0,5})?", fullmatch=True)
    | st.dates().map(str)
    | st.datetimes().map(lambda d: d.isoformat()),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["kind", "category", "grade", "x"]), children, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[tuple]]:
    """The document of an app on a throwaway database, and its slots (module-wide, for
    hypothesis, which does not take function-scoped fixtures)."""
    from service.app import create_app
    from tests.api.conftest import make_settings

    app = create_app(make_settings(tmp_path_factory.mktemp("openapi"), None))
    document = app.openapi()
    return document, _slots(json.dumps(document))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_values_the_schema_accepts_are_never_refused_for_their_shape(
    data: st.DataObject, published: tuple[dict[str, Any], list[tuple]], engine: Decider
) -> None:
    document, slots = published
    index, path, name = data.draw(st.sampled_from(slots))
    body = _set(_SAMPLES[index], path, name, data.draw(_JSON_VALUES))
    for _ in range(data.draw(st.integers(0, 2))):  # sometimes more than one field at once
        _, path, name = data.draw(st.sampled_from(slots))
        if _reachable(body, path):
            body = _set(body, path, name, data.draw(_JSON_VALUES))
    assert _looser(document, engine, [body]) == []


def _reachable(body: Any, path: tuple[Any, ...]) -> bool:
    target = body
    for part in path:
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(target, dict)
