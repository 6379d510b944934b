"""The intake form and the contract's request, both ways.

Every form field is named by its contract path (``household.members[0].birth_date``) and its
element id is that path with ``.``, ``[`` and ``]`` turned into ``-``
(``household-members-0-birth_date``), so a 422 of the contract, which names the path, lands next
to its field, and a missing fact links to it. :func:`to_contract` builds the request from the
posted fields (a blank field is an unknown fact: left out, never a zero), :func:`flatten` the
fields from a request (loading a saved household), :func:`build_form` what the page shows.

Three kinds of list can be unknown (left out) or known to be empty; a checkbox says "none"
(``none:household.income``): income, vehicles and houses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from service.api.privacy import mask_id_number
from service.console.text import Lang, code_name
from service.contract.request import PROGRAM_IDS

NONE_PREFIX = "none:"
PROGRAM_PREFIX = "programs:"
INDEX_TOKEN = "__i__"  # the index of the blank item the script copies when adding one

_SEPARATORS = re.compile(r"[\[\]\.:]+")
_WHOLE = re.compile(r"[0-9]{1,6}")


def field_id(path: str) -> str:
    """``household.members[0].birth_date`` → ``household-members-0-birth_date``."""
    return _SEPARATORS.sub("-", path).strip("-")


# --- what the form holds ---------------------------------------------------------------------
# (name inside its item, kind, vocabulary or None, required); kinds: text, date, money, quantity,
# whole (an integer), select (a code; blank = unknown unless required), check (true or absent),
# tristate (true / false / unknown), idnumber (text, masked on screen).

Spec = tuple[str, str, str | None, bool]

TOP: Final[tuple[Spec, ...]] = (
    ("jurisdiction", "jurisdiction", None, True),
    ("as_of", "date", None, True),
    ("residence", "select", "residence", False),
)
MEMBER: Final[tuple[Spec, ...]] = (
    ("id", "text", None, True),
    ("relation", "select", "relation", True),
    ("birth_date", "date", None, True),
    ("name", "text", None, False),
    ("id_number", "idnumber", None, False),
    ("disability.category", "select", "disability_category", False),
    ("disability.grade", "select", "grade", False),
    ("serious_illness", "check", None, False),
    ("employed", "check", None, False),
    ("schooling", "select", "schooling", True),
    ("self_care_failed_items", "whole", None, False),
    ("has_capable_supporter", "tristate", None, False),
    ("excluded", "select", "exclusion", False),
)
INCOME: Final[tuple[Spec, ...]] = (
    ("member", "member", None, True),
    ("type", "select", "income_type", True),
    ("monthly", "money", None, True),
)
DEDUCTION: Final[tuple[Spec, ...]] = (
    ("member", "member", None, True),
    ("type", "select", "deduction_type", True),
    ("monthly", "money", None, True),
)
VEHICLE: Final[tuple[Spec, ...]] = (("kind", "select", "vehicle_kind", True),)
HOUSE: Final[tuple[Spec, ...]] = (
    ("area_m2", "quantity", None, False),
    ("dilapidated", "tristate", None, False),
)
ASSETS: Final[tuple[Spec, ...]] = (
    ("financial", "money", None, False),
    ("commercial_property", "tristate", None, False),
    ("business_capital", "money", None, False),
)
RIGID: Final[tuple[Spec, ...]] = (
    ("medical", "money", None, False),
    ("education", "money", None, False),
    ("rehabilitation", "money", None, False),
    ("other", "money", None, False),
)
CURRENT: Final[tuple[Spec, ...]] = (
    ("program", "select", "benefit", False),
    ("monthly_amount", "money", None, False),
    ("since", "date", None, False),
    ("exit_started", "date", None, False),
    ("income_rise_from_employment", "tristate", None, False),
)
EMERGENCY: Final[tuple[Spec, ...]] = (
    ("kind", "select", "emergency_kind", False),
    ("cause", "select", "emergency_cause", False),
    ("occurred_on", "date", None, False),
    ("assessed_need", "money", None, False),
    ("already_assisted", "tristate", None, False),
)

# The repeated lists: path → (the fields of one item, whether "none" can be declared).
LISTS: Final[dict[str, tuple[tuple[Spec, ...], bool]]] = {
    "household.members": (MEMBER, False),
    "household.income": (INCOME, True),
    "household.deductions": (DEDUCTION, False),
    "household.assets.vehicles": (VEHICLE, True),
    "household.assets.houses": (HOUSE, True),
}
# The optional objects: path → their fields (left out when every field is blank).
OBJECTS: Final[dict[str, tuple[Spec, ...]]] = {
    "household.assets": ASSETS,
    "household.rigid_expenditure_12m": RIGID,
    "household.current_benefit": CURRENT,
    "emergency": EMERGENCY,
}

LABELS: Final[dict[str, tuple[str, str]]] = {
    "jurisdiction": ("辖区", "Jurisdiction"),
    "as_of": ("认定日期", "Decision date"),
    "residence": ("居住地", "Residence"),
    "programs": ("审核的救助项目", "Programs to decide"),
    "id": ("成员编号", "Member id"),
    "relation": ("与申请人关系", "Relation to the applicant"),
    "birth_date": ("出生日期", "Birth date"),
    "name": ("姓名", "Name"),
    "id_number": ("公民身份号码", "ID number"),
    "disability.category": ("残疾类别", "Disability category"),
    "disability.grade": ("残疾等级", "Disability grade"),
    "serious_illness": ("患重病", "Seriously ill"),
    "employed": ("就业", "Employed"),
    "schooling": ("在学情况", "Schooling"),
    "self_care_failed_items": (
        "生活自理能力评估未达标项数（0–6）",
        "Self-care items failed (0–6)",
    ),
    "has_capable_supporter": (
        "有具备履行能力的法定赡养、抚养、扶养义务人",
        "Has a legal supporter able to provide support",
    ),
    "excluded": ("排除情形", "Exclusion"),
    "member": ("成员编号", "Member id"),
    "type": ("类型", "Type"),
    "monthly": ("月金额（元）", "Monthly amount (yuan)"),
    "kind": ("种类", "Kind"),
    "area_m2": ("建筑面积（平方米）", "Floor area (m²)"),
    "dilapidated": ("危房", "Dilapidated"),
    "financial": ("金融资产（元）", "Financial assets (yuan)"),
    "commercial_property": ("有商业用房", "Owns commercial property"),
    "business_capital": ("市场主体认缴出资额（元）", "Business capital (yuan)"),
    "medical": ("医疗支出（元）", "Medical (yuan)"),
    "education": ("教育支出（元）", "Education (yuan)"),
    "rehabilitation": ("康复支出（元）", "Rehabilitation (yuan)"),
    "other": ("其他刚性支出（元）", "Other (yuan)"),
    "program": ("现享受的救助", "Current benefit"),
    "monthly_amount": ("现享受的月金额（元）", "Current monthly amount (yuan)"),
    "since": ("享受起始日期", "Receiving since"),
    "exit_started": ("渐退开始日期", "Gradual exit started"),
    "income_rise_from_employment": ("收入增加因就业", "Income rise comes from employment"),
    "emergency.kind": ("困难类型", "Kind of emergency"),
    "cause": ("困难原因", "Cause"),
    "occurred_on": ("发生日期", "Occurred on"),
    "assessed_need": ("评估的救助需求（元）", "Assessed need (yuan)"),
    "already_assisted": ("同一事由已获临时救助", "Already assisted for the same event"),
    "none:household.income": ("本户无任何收入（已核实）", "No income at all (checked)"),
    "none:household.assets.vehicles": ("无车辆（已核实）", "No vehicles (checked)"),
    "none:household.assets.houses": ("无住房（已核实）", "No homes (checked)"),
}

# vocabularies the engine's table does not name
_EXTRA_CHOICES: Final[dict[str, list[tuple[str, tuple[str, str]]]]] = {
    "grade": [(str(g), (f"{'一二三四'[g - 1]}级", f"grade {g}")) for g in (1, 2, 3, 4)],
    "benefit": [
        ("dibao", ("最低生活保障", "minimum living guarantee (低保)")),
        ("tekun", ("特困人员救助供养", "extreme-poverty support (特困)")),
    ],
}
_VOCABULARIES: Final[dict[str, tuple[str, ...]]] = {
    "residence": ("urban", "rural"),
    "relation": (
        "applicant",
        "spouse",
        "child",
        "parent",
        "grandparent",
        "grandchild",
        "sibling",
        "other",
    ),
    "disability_category": (
        "physical",
        "intellectual",
        "mental",
        "visual",
        "hearing",
        "speech",
        "multiple",
    ),
    "schooling": ("none", "compulsory", "high_school", "vocational", "undergraduate"),
    "exclusion": ("clergy_away_3y", "prison", "compulsory_rehab", "missing"),
    "income_type": (
        "wage",
        "business",
        "property",
        "transfer",
        "other",
        "special_care_pension",
        "family_planning_reward",
        "scholarship",
        "reward",
        "social_assistance",
        "basic_pension_base",
        "social_insurance",
        "old_age_allowance",
    ),
    "deduction_type": ("employment_cost", "disability_rigid", "illness_rigid"),
    "vehicle_kind": (
        "car",
        "truck",
        "motorcycle",
        "disability_vehicle",
        "large_farm_machinery",
        "ship",
        "construction_machinery",
    ),
    "emergency_kind": ("urgent", "expenditure"),
    "emergency_cause": (
        "fire",
        "traffic_accident",
        "sudden_illness",
        "disaster",
        "other_accident",
        "medical",
        "education",
        "other",
    ),
}


def choices(vocabulary: str, lang: Lang) -> list[tuple[str, str]]:
    """(code, shown name) of a vocabulary, in the contract's order."""
    if vocabulary in _EXTRA_CHOICES:
        return [(c, n[0] if lang == "zh" else n[1]) for c, n in _EXTRA_CHOICES[vocabulary]]
    return [(c, code_name(vocabulary, c, lang)) for c in _VOCABULARIES[vocabulary]]


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
    if kind == "whole" or (kind == "select" and _WHOLE.fullmatch(text)):
        return int(text) if _WHOLE.fullmatch(text) else text
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
        _flatten_object(item, f"{path}[{index}]", specs, out, unknown)


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


