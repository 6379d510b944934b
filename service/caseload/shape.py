"""The request's shape, read from the contract's pydantic models (``service/contract/request.py``).

The caseload's flat layout (``layout``) and its fast JSONL reader (``canonical``) are derived
from this description, so a household fact added to the contract model reaches the caseload
file, its Arrow schema, its CSV form and the reader without being listed again here.

Each field becomes a ``Fact``: what kind of value it holds, whether it must be given (no
default), whether ``null`` is accepted, and the constraints the contract states (enum values,
lengths, bounds, the decimal text pattern). A field the contract checks with its own validator
(``id_number``: check digit, birth date) is marked ``checked``: only the contract may accept a
value for it.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel, WithJsonSchema
from pydantic.fields import FieldInfo

from service.contract.request import EvaluationRequest

Kind = Literal["string", "enum", "date", "decimal", "whole", "flag", "object", "list"]


@dataclass(frozen=True)
class Fact:
    """One field of the contract: its kind, presence rules and constraints."""

    name: str
    kind: Kind
    required: bool = False  # no default: the field must be given
    nullable: bool = False  # ``null`` is accepted (an omitted fact)
    values: tuple[str, ...] = ()  # enum
    min_length: int | None = None  # string, list
    max_length: int | None = None
    ge: int | None = None  # whole number
    le: int | None = None
    pattern: str | None = None  # the text form of a decimal or a date
    digits: int = 0  # decimal: digits before and after the point
    places: int = 0
    fields: tuple[Fact, ...] = ()  # object
    item: Fact | None = None  # list
    checked: bool = False  # the contract's own validator decides (e.g. a check digit)

    def field(self, name: str) -> Fact:
        for fact in self.fields:
            if fact.name == name:
                return fact
        raise KeyError(name)


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any], bool]:
    """(the bare type, every metadata item on the way, whether ``None`` is allowed)."""
    nullable = False
    metadata = list(metadata)
    while True:
        if _is_union(annotation):
            options = [option for option in get_args(annotation) if option is not type(None)]
            if len(options) != 1:
                raise TypeError(f"unsupported union {annotation!r}")
            nullable = True
            annotation = options[0]
        elif get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata += item.metadata if isinstance(item, FieldInfo) else [item]
        else:
            return annotation, metadata, nullable


def _decimal_places(pattern: str) -> tuple[int, int]:
    """``^[0-9]{1,13}(\\.[0-9]{1,2})?$`` → (13, 2): the contract's pattern bounds the digits."""
    bounds = [int(n) for n in re.findall(r"\{1,(\d+)\}", pattern)]
    if len(bounds) != 2:
        raise TypeError(f"a decimal pattern with integer and fraction digits expected: {pattern}")
    return bounds[0], bounds[1]


def _fact(name: str, annotation: Any, metadata: list[Any], required: bool, checked: bool) -> Fact:
    bare, metadata, nullable = _unwrap(annotation, metadata)
    bounds: dict[str, Any] = {}
    pattern = None
    for item in metadata:
        if isinstance(item, MinLen):
            bounds["min_length"] = item.min_length
        elif isinstance(item, MaxLen):
            bounds["max_length"] = item.max_length
        elif isinstance(item, Ge):
            bounds["ge"] = item.ge
        elif isinstance(item, Le):
            bounds["le"] = item.le
        elif isinstance(item, WithJsonSchema) and item.json_schema:
            pattern = item.json_schema.get("pattern")
    common: dict[str, Any] = {
        "name": name,
        "required": required,
        "nullable": nullable,
        "checked": checked,
        **bounds,
    }
    if get_origin(bare) is Literal:
        return Fact(kind="enum", values=tuple(get_args(bare)), **common)
    if get_origin(bare) is list:
        (item_type,) = get_args(bare)
        return Fact(kind="list", item=_fact("", item_type, [], True, False), **common)
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return Fact(kind="object", fields=describe(bare).fields, **common)
    if bare is bool:
        return Fact(kind="flag", **common)
    if bare is int:
        return Fact(kind="whole", **common)
    if bare is str:
        return Fact(kind="string", **common)
    if bare is date:
        return Fact(kind="date", pattern=pattern, **common)
    if bare is Decimal:
        if pattern is None:
            raise TypeError(f"{name}: a decimal without a text pattern in the contract")
        digits, places = _decimal_places(pattern)
        return Fact(kind="decimal", pattern=pattern, digits=digits, places=places, **common)
    raise TypeError(f"{name}: unsupported contract type {bare!r}")


def describe(model: type[BaseModel]) -> Fact:
    """The shape of a contract model, field by field in the model's order."""
    validated = {
        name
        for decorator in model.__pydantic_decorators__.field_validators.values()
        for name in decorator.info.fields
    }
    fields = tuple(
        _fact(name, info.annotation, info.metadata, info.is_required(), name in validated)
        for name, info in model.model_fields.items()
    )
    return Fact(name="", kind="object", required=True, fields=fields)


REQUEST = describe(EvaluationRequest)
"""The shape of the contract's request."""
