"""A fast reader for JSONL lines written in the contract's canonical form.

``flat_row(data)`` turns a parsed request into a flat row without pydantic, but only if every
value has its plainest valid form: known keys only, exact JSON types (``true``, not ``"true"``),
enum values spelt exactly, money as a decimal string (``"1200.00"``) or a whole number, dates as
``YYYY-MM-DD``, no ID number. Anything else returns ``None`` and the line is validated by the
contract (pydantic) as usual, so a line is never accepted here that the contract would refuse.
The checks between fields (duplicate member ids, income naming no member) are made on the
columns (``columns.Batch``), whose flagged rows also go through the contract.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from service.caseload import layout

_MONEY = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")
_QUANTITY = re.compile(r"[0-9]{1,9}(\.[0-9]{1,4})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_REQUEST = frozenset({"jurisdiction", "as_of", "residence", "programs", "household", "emergency"})
_HOUSEHOLD = frozenset(
    {"members", "income", "deductions", "assets", "rigid_expenditure_12m", "current_benefit"}
)
_MEMBER = frozenset(
    {
        "id",
        "relation",
        "birth_date",
        "id_number",
        "name",
        "disability",
        "serious_illness",
        "employed",
        "schooling",
        "self_care_failed_items",
        "has_capable_supporter",
        "excluded",
    }
)
_ITEM = frozenset({"member", "type", "monthly"})
_ASSETS = frozenset({"financial", "vehicles", "houses", "commercial_property", "business_capital"})
_RIGID = frozenset({"medical", "education", "rehabilitation", "other"})
_BENEFIT = frozenset(
    {"program", "monthly_amount", "since", "exit_started", "income_rise_from_employment"}
)
_EMERGENCY = frozenset({"kind", "cause", "occurred_on", "assessed_need", "already_assisted"})
_RESIDENCES = frozenset(layout.RESIDENCES)
_PROGRAMS = frozenset(layout.PROGRAMS)
_RELATIONS = frozenset(layout.RELATIONS)
_CATEGORIES = frozenset(layout.DISABILITY_CATEGORIES)
_SCHOOLING = frozenset(layout.SCHOOLING)
_EXCLUSIONS = frozenset(layout.EXCLUSIONS)
_INCOME = frozenset(layout.INCOME_TYPES)
_DEDUCTIONS = frozenset(layout.DEDUCTION_TYPES)
_VEHICLES = frozenset(layout.VEHICLE_KINDS)
_KINDS = frozenset(layout.EMERGENCY_KINDS)
_CAUSES = frozenset(layout.EMERGENCY_CAUSES)


class _NotCanonical(Exception):
    pass


def _fail() -> Any:
    raise _NotCanonical


def _obj(value: Any, keys: frozenset[str]) -> dict[str, Any]:
    if type(value) is not dict or not keys.issuperset(value):
        _fail()
    return value


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    if type(value) is str and _MONEY.fullmatch(value):
        return Decimal(value)
    if type(value) is int and 0 <= value < 10**13:
        return Decimal(value)
    return _fail()


def _quantity(value: Any) -> Decimal | None:
    if value is None:
        return None
    if type(value) is str and _QUANTITY.fullmatch(value):
        return Decimal(value)
    if type(value) is int and 0 <= value < 10**9:
        return Decimal(value)
    return _fail()


def _date(value: Any, optional: bool = True) -> date | None:
    if value is None and optional:
        return None
    if type(value) is str and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return _fail()


def _enum(value: Any, allowed: frozenset[str], optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if type(value) is str and value in allowed:
        return value
    return _fail()


def _bool(value: Any, optional: bool = True) -> bool | None:
    if value is None and optional:
        return None
    if type(value) is bool:
        return value
    return _fail()


def _items(value: Any, types: frozenset[str]) -> list[dict[str, Any]]:
    if type(value) is not list:
        _fail()
    out = []
    for item in value:
        item = _obj(item, _ITEM)
        member = item.get("member")
        if type(member) is not str or "monthly" not in item:
            _fail()
        monthly = _money(item["monthly"])
        if monthly is None:
            _fail()
        out.append(
            {"member": member, "type": _enum(item.get("type"), types, False), "monthly": monthly}
        )
    return out


def flat_row(data: Any, household_id: str | None = None) -> dict[str, Any] | None:
    """The flat row of a canonical request, or None (then validate it with the contract)."""
    try:
        return _row(data, household_id)
    except _NotCanonical:
        return None


def _row(data: Any, household_id: str | None) -> dict[str, Any]:
    request = _obj(data, _REQUEST)
    jurisdiction = request.get("jurisdiction")
    if type(jurisdiction) is not str or not 1 <= len(jurisdiction) <= 64:
        _fail()
    as_of = _date(request["as_of"], False) if "as_of" in request else None
    programs = request.get("programs")
    if programs is not None:
        if type(programs) is not list:
            _fail()
        programs = [_enum(p, _PROGRAMS, False) for p in programs]
    household = _obj(request.get("household"), _HOUSEHOLD)
    members = household.get("members")
    if type(members) is not list or not 1 <= len(members) <= 50:
        _fail()
    row: dict[str, Any] = dict.fromkeys(layout.COLUMNS)
    row.update(
        id=household_id,
        jurisdiction=jurisdiction,
        as_of=as_of,
        residence=_enum(request.get("residence"), _RESIDENCES),
        programs=programs,
    )
    out = []
    for m in members:
        m = _obj(m, _MEMBER)
        member_id = m.get("id")
        if type(member_id) is not str or not 1 <= len(member_id) <= 64:
            _fail()
        if m.get("id_number") is not None:
            _fail()  # the check digit and birth date are the contract's to verify
        name = m.get("name")
        if name is not None and (type(name) is not str or len(name) > 100):
            _fail()
        disability = m.get("disability")
        category = grade = None
        if disability is not None:
            disability = _obj(disability, frozenset({"category", "grade"}))
            category = _enum(disability.get("category"), _CATEGORIES, False)
            grade = disability.get("grade")
            if type(grade) is not int or not 1 <= grade <= 4:
                _fail()
        care = m.get("self_care_failed_items")
        if care is not None and (type(care) is not int or not 0 <= care <= 6):
            _fail()
        out.append(
            {
                "id": member_id,
                "relation": _enum(m.get("relation"), _RELATIONS, False),
                "birth_date": _date(m.get("birth_date"), False),
                "disability_category": category,
                "disability_grade": grade,
                "serious_illness": _bool(m["serious_illness"], False)
                if "serious_illness" in m
                else None,
                "employed": _bool(m["employed"], False) if "employed" in m else None,
                "schooling": _enum(m["schooling"], _SCHOOLING, False) if "schooling" in m else None,
                "self_care_failed_items": care,
                "has_capable_supporter": _bool(m.get("has_capable_supporter")),
                "excluded": _enum(m.get("excluded"), _EXCLUSIONS),
            }
        )
    row["members"] = out
    income = household.get("income")
    row["income"] = None if income is None else _items(income, _INCOME)
    if "deductions" in household:
        row["deductions"] = _items(household["deductions"], _DEDUCTIONS)
    assets = household.get("assets")
    if assets is not None:
        assets = _obj(assets, _ASSETS)
        row["assets_financial"] = _money(assets.get("financial"))
        vehicles = assets.get("vehicles")
        if vehicles is not None:
            if type(vehicles) is not list:
                _fail()
            vehicles = [
                _enum(_obj(v, frozenset({"kind"})).get("kind"), _VEHICLES, False) for v in vehicles
            ]
        row["assets_vehicles"] = vehicles
        houses = assets.get("houses")
        if houses is not None:
            if type(houses) is not list:
                _fail()
            houses = [
                {
                    "area_m2": _quantity(h.get("area_m2")),
                    "dilapidated": _bool(h.get("dilapidated")),
                }
                for h in (_obj(x, frozenset({"area_m2", "dilapidated"})) for x in houses)
            ]
        row["assets_houses"] = houses
        row["assets_commercial_property"] = _bool(assets.get("commercial_property"))
        row["assets_business_capital"] = _money(assets.get("business_capital"))
    rigid = household.get("rigid_expenditure_12m")
    if rigid is not None:
        rigid = _obj(rigid, _RIGID)
        for column, key in layout.RIGID_COLUMNS.items():
            row[column] = _money(rigid.get(key))
    benefit = household.get("current_benefit")
    if benefit is not None:
        benefit = _obj(benefit, _BENEFIT)
        row["benefit_program"] = _enum(
            benefit.get("program"), frozenset(layout.BENEFIT_PROGRAMS), False
        )
        row["benefit_monthly_amount"] = _money(benefit.get("monthly_amount"))
        row["benefit_since"] = _date(benefit.get("since"))
        row["benefit_exit_started"] = _date(benefit.get("exit_started"))
        row["benefit_income_rise_from_employment"] = _bool(
            benefit.get("income_rise_from_employment")
        )
    emergency = request.get("emergency")
    if emergency is not None:
        emergency = _obj(emergency, _EMERGENCY)
        row["emergency_kind"] = _enum(emergency.get("kind"), _KINDS, False)
        row["emergency_cause"] = _enum(emergency.get("cause"), _CAUSES)
        row["emergency_occurred_on"] = _date(emergency.get("occurred_on"))
        row["emergency_assessed_need"] = _money(emergency.get("assessed_need"))
        row["emergency_already_assisted"] = _bool(emergency.get("already_assisted"))
    return row
