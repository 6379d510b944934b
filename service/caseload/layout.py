"""The flat column layout of a caseload file, and the layout of a results file.

One row per household. The household's facts are the contract request's
(``service/contract/request.py``), flattened by rules applied to the models' fields (``shape``),
so a fact added to the contract gets its column without being listed here:

- the first column is ``id``, the caseload's household id; then the request's fields in the
  models' order;
- an object field is spread over the row, its fields' columns prefixed with its name and ``_``
  (``assets_financial``, ``emergency_kind``); ``household`` has no prefix, and two groups keep the
  shorter prefixes of the published layout: ``rigid_expenditure_12m`` → ``rigid_``,
  ``current_benefit`` → ``benefit_``. An object whose columns are all null is the omitted object;
- a list field is one list column; an object item is a struct built by the same rules (a
  member's ``disability`` → ``disability_category``, ``disability_grade``), and an item with a
  single field is that field's value (``assets_vehicles``: a list of kinds);
- personal data (a member's ``name`` and ``id_number``) has no column;
- types: text and enum values are strings, dates ``date32``, booleans ``bool``, whole numbers
  ``int16``, money ``decimal128(15, 2)`` and floor areas ``decimal128(13, 4)`` (precision and
  scale read from the contract's decimal pattern).

Today this gives ``id, jurisdiction, as_of, residence, programs, members, income, deductions,
assets_financial, assets_vehicles, assets_houses, assets_commercial_property,
assets_business_capital, rigid_medical, rigid_education, rigid_rehabilitation, rigid_other,
benefit_program, benefit_monthly_amount, benefit_since, benefit_exit_started,
benefit_income_rise_from_employment, emergency_kind, emergency_cause, emergency_occurred_on,
emergency_assessed_need, emergency_already_assisted``, a member being ``struct<id, relation,
birth_date, disability_category, disability_grade, serious_illness, employed, schooling,
self_care_failed_items, has_capable_supporter, excluded>``, an income or deduction item
``struct<member, type, monthly>`` and a house ``struct<area_m2, dilapidated>``.

A null cell is an omitted fact (so the contract's default applies, or the rule that needs it
says ``insufficient_data``). Only ``members`` is required; a missing column is all null; an
unknown column refuses the file.

In CSV the same columns are used; list columns hold JSON text, money is decimal text, dates are
ISO ``YYYY-MM-DD``, booleans ``true``/``false``, and an empty cell is null.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

from service.caseload.shape import REQUEST, Fact
from service.contract import request as contract
from service.engine.programs import arrays

PERSONAL = frozenset({"id_number", "name"})
"""Personal data: never in a caseload file (the layout has no column for it)."""
PREFIXES = {"household": "", "rigid_expenditure_12m": "rigid_", "current_benefit": "benefit_"}
"""Column prefixes of spread objects other than ``name_`` (fixed by the published layout)."""


def prefix_of(name: str) -> str:
    return PREFIXES.get(name, name + "_")


@dataclass(frozen=True)
class Column:
    """A column of the flat layout (or a field of a list's struct): its contract fact."""

    name: str
    path: tuple[str, ...]  # the contract fields from the request (or the list item) down
    fact: Fact


def flatten(shape: Fact, prefix: str = "", path: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """The columns of an object: its fields, objects spread, personal data left out."""
    out: list[Column] = []
    for fact in shape.fields:
        if fact.name in PERSONAL:
            continue
        if fact.kind == "object":
            out += flatten(fact, prefix + prefix_of(fact.name), (*path, fact.name))
        else:
            out.append(Column(prefix + fact.name, (*path, fact.name), fact))
    return tuple(out)


def single_field(fact: Fact) -> Fact | None:
    """The only field of a list's object item (the list is then a list of its values)."""
    item = fact.item
    if item is not None and item.kind == "object" and len(item.fields) == 1:
        return item.fields[0]
    return None


FACT_COLUMNS: tuple[Column, ...] = flatten(REQUEST)
COLUMNS: tuple[str, ...] = ("id", *(entry.name for entry in FACT_COLUMNS))
_BY_NAME = {entry.name: entry for entry in FACT_COLUMNS}


def column(name: str) -> Column:
    return _BY_NAME[name]


def _spread_object(name: str) -> Fact:
    for parent in (REQUEST, REQUEST.field("household")):
        for fact in parent.fields:
            if fact.name == name and fact.kind == "object":
                return fact
    raise KeyError(name)


def _group(name: str) -> dict[str, str]:
    """column → field of an object spread over the row (``assets_financial`` → ``financial``)."""
    return {prefix_of(name) + field_.name: field_.name for field_ in _spread_object(name).fields}


ASSET_COLUMNS = _group("assets")
RIGID_COLUMNS = _group("rigid_expenditure_12m")
BENEFIT_COLUMNS = _group("current_benefit")
EMERGENCY_COLUMNS = _group("emergency")

# The contract's vocabularies; those a batch codes as a place are listed by the batch forms.
PROGRAMS = arrays.PROGRAMS
RESIDENCES = arrays.RESIDENCES
RELATIONS: tuple[str, ...] = get_args(contract.Relation)
DISABILITY_CATEGORIES = arrays.DISABILITY_CATEGORIES
SCHOOLING = arrays.SCHOOLING
EXCLUSIONS: tuple[str, ...] = get_args(contract.Exclusion)
INCOME_TYPES = arrays.INCOME_TYPES
DEDUCTION_TYPES = arrays.DEDUCTION_TYPES
VEHICLE_KINDS = arrays.VEHICLE_KINDS
EMERGENCY_KINDS = arrays.EMERGENCY_KINDS
EMERGENCY_CAUSES = arrays.EMERGENCY_CAUSES
BENEFIT_PROGRAMS = arrays.BENEFIT_PROGRAMS

LIST_COLUMNS = frozenset(entry.name for entry in FACT_COLUMNS if entry.fact.kind == "list")
MONEY_COLUMNS = frozenset(entry.name for entry in FACT_COLUMNS if entry.fact.kind == "decimal")
DATE_COLUMNS = frozenset(entry.name for entry in FACT_COLUMNS if entry.fact.kind == "date")
BOOL_COLUMNS = frozenset(entry.name for entry in FACT_COLUMNS if entry.fact.kind == "flag")
WHOLE_COLUMNS = frozenset(entry.name for entry in FACT_COLUMNS if entry.fact.kind == "whole")

# Which household, and under which rules it was decided: the jurisdiction and date actually used
# (the record's own, or the run's default or forced value) and the bundle resolved for them.
RESULT_KEY_COLUMNS = ("line", "id", "jurisdiction", "as_of", "bundle_version", "bundle_sha256")
# The decision fields, in the order the vectorised path and the reference path code them.
RESULT_DECISION_COLUMNS = (
    "tekun_status",
    "tekun_members",
    "tekun_amount",
    "dibao_status",
    "dibao_basis",
    "dibao_members",
    "dibao_amount",
    "marginal_status",
    "rigid_expenditure_status",
    "temporary_status",
    "temporary_amount",
    "per_capita_income",
    "standard",
)
RESULT_COLUMNS = (*RESULT_KEY_COLUMNS, *RESULT_DECISION_COLUMNS)
"""One result row per household. Amounts are yuan a month (``temporary_amount``: one-off), null
when the program gives none; ``*_members`` counts the members a program covers;
``per_capita_income`` and ``standard`` are those of the 低保 test (the household after 特困
members leave)."""
RESULT_MONEY_COLUMNS = (
    "tekun_amount",
    "dibao_amount",
    "temporary_amount",
    "per_capita_income",
    "standard",
)


def _arrow(fact: Fact) -> Any:
    import pyarrow as pa

    if fact.kind in ("string", "enum"):
        return pa.string()
    if fact.kind == "date":
        return pa.date32()
    if fact.kind == "flag":
        return pa.bool_()
    if fact.kind == "whole":
        return pa.int16()
    if fact.kind == "decimal":
        return pa.decimal128(fact.digits + fact.places, fact.places)
    if fact.kind == "list":
        assert fact.item is not None
        only = single_field(fact)
        if only is not None:
            return pa.list_(_arrow(only))
        if fact.item.kind == "object":
            return pa.list_(
                pa.struct([(entry.name, _arrow(entry.fact)) for entry in flatten(fact.item)])
            )
        return pa.list_(_arrow(fact.item))
    raise TypeError(f"no Arrow type for {fact.kind}")


def arrow_schema(shape: Fact = REQUEST) -> Any:
    """The Arrow schema of a caseload file (of the contract's request, or another shape)."""
    import pyarrow as pa

    return pa.schema(
        [("id", pa.string()), *((entry.name, _arrow(entry.fact)) for entry in flatten(shape))]
    )


def result_schema() -> Any:
    import pyarrow as pa

    money = pa.decimal128(15, 2)
    status = pa.dictionary(pa.int8(), pa.string())
    return pa.schema(
        [
            ("line", pa.int64()),
            ("id", pa.string()),
            ("jurisdiction", pa.dictionary(pa.int32(), pa.string())),
            ("as_of", pa.date32()),
            ("bundle_version", pa.date32()),
            ("bundle_sha256", pa.dictionary(pa.int32(), pa.string())),
            ("tekun_status", status),
            ("tekun_members", pa.int16()),
            ("tekun_amount", money),
            ("dibao_status", status),
            ("dibao_basis", status),
            ("dibao_members", pa.int16()),
            ("dibao_amount", money),
            ("marginal_status", status),
            ("rigid_expenditure_status", status),
            ("temporary_status", status),
            ("temporary_amount", money),
            ("per_capita_income", money),
            ("standard", money),
        ]
    )


# --- request (contract dict) <-> flat row ----------------------------------------------------


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _same(value: Any) -> Any:
    return value


Cell = Callable[[Any], Any]


def _to_cell(fact: Fact) -> Cell:
    """A contract value (not null) → its cell value."""
    if fact.kind == "decimal":
        return _dec
    if fact.kind == "date":
        return _day
    if fact.kind != "list":
        return _same
    assert fact.item is not None
    only = single_field(fact)
    if only is not None:
        key, inner = only.name, _to_cell(only)
        return lambda items: [
            None if (v := i.get(key)) is None else inner(v) for i in items
        ]  # vehicles → kinds
    if fact.item.kind == "object":
        spread = spreader(fact.item, "")
        keys = tuple(entry.name for entry in flatten(fact.item))

        def structs(items: list[Any]) -> list[Any]:
            out = []
            for item in items:
                cells = dict.fromkeys(keys)
                spread(item, cells)
                out.append(cells)
            return out

        return structs
    inner = _to_cell(fact.item)
    return lambda items: [None if v is None else inner(v) for v in items]


def spreader(shape: Fact, prefix: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """Writes an object's facts into a flat row (the row holds every column, null)."""
    steps: list[tuple[str, str | None, Any]] = []
    for fact in shape.fields:
        if fact.name in PERSONAL:
            continue
        if fact.kind == "object":
            steps.append((fact.name, None, spreader(fact, prefix + prefix_of(fact.name))))
        else:
            steps.append((fact.name, prefix + fact.name, _to_cell(fact)))

    def spread(data: dict[str, Any], row: dict[str, Any]) -> None:
        for key, name, convert in steps:
            value = data.get(key)
            if value is None:
                continue
            if name is None:
                convert(value, row)
            else:
                row[name] = convert(value)

    return spread


_SPREAD_REQUEST = spreader(REQUEST, "")


def request_to_row(request: dict[str, Any], household_id: str | None = None) -> dict[str, Any]:
    """A contract request (a JSON-like dict, already valid) → one flat row (Python values)."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    _SPREAD_REQUEST(request, row)
    row["id"] = household_id
    return row


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_cell(fact: Fact) -> Cell:
    """A cell value (not null) → its contract value (JSON-like)."""
    if fact.kind != "list":
        return _json_value
    assert fact.item is not None
    only = single_field(fact)
    if only is not None:
        key = only.name
        inner = _from_cell(only)
        return lambda values: [None if v is None else {key: inner(v)} for v in values]
    if fact.item.kind == "object":
        gather = gatherer(fact.item, "")
        return lambda values: [None if v is None else gather(v) for v in values]
    inner = _from_cell(fact.item)
    return lambda values: [None if v is None else inner(v) for v in values]


def gatherer(shape: Fact, prefix: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Reads an object's facts back from a flat row; null cells are left out (omitted facts),
    and a nested object whose cells are all null is left out."""
    steps: list[tuple[str, str | None, Any]] = []
    for fact in shape.fields:
        if fact.name in PERSONAL:
            continue
        if fact.kind == "object":
            steps.append((fact.name, None, gatherer(fact, prefix + prefix_of(fact.name))))
        else:
            steps.append((fact.name, prefix + fact.name, _from_cell(fact)))

    def gather(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, name, convert in steps:
            if name is None:
                value = convert(row)
                if value:
                    out[key] = value
            else:
                value = row.get(name)
                if value is not None:
                    out[key] = convert(value)
        return out

    return gather


_GATHER_REQUEST = gatherer(REQUEST, "")


def row_to_request(
    row: dict[str, Any], jurisdiction: str | None = None, as_of: date | None = None
) -> dict[str, Any]:
    """A flat row → a contract request dict (to be validated). Null cells are omitted facts.

    ``jurisdiction`` and ``as_of`` (the run's) replace the row's own when given; the request
    always names a jurisdiction (null if none) and a household with its list of members (empty
    if none), so that the contract's problem says what is wrong with them."""
    request = _GATHER_REQUEST(row)
    request["jurisdiction"] = jurisdiction or row.get("jurisdiction")
    if as_of is not None:
        request["as_of"] = as_of.isoformat()
    household = request.setdefault("household", {})
    household.setdefault("members", [])
    return request


# --- CSV cells -------------------------------------------------------------------------------


class CellError(ValueError):
    """A malformed CSV cell: the column, and what is wrong in Chinese and English."""

    def __init__(self, column: str, zh: str, en: str):
        self.column = column
        self.zh = zh
        self.en = en
        super().__init__(f"{column}: {en}")


def row_to_csv(row: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for column in COLUMNS:
        value = row.get(column)
        if value is None:
            out[column] = ""
        elif column in LIST_COLUMNS:
            out[column] = json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"))
        elif isinstance(value, bool):
            out[column] = "true" if value else "false"
        else:
            out[column] = str(_json_value(value))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None}
    return _json_value(value)


def csv_to_row(record: dict[str, str | None]) -> dict[str, Any]:
    """One CSV record → a flat row; raises CellError naming the column of a malformed cell."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    for column, text in record.items():
        if column not in row:
            raise CellError(column, "未知的列", "unknown column")
        if text is None or text == "":
            continue
        if column in LIST_COLUMNS:
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise CellError(
                    column,
                    f"不是有效的 JSON（第 {error.colno} 个字符处）",
                    f"not valid JSON ({error.msg} at character {error.colno})",
                ) from None
            if not isinstance(value, list):
                raise CellError(column, "应为 JSON 列表", "must be a JSON list")
            row[column] = value
        elif column in BOOL_COLUMNS:
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise CellError(column, "应为 true 或 false", "must be true or false")
            row[column] = lowered == "true"
        elif column in MONEY_COLUMNS:
            try:
                row[column] = Decimal(text.strip())
            except InvalidOperation:
                raise CellError(column, "应为十进制金额", "must be a decimal amount") from None
        elif column in DATE_COLUMNS:
            try:
                row[column] = date.fromisoformat(text.strip())
            except ValueError:
                raise CellError(
                    column, "应为日期 YYYY-MM-DD", "must be a date YYYY-MM-DD"
                ) from None
        elif column in WHOLE_COLUMNS:
            try:
                row[column] = int(text.strip())
            except ValueError:
                raise CellError(column, "应为整数", "must be a whole number") from None
        else:
            row[column] = text
    return row
