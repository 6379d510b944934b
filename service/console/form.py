"""The intake form as the page shows it: each control with its label, choices, value and
errors; the lists with their blank item (copied by the script to add one); a refused request's
problems placed on the controls their paths name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from service.api.privacy import mask_id_number
from service.console.fields import (
    INDEX_TOKEN,
    LABELS,
    LISTS,
    NONE_PREFIX,
    OBJECTS,
    PROGRAM_PREFIX,
    TOP,
    Spec,
    choices,
    field_id,
)
from service.console.household import indices
from service.console.text import Lang, code_name
from service.contract.request import PROGRAM_IDS

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
