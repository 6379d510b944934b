"""What the intake form holds: every field of the contract's request, named by its path.

A field's ``name`` is its contract path (``household.members[0].birth_date``) and its element id
that path with ``.``, ``[`` and ``]`` turned into ``-`` (``household-members-0-birth_date``): a
422 of the contract, which names the path, lands next to its field, and a missing fact links to
it. Three lists can be unknown (left out) or known to be empty, stated by a checkbox
(``none:household.income``): income, vehicles and homes.
"""

from __future__ import annotations

import re
from typing import Final, get_args

from service.console.text import Lang, code_name
from service.contract.request import (
    DeductionType,
    DisabilityCategory,
    EmergencyCause,
    EmergencyKind,
    Exclusion,
    IncomeType,
    Relation,
    Residence,
    Schooling,
    VehicleKind,
)

NONE_PREFIX = "none:"
PROGRAM_PREFIX = "programs:"
INDEX_TOKEN = "__i__"  # the index of the blank item the script copies when adding one

_SEPARATORS = re.compile(r"[\[\]\.:]+")
WHOLE = re.compile(r"[0-9]{1,6}")


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
# the contract's own vocabularies, in its order (one source: service.contract.request)
_VOCABULARIES: Final[dict[str, tuple[str, ...]]] = {
    "residence": get_args(Residence),
    "relation": get_args(Relation),
    "disability_category": get_args(DisabilityCategory),
    "schooling": get_args(Schooling),
    "exclusion": get_args(Exclusion),
    "income_type": get_args(IncomeType),
    "deduction_type": get_args(DeductionType),
    "vehicle_kind": get_args(VehicleKind),
    "emergency_kind": get_args(EmergencyKind),
    "emergency_cause": get_args(EmergencyCause),
}


def choices(vocabulary: str, lang: Lang) -> list[tuple[str, str]]:
    """(code, shown name) of a vocabulary, in the contract's order."""
    if vocabulary in _EXTRA_CHOICES:
        return [(c, n[0] if lang == "zh" else n[1]) for c, n in _EXTRA_CHOICES[vocabulary]]
    return [(c, code_name(vocabulary, c, lang)) for c in _VOCABULARIES[vocabulary]]
