"""The intake form's fields and the contract's request, both ways.

:func:`to_contract` builds the request from the posted fields (a blank field is an unknown fact:
left out, never a zero), :func:`flatten` the fields from a request (loading a saved household);
:func:`add_item` and :func:`remove_item` change a list as the page's buttons do without the
script. The fields themselves are in :mod:`service.console.fields`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from service.console.fields import (
    ASSETS,
    EMERGENCY,
    LISTS,
    NONE_PREFIX,
    OBJECTS,
    PROGRAM_PREFIX,
    TOP,
    WHOLE,
    Spec,
)
from service.contract.request import PROGRAM_IDS

# --- form → request ---------------------------------------------------------------------------


def _value(kind: str, text: str) -> Any:
    """A field's text as the contract's value; None for a blank (unknown) field. What the
    contract would refuse is passed on as typed, for its 422 to name the field."""
    text = text.strip()
    if kind == "check":
        return True if text == "true" else None
    if text == "":
        return None
    if kind == "tristate":
        return {"true": True, "false": False}.get(text, text)
    if kind == "whole" or (kind == "select" and WHOLE.fullmatch(text)):
        return int(text) if WHOLE.fullmatch(text) else text
    if kind == "idnumber":
        return text.upper()
    return text


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    head, _, rest = dotted.partition(".")
    if not rest:
        target[head] = value
        return
    _put(target.setdefault(head, {}), rest, value)


def _object(values: Mapping[str, str], prefix: str, specs: Iterable[Spec]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind, _, _ in specs:
        value = _value(kind, values.get(f"{prefix}.{name}", ""))
        if value is not None:
            _put(out, name, value)
    return out


def indices(values: Mapping[str, str], path: str) -> list[int]:
    """The item numbers of the list at ``path`` that the form holds, in order."""
    pattern = re.compile(re.escape(path) + r"\[([0-9]{1,4})\]\.")
    return sorted({int(m.group(1)) for k in values if (m := pattern.match(k))})


def _list(values: Mapping[str, str], path: str) -> list[dict[str, Any]] | None:
    """The list's items; [] when declared empty; None (unknown) when neither."""
    specs, can_be_none = LISTS[path]
    items = [_object(values, f"{path}[{i}]", specs) for i in indices(values, path)]
    if items:
        return items
    if can_be_none and values.get(NONE_PREFIX + path) == "true":
        return []
    return None


def to_contract(values: Mapping[str, str]) -> dict[str, Any]:
    """The request the form states (to be checked by the contract, as any request is)."""
    request: dict[str, Any] = {}
    for name, kind, _, _ in TOP:
        value = _value(kind, values.get(name, ""))
        if value is not None:
            request[name] = value
    chosen = [p for p in PROGRAM_IDS if values.get(PROGRAM_PREFIX + p) == "true"]
    if chosen and len(chosen) < len(PROGRAM_IDS):
        request["programs"] = chosen
    household: dict[str, Any] = {"members": _list(values, "household.members") or []}
    income = _list(values, "household.income")
    if income is not None:
        household["income"] = income
    deductions = _list(values, "household.deductions")
    if deductions:
        household["deductions"] = deductions
    assets = _object(values, "household.assets", ASSETS)
    for path in ("household.assets.vehicles", "household.assets.houses"):
        found = _list(values, path)
        if found is not None:
            assets[path.rpartition(".")[2]] = found
    if assets:
        household["assets"] = assets
    for path in ("household.rigid_expenditure_12m", "household.current_benefit"):
        found_object = _object(values, path, OBJECTS[path])
        if found_object:
            household[path.partition(".")[2]] = found_object
    request["household"] = household
    emergency = _object(values, "emergency", EMERGENCY)
    if emergency:
        request["emergency"] = emergency
    return request


# --- request → form ---------------------------------------------------------------------------