# --- what the page shows ------------------------------------------------------------------------


@dataclass
class Control:
    """One input of the form."""

    path: str
    label: str
    kind: str
    value: str = ""
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    masked: str = ""  # an ID number entered: its masked form (the number itself is not shown)

    @property
    def id(self) -> str:
        return field_id(self.path)


@dataclass
class Item:
    """One member or row of a list."""

    index: str
    ordinal: str
    controls: list[Control]


@dataclass
class ListGroup:
    path: str
    items: list[Item]
    blank: Item  # copied by the script to add an item
    none: Control | None
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return field_id(self.path)


@dataclass
class IntakeForm:
    top: list[Control]
    programs: list[Control]
    lists: dict[str, ListGroup]
    objects: dict[str, list[Control]]
    member_ids: list[str]
    group_errors: dict[str, list[str]] = field(default_factory=dict)

    def ids(self) -> set[str]:
        """Every element id a problem or a missing fact can point at."""
        found = {c.id for c in self.top} | {field_id("programs")}
        for group in self.lists.values():
            found.add(group.id)
            for item in group.items:
                found.add(field_id(f"{group.path}[{item.index}]"))
                found.update(c.id for c in item.controls)
        for path, controls in self.objects.items():
            found.add(field_id(path))
            found.update(c.id for c in controls)
        return found

    def controls(self) -> Iterable[Control]:
        yield from self.top
        yield from self.programs
        for group in self.lists.values():
            for item in group.items:
                yield from item.controls
            if group.none is not None:
                yield group.none
        for controls in self.objects.values():
            yield from controls


