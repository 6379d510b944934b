"""A fast reader for JSONL lines written in the contract's canonical form.

``flat_row(data)`` turns a parsed request into a flat row without pydantic, but only if every
value has its plainest valid form: known keys only, exact JSON types (``true``, not ``"true"``),
enum values spelt exactly, money as a decimal string (``"1200.00"``) or a whole number, dates as
``YYYY-MM-DD``, no ID number. Anything else returns ``None`` and the line is validated by the
contract (pydantic) as usual, so a line is never accepted here that the contract would refuse.
The checks between fields (duplicate member ids, income naming no member) are made on the
columns (``columns.from_arrow``), whose flagged rows also go through the contract.

The reader is built from the contract's shape (``shape``): the keys, kinds, presence rules and
constraints of every field, and the same flattening as the layout (``layout``). A field the
contract checks with its own validator (the ID number) is read only when null.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from service.caseload import layout
from service.caseload.shape import REQUEST, Fact


class _NotCanonical(Exception):
    pass


def _fail(*_: Any) -> Any:
    raise _NotCanonical


Read = Callable[[Any], Any]
_ABSENT = object()

# The reader of an object is generated as Python source from its shape, one statement per
# field, because it runs for every line of a JSONL caseload: a loop over the fields calling a
# reader per value costs a third more than the plain code. ``SOURCES`` keeps what was built.
SOURCES: list[str] = []


def _check(fact: Fact, names: dict[str, Any]) -> list[str]:
    """Statements that check ``v`` (not null) and leave its cell value in ``v``."""
    tag = f"_{len(names)}"
    if fact.kind == "string":
        names["low" + tag] = fact.min_length or 0
        names["high" + tag] = fact.max_length if fact.max_length is not None else 2**63
        return [f"if type(v) is not str or not low{tag} <= len(v) <= high{tag}: _fail()"]
    if fact.kind == "enum":
        names["allowed" + tag] = frozenset(fact.values)
        return [f"if type(v) is not str or v not in allowed{tag}: _fail()"]
    if fact.kind == "flag":
        return ["if type(v) is not bool: _fail()"]
    if fact.kind == "whole":
        names["low" + tag] = fact.ge if fact.ge is not None else -(2**15)
        names["high" + tag] = fact.le if fact.le is not None else 2**15 - 1  # int16
        return [f"if type(v) is not int or not low{tag} <= v <= high{tag}: _fail()"]
    if fact.kind == "decimal":
        assert fact.pattern is not None
        names["text" + tag] = re.compile(fact.pattern.strip("^$")).fullmatch
        names["bound" + tag] = 10**fact.digits  # a JSON whole number: no fraction to check
        return [
            f"if type(v) is str and text{tag}(v): v = Decimal(v)",
            f"elif type(v) is int and 0 <= v < bound{tag}: v = Decimal(v)",
            "else: _fail()",
        ]
    if fact.kind == "date":
        names["text" + tag] = re.compile((fact.pattern or "").strip("^$")).fullmatch
        return [
            f"if type(v) is not str or not text{tag}(v): _fail()",
            "try: v = date.fromisoformat(v)",
            "except ValueError: _fail()",
        ]
    if fact.kind == "list":
        assert fact.item is not None
        names["low" + tag] = fact.min_length or 0
        names["high" + tag] = fact.max_length if fact.max_length is not None else 2**63
        only = layout.single_field(fact)
        check = [f"if type(v) is not list or not low{tag} <= len(v) <= high{tag}: _fail()"]
        if only is not None:  # a list of one-field objects: the list of that field's values
            names["item" + tag] = _build(fact.item)
            return [*check, f"v = [item{tag}(x)[{only.name!r}] for x in v]"]
        if fact.item.kind == "object":
            names["item" + tag] = _build(fact.item)
            return [*check, f"v = [item{tag}(x) for x in v]"]
        names["item" + tag] = _value(fact.item)
        return [*check, f"v = [item{tag}(x) for x in v]"]
    raise TypeError(fact.kind)


def _value(fact: Fact) -> Read:
    """A reader of one value that may not be null (a list's item)."""
    names: dict[str, Any] = {"_fail": _fail, "Decimal": Decimal, "date": date}
    body = "\n".join(f"    {line}" for line in _check(fact, names))
    return _compile(f"def read(v):\n{body}\n    return v\n", names, "read")


def _compile(source: str, names: dict[str, Any], name: str) -> Any:
    SOURCES.append(source)
    exec(source, names)  # noqa: S102 (built from the contract's shape, no outside input)
    return names[name]


def _build(shape: Fact) -> Read:
    """A list item: a new struct with every column of the item."""
    return _fill(shape, "", build=True)


def _fill(shape: Fact, prefix: str, build: bool = False) -> Any:
    """``fill(value, row)``: checks one object and writes its cells into ``row`` (which holds
    every column, null); with ``build``, ``fill(value)`` returns a new row of the object's own
    columns (a list's item). Unknown keys, a missing required field, a null the contract
    refuses, or any value not in its plainest form fail."""
    names: dict[str, Any] = {
        "_fail": _fail,
        "_ABSENT": _ABSENT,
        "Decimal": Decimal,
        "date": date,
        "keys": frozenset(field_.name for field_ in shape.fields),
        "columns": tuple(entry.name for entry in layout.flatten(shape)),
    }
    lines = ["def fill(d):" if build else "def fill(d, row):"]
    if shape.nullable and not build:
        lines.append("    if d is None: return")
    lines.append("    if type(d) is not dict or not keys.issuperset(d): _fail()")
    if build:
        lines.append("    row = dict.fromkeys(columns)")
    for fact in shape.fields:
        key = repr(fact.name)
        # Every check starts with a type test, so a null fails it: only where the contract
        # accepts an omitted fact is the check guarded.
        if fact.required and not fact.nullable:  # absent or null: refused
            lines.append(f"    v = d.get({key})")
            guard = ""
        elif not fact.nullable:  # absent: the default applies; null: refused
            lines.append(f"    v = d.get({key}, _ABSENT)")
            guard = "if v is not _ABSENT:"
        elif fact.required:  # absent: refused; null: an omitted fact
            lines.append(f"    v = d.get({key}, _ABSENT)")
            lines.append("    if v is _ABSENT: _fail()")
            guard = "if v is not None:"
        else:  # absent or null: an omitted fact
            lines.append(f"    v = d.get({key})")
            guard = "if v is not None:"
        if fact.checked:  # only the contract may accept a value: here only null passes
            body = ["_fail()"]
        elif fact.kind == "object":
            tag = f"_{len(names)}"
            names["fill" + tag] = _fill(fact, prefix + layout.prefix_of(fact.name))
            body = [f"fill{tag}(v, row)"]
        else:
            body = _check(fact, names)
            if fact.name not in layout.PERSONAL:  # personal data is checked, never kept
                body.append(f"row[{prefix + fact.name!r}] = v")
        if guard:
            lines.append(f"    {guard}")
            lines += [f"        {line}" for line in body]
        else:
            lines += [f"    {line}" for line in body]
    if build:
        lines.append("    return row")
    return _compile("\n".join(lines) + "\n", names, "fill")


def reader(shape: Fact = REQUEST) -> Callable[..., dict[str, Any] | None]:
    """``flat_row`` for a request of this shape (the contract's, or another for a test)."""
    fill = _fill(shape, "")
    columns = ("id", *(entry.name for entry in layout.flatten(shape)))

    def flat_row(data: Any, household_id: str | None = None) -> dict[str, Any] | None:
        """The flat row of a canonical request, or None (then validate it with the contract)."""
        row: dict[str, Any] = dict.fromkeys(columns)
        try:
            fill(data, row)
        except _NotCanonical:
            return None
        row["id"] = household_id
        return row

    return flat_row


flat_row = reader()