def _text(kind: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _flatten_object(
    data: Any, prefix: str, specs: Iterable[Spec], out: dict[str, str], unknown: list[str]
) -> None:
    if not isinstance(data, dict):
        unknown.append(prefix)
        return
    known = set()
    for name, kind, _, _ in specs:
        head, _, rest = name.partition(".")
        known.add(head)
        value = data.get(head)
        if rest:
            value = value.get(rest) if isinstance(value, dict) else None
        if value is None or (kind == "check" and value is False):
            continue
        out[f"{prefix}.{name}" if prefix else name] = _text(kind, value)
    unknown.extend(f"{prefix}.{k}" if prefix else k for k in data if k not in known)


def _flatten_list(data: Any, path: str, out: dict[str, str], unknown: list[str]) -> None:
    if data is None:
        return
    specs, can_be_none = LISTS[path]
    if not isinstance(data, list):
        unknown.append(path)
        return
    if not data and can_be_none:
        out[NONE_PREFIX + path] = "true"
    for index, item in enumerate(data):
        prefix = f"{path}[{index}]"
        _flatten_object(item, prefix, specs, out, unknown)
        for name, _, _, _ in specs:  # an item of unknown facts only is still an item
            out.setdefault(f"{prefix}.{name}", "")


def flatten(request: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The form's fields for a request, and the paths the form has no field for (a file with a
    misspelt key: shown to the clerk, not silently dropped)."""
    out: dict[str, str] = {}
    unknown: list[str] = []
    top_known = {"jurisdiction", "as_of", "residence", "programs", "household", "emergency"}
    unknown.extend(k for k in request if k not in top_known)
    for name, kind, _, _ in TOP:
        if request.get(name) is not None:
            out[name] = _text(kind, request[name])
    programs = request.get("programs")
    for program in PROGRAM_IDS:
        if not programs or program in programs:
            out[PROGRAM_PREFIX + program] = "true"
    household = request.get("household")
    if isinstance(household, dict):
        household_known = {
            "members",
            "income",
            "deductions",
            "assets",
            "rigid_expenditure_12m",
            "current_benefit",
        }
        unknown.extend(f"household.{k}" for k in household if k not in household_known)
        for path in ("household.members", "household.income", "household.deductions"):
            _flatten_list(household.get(path.partition(".")[2]), path, out, unknown)
        assets = household.get("assets")
        if isinstance(assets, dict):
            rest = {k: v for k, v in assets.items() if k not in ("vehicles", "houses")}
            _flatten_object(rest, "household.assets", ASSETS, out, unknown)
            for path in ("household.assets.vehicles", "household.assets.houses"):
                _flatten_list(assets.get(path.rpartition(".")[2]), path, out, unknown)
        elif assets is not None:
            unknown.append("household.assets")
        for path in ("household.rigid_expenditure_12m", "household.current_benefit"):
            found = household.get(path.partition(".")[2])
            if found is not None:
                _flatten_object(found, path, OBJECTS[path], out, unknown)
    elif household is not None:
        unknown.append("household")
    if request.get("emergency") is not None:
        _flatten_object(request["emergency"], "emergency", EMERGENCY, out, unknown)
    return out, unknown


def blank_household(jurisdiction: str, as_of: str) -> dict[str, str]:
    """A new form: one applicant, every program asked for."""
    values = {"jurisdiction": jurisdiction, "as_of": as_of}
    values.update({PROGRAM_PREFIX + p: "true" for p in PROGRAM_IDS})
    values.update(
        {
            "household.members[0].id": "m1",
            "household.members[0].relation": "applicant",
            "household.members[0].birth_date": "",
            "household.members[0].schooling": "none",
        }
    )
    return values


def add_item(values: Mapping[str, str], path: str) -> dict[str, str]:
    """The fields with a blank item added at the end of the list at ``path`` (a new member gets
    the first free id m1, m2 …)."""
    out = dict(values)
    found = indices(values, path)
    index = found[-1] + 1 if found else 0
    specs, _ = LISTS[path]
    for spec in specs:
        out[f"{path}[{index}].{spec[0]}"] = ""
    if path == "household.members":
        taken = {values.get(f"{path}[{i}].id", "") for i in found}
        number = next(n for n in range(1, len(taken) + 2) if f"m{n}" not in taken)
        out[f"{path}[{index}].id"] = f"m{number}"
        out[f"{path}[{index}].schooling"] = "none"
    out.pop(NONE_PREFIX + path, None)
    return out


def remove_item(values: Mapping[str, str], path: str, index: int) -> dict[str, str]:
    """The fields without item ``index`` of the list at ``path``, the later ones moved up."""
    pattern = re.compile(re.escape(path) + r"\[([0-9]{1,4})\]\.(.*)", re.S)
    out: dict[str, str] = {}
    for key, value in values.items():
        match = pattern.fullmatch(key)
        if match is None:
            out[key] = value
            continue
        number = int(match.group(1))
        if number == index:
            continue
        out[f"{path}[{number - 1 if number > index else number}].{match.group(2)}"] = value
    return out