def _label(name: str, lang: Lang, prefix: str = "") -> str:
    key = f"{prefix}.{name}" if f"{prefix}.{name}" in LABELS else name
    zh, en = LABELS[key]
    return zh if lang == "zh" else en


def _control(
    prefix: str,
    spec: Spec,
    values: Mapping[str, str],
    lang: Lang,
    jurisdictions: list[tuple[str, str]],
) -> Control:
    name, kind, vocabulary, required = spec
    path = f"{prefix}.{name}" if prefix else name
    control = Control(
        path,
        _label(name, lang, prefix.split("[")[0].rpartition(".")[2] or prefix),
        kind,
        values.get(path, ""),
        required,
    )
    if kind == "jurisdiction":
        control.choices = jurisdictions
    elif vocabulary is not None:
        control.choices = choices(vocabulary, lang)
    if kind == "idnumber" and control.value:
        # never sent back in clear: the page shows the masked form; the script keeps the number
        control.masked = mask_id_number(control.value.strip().upper())
        control.value = ""
    return control


def _ordinal(path: str, index: int, lang: Lang) -> str:
    words = {
        "household.members": ("第 {n} 位成员", "Member {n}"),
        "household.income": ("收入 {n}", "Income {n}"),
        "household.deductions": ("扣减 {n}", "Deduction {n}"),
        "household.assets.vehicles": ("车辆 {n}", "Vehicle {n}"),
        "household.assets.houses": ("住房 {n}", "Home {n}"),
    }[path]
    text = words[0] if lang == "zh" else words[1]
    return text.replace("{n}", str(index + 1) if index >= 0 else "{n}")


