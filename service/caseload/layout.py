"""The flat column layout of a caseload file, and the layout of a results file.

One row per household. The household's facts are the contract request's (``shared`` contract,
``service/contract/request.py``), flattened:

======================================  ================================  ========================
column                                  Parquet type                      contract field
======================================  ================================  ========================
``id``                                  string                            (caseload) household id
``jurisdiction``, ``as_of``             string, date32                    ``jurisdiction``,
                                                                          ``as_of`` (null: the
                                                                          run's default applies)
``residence``                           string                            ``residence``
``programs``                            list<string>                      ``programs``
``members``                             list<struct>  (see below)         ``household.members``
``income``                              list<struct<member, type,         ``household.income``
                                        monthly>>                         (null: unknown)
``deductions``                          same as income                    ``household.deductions``
``assets_financial``                    decimal128(15, 2)                 ``assets.financial``
``assets_vehicles``                     list<string> (kinds)              ``assets.vehicles``
``assets_houses``                       list<struct<area_m2               ``assets.houses``
                                        decimal128(13, 4), dilapidated
                                        bool>>
``assets_commercial_property``          bool                              ``assets.commercial_property``
``assets_business_capital``             decimal128(15, 2)                 ``assets.business_capital``
``rigid_medical`` … ``rigid_other``     decimal128(15, 2)                 ``rigid_expenditure_12m.*``
``benefit_program`` …                   string, decimal, date32, date32,  ``current_benefit.*``
``benefit_income_rise_from_employment`` bool
``emergency_kind`` …                    string, string, date32, decimal,  ``emergency.*``
``emergency_already_assisted``          bool
======================================  ================================  ========================

A member is ``struct<id, relation, birth_date date32, disability_category, disability_grade
int16, serious_illness bool, employed bool, schooling, self_care_failed_items int16,
has_capable_supporter bool, excluded>``. A null cell is an omitted fact (so the contract's default
applies, or the rule that needs it says ``insufficient_data``). A group whose every column is null
(all ``assets_*``, all ``rigid_*``, all ``benefit_*``, all ``emergency_*``) is the omitted object.
Only ``members`` is required; a missing column is all null; an unknown column refuses the file.

In CSV the same columns are used; list columns (``programs``, ``members``, ``income``,
``deductions``, ``assets_vehicles``, ``assets_houses``) hold JSON text, money is decimal text,
dates are ISO ``YYYY-MM-DD``, booleans ``true``/``false``, and an empty cell is null.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

from service.contract import request as contract

PROGRAMS: tuple[str, ...] = tuple(contract.PROGRAM_IDS)
RESIDENCES: tuple[str, ...] = get_args(contract.Residence)
RELATIONS: tuple[str, ...] = get_args(contract.Relation)
DISABILITY_CATEGORIES: tuple[str, ...] = get_args(contract.DisabilityCategory)
SCHOOLING: tuple[str, ...] = get_args(contract.Schooling)
EXCLUSIONS: tuple[str, ...] = get_args(contract.Exclusion)
INCOME_TYPES: tuple[str, ...] = get_args(contract.IncomeType)
DEDUCTION_TYPES: tuple[str, ...] = get_args(contract.DeductionType)
VEHICLE_KINDS: tuple[str, ...] = get_args(contract.VehicleKind)
EMERGENCY_KINDS: tuple[str, ...] = get_args(contract.EmergencyKind)
EMERGENCY_CAUSES: tuple[str, ...] = get_args(contract.EmergencyCause)
BENEFIT_PROGRAMS: tuple[str, ...] = ("dibao", "tekun")

MEMBER_FIELDS = (
    "id",
    "relation",
    "birth_date",
    "disability_category",
    "disability_grade",
    "serious_illness",
    "employed",
    "schooling",
    "self_care_failed_items",
    "has_capable_supporter",
    "excluded",
)
ASSET_COLUMNS = {
    "assets_financial": "financial",
    "assets_vehicles": "vehicles",
    "assets_houses": "houses",
    "assets_commercial_property": "commercial_property",
    "assets_business_capital": "business_capital",
}
RIGID_COLUMNS = {
    "rigid_medical": "medical",
    "rigid_education": "education",
    "rigid_rehabilitation": "rehabilitation",
    "rigid_other": "other",
}
BENEFIT_COLUMNS = {
    "benefit_program": "program",
    "benefit_monthly_amount": "monthly_amount",
    "benefit_since": "since",
    "benefit_exit_started": "exit_started",
    "benefit_income_rise_from_employment": "income_rise_from_employment",
}
EMERGENCY_COLUMNS = {
    "emergency_kind": "kind",
    "emergency_cause": "cause",
    "emergency_occurred_on": "occurred_on",
    "emergency_assessed_need": "assessed_need",
    "emergency_already_assisted": "already_assisted",
}
GROUPS = (
    ("assets", ASSET_COLUMNS),
    ("rigid_expenditure_12m", RIGID_COLUMNS),
    ("current_benefit", BENEFIT_COLUMNS),
    ("emergency", EMERGENCY_COLUMNS),
)
COLUMNS: tuple[str, ...] = (
    "id",
    "jurisdiction",
    "as_of",
    "residence",
    "programs",
    "members",
    "income",
    "deductions",
    *ASSET_COLUMNS,
    *RIGID_COLUMNS,
    *BENEFIT_COLUMNS,
    *EMERGENCY_COLUMNS,
)
LIST_COLUMNS = frozenset(
    {"programs", "members", "income", "deductions", "assets_vehicles", "assets_houses"}
)
MONEY_COLUMNS = frozenset(
    {
        "assets_financial",
        "assets_business_capital",
        *RIGID_COLUMNS,
        "benefit_monthly_amount",
        "emergency_assessed_need",
    }
)
DATE_COLUMNS = frozenset(
    {"as_of", "benefit_since", "benefit_exit_started", "emergency_occurred_on"}
)
BOOL_COLUMNS = frozenset(
    {
        "assets_commercial_property",
        "benefit_income_rise_from_employment",
        "emergency_already_assisted",
    }
)

RESULT_STATUS_COLUMNS = (
    "tekun_status",
    "dibao_status",
    "marginal_status",
    "rigid_expenditure_status",
    "temporary_status",
)
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


def arrow_schema() -> Any:
    import pyarrow as pa

    money = pa.decimal128(15, 2)
    member = pa.struct(
        [
            ("id", pa.string()),
            ("relation", pa.string()),
            ("birth_date", pa.date32()),
            ("disability_category", pa.string()),
            ("disability_grade", pa.int16()),
            ("serious_illness", pa.bool_()),
            ("employed", pa.bool_()),
            ("schooling", pa.string()),
            ("self_care_failed_items", pa.int16()),
            ("has_capable_supporter", pa.bool_()),
            ("excluded", pa.string()),
        ]
    )
    item = pa.struct([("member", pa.string()), ("type", pa.string()), ("monthly", money)])
    house = pa.struct([("area_m2", pa.decimal128(13, 4)), ("dilapidated", pa.bool_())])
    return pa.schema(
        [
            ("id", pa.string()),
            ("jurisdiction", pa.string()),
            ("as_of", pa.date32()),
            ("residence", pa.string()),
            ("programs", pa.list_(pa.string())),
            ("members", pa.list_(member)),
            ("income", pa.list_(item)),
            ("deductions", pa.list_(item)),
            ("assets_financial", money),
            ("assets_vehicles", pa.list_(pa.string())),
            ("assets_houses", pa.list_(house)),
            ("assets_commercial_property", pa.bool_()),
            ("assets_business_capital", money),
            ("rigid_medical", money),
            ("rigid_education", money),
            ("rigid_rehabilitation", money),
            ("rigid_other", money),
            ("benefit_program", pa.string()),
            ("benefit_monthly_amount", money),
            ("benefit_since", pa.date32()),
            ("benefit_exit_started", pa.date32()),
            ("benefit_income_rise_from_employment", pa.bool_()),
            ("emergency_kind", pa.string()),
            ("emergency_cause", pa.string()),
            ("emergency_occurred_on", pa.date32()),
            ("emergency_assessed_need", money),
            ("emergency_already_assisted", pa.bool_()),
        ]
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


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def request_to_row(request: dict[str, Any], household_id: str | None = None) -> dict[str, Any]:
    """A contract request (a JSON-like dict, already valid) → one flat row (Python values)."""
    household = request["household"]
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row["id"] = household_id
    row["jurisdiction"] = request.get("jurisdiction")
    row["as_of"] = _day(request.get("as_of"))
    row["residence"] = request.get("residence")
    row["programs"] = request.get("programs")
    members = []
    for m in household["members"]:
        disability = m.get("disability")
        members.append(
            {
                "id": m["id"],
                "relation": m["relation"],
                "birth_date": _day(m["birth_date"]),
                "disability_category": disability["category"] if disability else None,
                "disability_grade": disability["grade"] if disability else None,
                "serious_illness": m.get("serious_illness"),
                "employed": m.get("employed"),
                "schooling": m.get("schooling"),
                "self_care_failed_items": m.get("self_care_failed_items"),
                "has_capable_supporter": m.get("has_capable_supporter"),
                "excluded": m.get("excluded"),
            }
        )
    row["members"] = members
    for name in ("income", "deductions"):
        items = household.get(name)
        row[name] = (
            None
            if items is None
            else [
                {"member": i["member"], "type": i["type"], "monthly": _dec(i["monthly"])}
                for i in items
            ]
        )
    assets = household.get("assets")
    if assets is not None:
        row["assets_financial"] = _dec(assets.get("financial"))
        vehicles = assets.get("vehicles")
        row["assets_vehicles"] = None if vehicles is None else [v["kind"] for v in vehicles]
        houses = assets.get("houses")
        row["assets_houses"] = (
            None
            if houses is None
            else [
                {"area_m2": _dec(h.get("area_m2")), "dilapidated": h.get("dilapidated")}
                for h in houses
            ]
        )
        row["assets_commercial_property"] = assets.get("commercial_property")
        row["assets_business_capital"] = _dec(assets.get("business_capital"))
    rigid = household.get("rigid_expenditure_12m")
    if rigid is not None:
        for column, key in RIGID_COLUMNS.items():
            row[column] = _dec(rigid.get(key))
    benefit = household.get("current_benefit")
    if benefit is not None:
        row["benefit_program"] = benefit.get("program")
        row["benefit_monthly_amount"] = _dec(benefit.get("monthly_amount"))
        row["benefit_since"] = _day(benefit.get("since"))
        row["benefit_exit_started"] = _day(benefit.get("exit_started"))
        row["benefit_income_rise_from_employment"] = benefit.get("income_rise_from_employment")
    emergency = request.get("emergency")
    if emergency is not None:
        row["emergency_kind"] = emergency.get("kind")
        row["emergency_cause"] = emergency.get("cause")
        row["emergency_occurred_on"] = _day(emergency.get("occurred_on"))
        row["emergency_assessed_need"] = _dec(emergency.get("assessed_need"))
        row["emergency_already_assisted"] = emergency.get("already_assisted")
    return row


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _present(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in mapping.items() if v is not None}


def row_to_request(
    row: dict[str, Any], jurisdiction: str | None = None, as_of: date | None = None
) -> dict[str, Any]:
    """A flat row → a contract request dict (to be validated). Null cells are omitted facts."""
    members = []
    for m in row.get("members") or []:
        if m is None:
            members.append(None)
            continue
        out = _present({k: m.get(k) for k in MEMBER_FIELDS if not k.startswith("disability")})
        category, grade = m.get("disability_category"), m.get("disability_grade")
        if category is not None or grade is not None:
            out["disability"] = _present({"category": category, "grade": grade})
        members.append(out)
    household: dict[str, Any] = {"members": members}
    for name in ("income", "deductions"):
        items = row.get(name)
        if items is not None:
            household[name] = [None if i is None else _present(i) for i in items]
    for key, columns in GROUPS:
        if key == "emergency":
            continue  # a field of the request, not of the household
        values = {field: row.get(column) for column, field in columns.items()}
        if all(v is None for v in values.values()):
            continue
        if key == "assets":
            vehicles = values["vehicles"]
            if vehicles is not None:
                values["vehicles"] = [{"kind": k} if k is not None else None for k in vehicles]
            houses = values["houses"]
            if houses is not None:
                values["houses"] = [None if h is None else _present(h) for h in houses]
        household[key] = _present(values)
    request: dict[str, Any] = {
        "jurisdiction": jurisdiction or row.get("jurisdiction"),
        "as_of": _json_value(as_of or row.get("as_of")),
        "household": household,
    }
    if request["as_of"] is None:
        del request["as_of"]
    if row.get("residence") is not None:
        request["residence"] = row["residence"]
    if row.get("programs") is not None:
        request["programs"] = row["programs"]
    emergency = {f: row.get(c) for c, f in EMERGENCY_COLUMNS.items()}
    if any(v is not None for v in emergency.values()):
        request["emergency"] = _present(emergency)
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
        else:
            row[column] = text
    return row