def build_form(
    values: Mapping[str, str],
    lang: Lang,
    jurisdictions: list[tuple[str, str]],
) -> IntakeForm:
    """The form showing ``values`` (``jurisdictions``: code and name of each, for the list)."""

    def make(prefix: str, specs: Iterable[Spec]) -> list[Control]:
        return [_control(prefix, s, values, lang, jurisdictions) for s in specs]

    top = make("", TOP)
    programs = [
        Control(
            PROGRAM_PREFIX + p,
            code_name("program", p, lang),
            "check",
            values.get(PROGRAM_PREFIX + p, ""),
        )
        for p in PROGRAM_IDS
    ]
    lists = {}
    for path, (specs, can_be_none) in LISTS.items():
        items = [
            Item(str(i), _ordinal(path, i, lang), make(f"{path}[{i}]", specs))
            for i in indices(values, path)
        ]
        blank = Item(
            INDEX_TOKEN,
            _ordinal(path, -1, lang),
            [_control(f"{path}[{INDEX_TOKEN}]", s, {}, lang, jurisdictions) for s in specs],
        )
        none = None
        if can_be_none:
            zh, en = LABELS[NONE_PREFIX + path]
            none = Control(
                NONE_PREFIX + path,
                zh if lang == "zh" else en,
                "check",
                values.get(NONE_PREFIX + path, ""),
            )
        lists[path] = ListGroup(path, items, blank, none)
    objects = {path: make(path, specs) for path, specs in OBJECTS.items()}
    member_ids = [
        values.get(f"household.members[{i}].id", "") for i in indices(values, "household.members")
    ]
    return IntakeForm(top, programs, lists, objects, [m for m in member_ids if m])


_PARENT = re.compile(r"(\[[0-9]+\]|\.[^.\[]+)$")  # the last step of a path


def place_problems(
    form: IntakeForm, problems: Iterable[Mapping[str, str]], lang: Lang
) -> list[tuple[str, str, str]]:
    """Puts each problem's reason on the control its path names (or the nearest list or
    section that holds it); returns every problem as (path, element id or "", reason) for the
    summary at the top of the form."""
    controls = {c.id: c for c in form.controls()}
    ids = form.ids()
    summary = []
    for problem in problems:
        reason = problem["reason_zh"] if lang == "zh" else problem["reason_en"]
        path = problem.get("path", "")
        target = ""
        candidate = path
        while candidate and candidate != "household":
            if field_id(candidate) in ids:
                target = field_id(candidate)
                break
            candidate = _PARENT.sub("", candidate) if _PARENT.search(candidate) else ""
        if target in controls:
            controls[target].errors.append(reason)
        elif target:
            form.group_errors.setdefault(target, []).append(reason)
        summary.append((path, target, reason))
    return summary


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
