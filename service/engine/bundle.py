"""Loading ``rules/``, validating it, and resolving the bundle in force on a date.

A resolved bundle is a flat map ``dotted.parameter.path → leaf`` (value plus provenance) and the
citations, for one jurisdiction on one date. Its canonical serialisation (sorted keys, normalised
decimals, no file paths) is what its SHA-256 is computed over, so the same content gives the same
hash whatever the file layout, and a stored canonical bundle can be evaluated again years later
without the files (``Bundle.from_canonical``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from service.bilingual import BilingualError, Text
from service.canonical import canonical_json
from service.contract.errors import format_path, reason_for
from service.engine.compiled import Rules, compile_rules, monthly_standard
from service.engine.ruleset import (
    Jurisdiction,
    Param,
    Parameters,
    RuleSetVersion,
)

NATIONAL = "national"

# --- where the rules folder is -----------------------------------------------------------------

RULES_DIR_SETTING = "ELIGIBILITY_RULES_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# Policy officers edit rules/ at the top of the repository; the wheel carries a copy of it inside
# the package (pyproject.toml, [tool.hatch.build.targets.wheel.sources]).
CHECKOUT_RULES_DIR = _PACKAGE_DIR.parent / "rules"
PACKAGED_RULES_DIR = _PACKAGE_DIR / "shipped_rules"
RULES_FOLDER_NOT_FOUND = Text(
    f"找不到规则文件夹；请用 {RULES_DIR_SETTING}（或 --rules）指定规则文件夹",
    f"rules folder not found; set {RULES_DIR_SETTING} (or --rules) to the folder of rule sets",
)


def find_rules_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The rules folder: ``ELIGIBILITY_RULES_DIR`` if set; else ``rules/`` of the source checkout
    this package runs from (an editable install); else the copy packaged in the wheel."""
    setting = (os.environ if environ is None else environ).get(RULES_DIR_SETTING)
    if setting:
        return Path(setting)
    # A checkout has pyproject.toml beside service/; an installed package sits in site-packages.
    if (_PACKAGE_DIR.parent / "pyproject.toml").is_file() and CHECKOUT_RULES_DIR.is_dir():
        return CHECKOUT_RULES_DIR
    return PACKAGED_RULES_DIR


DEFAULT_RULES_DIR = find_rules_dir()


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with the rule files (or a what-if override): where, and why in both
    languages (``reason`` is the English, ``reason_zh`` the Chinese)."""

    file: str
    path: str
    reason: str
    reason_zh: str = ""

    @property
    def text(self) -> Text:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return Text(f"{where}: {self.reason_zh or self.reason}", f"{where}: {self.reason}")

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return (
            f"{where}: {self.reason_zh} / {self.reason}"
            if self.reason_zh
            else f"{where}: {self.reason}"
        )


def _problem(file: str, path: str, zh: str, en: str) -> RuleProblem:
    return RuleProblem(file, path, en, zh)


class RuleSetError(Exception):
    """The rule files are invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[RuleProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownJurisdiction(BilingualError, LookupError):
    """No rule set of that name; ``reason`` (without the asked name) lists the known ones."""

    def __init__(self, jurisdiction: str, known: list[str]):
        self.jurisdiction = jurisdiction
        self.known = known
        listed = ", ".join(known)
        self.reason = Text(f"未知的辖区，可用：{listed}", f"unknown jurisdiction; known: {listed}")
        close = difflib.get_close_matches(jurisdiction, known, n=3, cutoff=0.6)
        hint_zh = f"；您是否要找：{', '.join(close)}" if close else ""
        hint_en = f"; did you mean: {', '.join(close)}" if close else ""
        super().__init__(
            f"未知的辖区 {jurisdiction!r}，可用：{listed}{hint_zh}",
            f"unknown jurisdiction {jurisdiction!r}; known: {listed}{hint_en}",
        )


class BeforeFirstVersion(BilingualError, LookupError):
    """The date is before the first rule version of the jurisdiction."""

    def __init__(self, jurisdiction: str, as_of: date, first: date):
        self.jurisdiction = jurisdiction
        self.as_of = as_of
        self.first = first
        self.reason = Text(
            f"该日期早于本辖区最早的规则版本（{first.isoformat()}）",
            f"before the first rule version of this jurisdiction ({first.isoformat()})",
        )
        super().__init__(
            f"{jurisdiction} 在 {first.isoformat()} 之前没有规则（所问日期 {as_of.isoformat()}）",
            f"{jurisdiction} has no rules before {first.isoformat()} (asked {as_of.isoformat()})",
        )


def _pydantic_problem(file: str, loc: list[str | int], item: Mapping[str, Any]) -> RuleProblem:
    zh, en = reason_for(item, loc)
    return _problem(file, format_path(loc), zh, en)


# --- canonical form --------------------------------------------------------------------------


def canonical_value(value: Any) -> Any:
    """Plain JSON data with normalised decimals ("830.00" and "830" are the same amount)."""
    if isinstance(value, BaseModel):
        return canonical_value(value.model_dump(by_alias=True))
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    return value


def flatten_parameters(model: BaseModel, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Parameters model → {dotted path: canonical leaf}, only the leaves that are set."""
    out: dict[str, dict[str, Any]] = {}
    for name in type(model).model_fields:
        child = getattr(model, name)
        if child is None:
            continue
        path = f"{prefix}{name}"
        if isinstance(child, Param):
            out[path] = canonical_value(child)
        else:
            out.update(flatten_parameters(child, path + "."))
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path, leaf in flat.items():
        node = tree
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = leaf
    return tree


def leaf_paths(model_type: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf path the format knows, in declaration order."""
    out: list[str] = []
    for name, info in model_type.model_fields.items():
        annotation = info.annotation
        inner = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
        target = inner[0] if inner else annotation
        if isinstance(target, type) and issubclass(target, Param):
            out.append(prefix + name)
        elif isinstance(target, type) and issubclass(target, BaseModel):
            out.extend(leaf_paths(target, f"{prefix}{name}."))
    return out


ALL_LEAVES = leaf_paths(Parameters)
# Leaves a resolved bundle may lack: the standard is either unified or urban + rural; the
# marginal asset limits default to the 低保 ones; the minimum wage only matters for care tiers
# given as a fraction of it.
OPTIONAL_LEAVES = frozenset(
    {p for p in ALL_LEAVES if p.startswith(("dibao.standard.", "marginal.assets."))}
    | {"tekun.minimum_wage"}
)


# --- the resolved bundle ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Bundle:
    """The rules in force for one jurisdiction from ``version`` on: hashable, replayable.

    Two bundles are equal when their canonical content (and so their SHA-256) is equal.
    """

    jurisdiction: str
    version: date
    components: tuple[str, ...]
    parameters: Mapping[str, Mapping[str, Any]]
    citations: Mapping[str, Mapping[str, str]]
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bundle) and other.sha256 == self.sha256

    def canonical(self) -> dict[str, Any]:
        return {
            "format": 1,
            "jurisdiction": self.jurisdiction,
            "version": self.version.isoformat(),
            "components": list(self.components),
            "parameters": {k: dict(v) for k, v in self.parameters.items()},
            "citations": {k: dict(v) for k, v in self.citations.items()},
        }

    @cached_property
    def canonical_json(self) -> str:
        return canonical_json(self.canonical())

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json.encode("utf-8")).hexdigest()

    @cached_property
    def model(self) -> Parameters:
        return Parameters.model_validate(unflatten(self.parameters))

    @cached_property
    def rules(self) -> Rules:
        """The compiled evaluation view."""
        return compile_rules(self.model, self.jurisdiction, self.parameters)

    def value(self, path: str) -> Any:
        return self.parameters[path]["value"]

    def parameter_paths(self) -> list[str]:
        """Every path a what-if may set: each parameter, and each field inside a structured one
        (``tekun.basic.urban``)."""
        out: list[str] = []
        for path, leaf in self.parameters.items():
            out.append(path)
            out.extend(_inner_paths(leaf.get("value"), path))
        return out

    def select(self, path: str) -> dict[str, Mapping[str, Any]]:
        """The parameters at or under ``path`` (a parameter inside a structured value gives the
        parameter holding it); an unknown path raises ``RuleSetError`` with the nearest ones."""
        chosen = {
            p: leaf for p, leaf in self.parameters.items() if p == path or p.startswith(path + ".")
        }
        if not chosen and path in self.parameter_paths():
            holder = _find_leaf(self.parameters, path)
            assert holder is not None
            chosen = {holder: self.parameters[holder]}
        if not chosen:
            raise RuleSetError(
                [
                    unknown_parameter(
                        f"{self.jurisdiction}@{self.version}", path, self.parameter_paths()
                    )
                ]
            )
        return chosen

    @classmethod
    def from_canonical(cls, text: str | Mapping[str, Any]) -> Bundle:
        data = json.loads(text) if isinstance(text, str) else text
        bundle = cls(
            jurisdiction=data["jurisdiction"],
            version=date.fromisoformat(data["version"]),
            components=tuple(data["components"]),
            parameters=data["parameters"],
            citations=data["citations"],
        )
        problems = validate_bundle(bundle, file=f"bundle {bundle.jurisdiction}@{bundle.version}")
        if problems:
            raise RuleSetError(problems)
        return bundle

    def with_overrides(self, overrides: Mapping[str, Any], *, source: str) -> Bundle:
        """A what-if bundle: ``{"dibao.standard.urban": "1000"}`` applied, then validated.

        A path may end inside a structured value (``tekun.basic.urban``). The changed leaf is
        marked as a what-if value so no one mistakes it for a rule in force.
        """
        params = {k: dict(v) for k, v in self.parameters.items()}
        for path, new_value in overrides.items():
            leaf_path = _find_leaf(params, path)
            if leaf_path is None:
                raise RuleSetError([unknown_parameter(source, path, self.parameter_paths())])
            leaf = params[leaf_path]
            rest = path[len(leaf_path) + 1 :].split(".") if path != leaf_path else []
            leaf["value"] = _set_inside(
                leaf["value"], rest, canonical_value(new_value), path, source, leaf_path
            )
            leaf.update(source=source, confidence="P", provisional="what-if override", note=None)
        try:
            # Validated and normalised like a rule file ("1000" and "1000.00" are one amount).
            params = flatten_parameters(Parameters.model_validate(unflatten(params)))
        except ValidationError as error:
            raise RuleSetError(list(_model_problems(error, source))) from None
        bundle = Bundle(
            jurisdiction=self.jurisdiction,
            version=self.version,
            components=(*self.components, f"whatif:{source}"),
            parameters=params,
            citations=self.citations,
            origins=self.origins,
        )
        problems = validate_bundle(bundle, file=source)
        if problems:
            raise RuleSetError(problems)
        return bundle


def _inner_paths(value: Any, prefix: str) -> list[str]:
    if not isinstance(value, Mapping):
        return []
    out: list[str] = []
    for key, child in value.items():
        out.append(f"{prefix}.{key}")
        out.extend(_inner_paths(child, f"{prefix}.{key}"))
    return out


def nearest(path: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The valid paths closest to a misspelt one (a typo in any part, or a wrong last part)."""
    candidates = list(candidates)
    close = difflib.get_close_matches(path, candidates, n=n, cutoff=0.6)
    if not close and "." in path:  # the right group with a wrong name: its siblings
        parent = path.rsplit(".", 1)[0]
        close = [c for c in candidates if c.rsplit(".", 1)[0] == parent][:n]
    return close


def unknown_parameter(file: str, path: str, candidates: Iterable[str]) -> RuleProblem:
    candidates = list(candidates)
    close = nearest(path, candidates)
    if close:
        hint_zh, hint_en = (
            f"；您是否要找：{', '.join(close)}",
            f"; did you mean: {', '.join(close)}",
        )
    else:  # nothing alike: say where the parameters are
        groups = ", ".join(sorted({c.split(".", 1)[0] for c in candidates}))
        hint_zh, hint_en = f"；参数分组有：{groups}", f"; the parameter groups are: {groups}"
    return _problem(
        file, path, f"规则包中没有此参数{hint_zh}", f"no such parameter in the bundle{hint_en}"
    )


def _find_leaf(params: Mapping[str, Any], path: str) -> str | None:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in params:
            return candidate
    return None


def _set_inside(value: Any, rest: list[str], new: Any, path: str, source: str, where: str) -> Any:
    if not rest:
        return new
    if not isinstance(value, dict) or rest[0] not in value:
        fields = [f"{where}.{key}" for key in value] if isinstance(value, dict) else []
        close = nearest(path, fields) if fields else []
        hint_zh = f"；您是否要找：{', '.join(close)}" if close else "（此参数的值没有下级字段）"
        hint_en = f"; did you mean: {', '.join(close)}" if close else " (this value has no fields)"
        raise RuleSetError(
            [
                _problem(
                    source,
                    path,
                    f"参数 {where} 的值中没有此字段{hint_zh}",
                    f"no such field in the value of {where}{hint_en}",
                )
            ]
        )
    copy = dict(value)
    copy[rest[0]] = _set_inside(copy[rest[0]], rest[1:], new, path, source, f"{where}.{rest[0]}")
    return copy


def validate_bundle(bundle: Bundle, *, file: str) -> list[RuleProblem]:
    """Checks a resolved bundle: complete, well-typed, consistent (standards, 特困 floor)."""
    problems: list[RuleProblem] = []
    try:
        model = Parameters.model_validate(unflatten(bundle.parameters))
    except ValidationError as error:
        problems.extend(_model_problems(error, file))
        return problems
    present = set(bundle.parameters)
    for path in ALL_LEAVES:
        if path not in OPTIONAL_LEAVES and path not in present:
            problems.append(_problem(file, path, "缺少此参数", "missing parameter"))
    standard = model.dibao.standard if model.dibao else None
    has_split = standard is not None and standard.urban is not None and standard.rural is not None
    has_unified = standard is not None and standard.unified is not None
    if has_split == has_unified:
        problems.append(
            _problem(
                file,
                "dibao.standard",
                "应给出 unified，或同时给出 urban 和 rural（二者只能选一种）",
                "give either 'unified' or both 'urban' and 'rural'",
            )
        )
    if problems:
        return problems
    problems.extend(_check_tekun_floor(bundle, model, file))
    care = model.tekun.care_amounts.value  # type: ignore[union-attr]
    uses_wage = any(
        a is not None and a.wage_fraction for a in (care.self_care, care.partial, care.full)
    )
    if uses_wage and (model.tekun.minimum_wage is None or model.tekun.minimum_wage.value is None):  # type: ignore[union-attr]
        problems.append(
            _problem(
                file,
                "tekun.minimum_wage",
                "照料护理标准按最低工资计算，须给出最低工资",
                "care amounts use the minimum wage; give it",
            )
        )
    return problems


def _check_tekun_floor(bundle: Bundle, model: Parameters, file: str) -> list[RuleProblem]:
    tekun = model.tekun
    assert tekun is not None and tekun.basic is not None and tekun.floor is not None
    basic, floor = tekun.basic.value, tekun.floor.value
    problems: list[RuleProblem] = []
    for residence in ("urban", "rural"):
        base = monthly_standard(model, "urban" if floor.base == "urban" else residence)
        minimum = floor.multiplier * base
        if basic.mode == "published":
            amount = basic.urban if residence == "urban" else basic.rural
        else:
            assert basic.multiplier is not None and basic.base is not None
            amount = basic.multiplier * monthly_standard(
                model, "urban" if basic.base == "urban" else residence
            )
        assert amount is not None
        if amount < minimum - floor.tolerance:
            where = bundle.origins.get("tekun.basic", file)
            problems.append(
                _problem(
                    where,
                    f"tekun.basic.{residence}",
                    f"特困基本生活标准 {amount} 低于其下限 {floor.multiplier} × {base:.2f} = "
                    f"{minimum:.2f}（允许误差 {floor.tolerance}）",
                    f"特困 basic amount {amount} is below its floor {floor.multiplier} × "
                    f"{base:.2f} = {minimum:.2f} (tolerance {floor.tolerance})",
                )
            )
    return problems


# --- the rule base: every jurisdiction and version under rules/ ------------------------------


@dataclass(frozen=True)
class LoadedVersion:
    jurisdiction: str
    effective_from: date
    file: str
    model: RuleSetVersion
    flat: Mapping[str, Mapping[str, Any]]


@dataclass
class RuleBase:
    """All jurisdictions and their dated versions, loaded and validated."""

    root: Path
    jurisdictions: dict[str, Jurisdiction]
    versions: dict[str, list[LoadedVersion]]
    _cache: dict[tuple[str, tuple[date, ...]], Bundle] = field(default_factory=dict, repr=False)

    def known(self) -> list[str]:
        return sorted(j for j in self.jurisdictions if j != NATIONAL)

    def describe(self) -> list[dict[str, Any]]:
        """Each jurisdiction with its version files and the dates its bundle changes."""
        rows = []
        for jid in self.known():
            meta = self.jurisdictions[jid]
            rows.append(
                {
                    "id": jid,
                    "name_zh": meta.name_zh,
                    "name_en": meta.name_en,
                    "division_code": meta.division_code,
                    "parent": meta.parent,
                    "versions": [v.effective_from.isoformat() for v in self.versions[jid]],
                    "bundle_changes": [d.isoformat() for d in self.switch_dates(jid)],
                }
            )
        return rows

    def chain(self, jurisdiction: str) -> list[str]:
        if jurisdiction not in self.jurisdictions or jurisdiction == NATIONAL:
            raise UnknownJurisdiction(jurisdiction, self.known())
        out = [jurisdiction]
        parent = self.jurisdictions[jurisdiction].parent
        while parent is not None:
            out.append(parent)
            parent = self.jurisdictions[parent].parent
        return list(reversed(out))

    def first_date(self, jurisdiction: str) -> date:
        return self.versions[jurisdiction][0].effective_from

    def switch_dates(self, jurisdiction: str) -> list[date]:
        """Every date on which the bundle of ``jurisdiction`` changes."""
        first = self.first_date(jurisdiction)
        dates = {
            v.effective_from
            for j in self.chain(jurisdiction)
            for v in self.versions[j]
            if v.effective_from >= first
        }
        return sorted(dates | {first})

    def resolve(self, jurisdiction: str, as_of: date) -> Bundle:
        chain = self.chain(jurisdiction)
        first = self.first_date(jurisdiction)
        if as_of < first:
            raise BeforeFirstVersion(jurisdiction, as_of, first)
        in_force = [[v for v in self.versions[j] if v.effective_from <= as_of] for j in chain]
        key = (jurisdiction, tuple(vs[-1].effective_from if vs else date.min for vs in in_force))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        parameters: dict[str, Mapping[str, Any]] = {}
        citations: dict[str, Mapping[str, str]] = {}
        origins: dict[str, str] = {}
        components: list[str] = []
        for versions in in_force:
            for version in versions:
                parameters.update(version.flat)
                origins.update(dict.fromkeys(version.flat, version.file))
                for cid, citation in version.model.citations.items():
                    citations[cid] = canonical_value(citation)
            if versions:
                components.append(f"{versions[-1].jurisdiction}@{versions[-1].effective_from}")
        bundle = Bundle(
            jurisdiction=jurisdiction,
            version=max(vs[-1].effective_from for vs in in_force if vs),
            components=tuple(components),
            parameters=dict(sorted(parameters.items())),
            citations=dict(sorted(citations.items())),
            origins=origins,
        )
        self._cache[key] = bundle
        return bundle

    def diff(self, jurisdiction: str, date1: date, date2: date) -> list[dict[str, Any]]:
        """Each parameter whose value changed between the bundles in force on two dates."""
        old, new = self.resolve(jurisdiction, date1), self.resolve(jurisdiction, date2)
        return diff_bundles(old, new)


def diff_bundles(old: Bundle, new: Bundle) -> list[dict[str, Any]]:
    out = []
    for path in sorted(set(old.parameters) | set(new.parameters)):
        before = old.parameters.get(path, {}).get("value")
        after = new.parameters.get(path, {}).get("value")
        if before != after:
            out.append(
                {
                    "parameter": path,
                    "old": before,
                    "new": after,
                    "source": new.parameters.get(path, {}).get("source"),
                }
            )
    return out


_UNREADABLE = object()
# libyaml's parser where PyYAML was built with it (its wheels are): the same safe loading, about
# four times faster than the pure-Python one, which every process pays for at start.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, rel: str, problems: list[RuleProblem]) -> Any:
    """The file's data, or ``_UNREADABLE`` (with its problem noted) if it cannot be parsed."""
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as error:
        problems.append(_yaml_problem(rel, error))
    except UnicodeDecodeError:
        problems.append(_problem(rel, "", "文件不是 UTF-8 编码", "the file is not UTF-8 text"))
    return _UNREADABLE


def _yaml_problem(rel: str, error: yaml.YAMLError) -> RuleProblem:
    mark = getattr(error, "problem_mark", None)
    what = getattr(error, "problem", None) or "syntax error"
    if mark is None:
        return _problem(rel, "", "不是有效的 YAML", f"not valid YAML: {what}")
    line, column = mark.line + 1, mark.column + 1
    return _problem(
        rel,
        "",
        f"不是有效的 YAML：第 {line} 行第 {column} 列有语法错误",
        f"not valid YAML: line {line}, column {column}: {what}",
    )


def _model_problems(error: ValidationError, rel: str) -> Iterable[RuleProblem]:
    for item in error.errors(include_url=False, include_input=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("Param["))]
        yield _pydantic_problem(rel, loc, item)


def load_rules(root: Path | str = DEFAULT_RULES_DIR) -> RuleBase:
    """Loads and validates every rule set under ``root``; raises RuleSetError listing all problems."""
    root = Path(root)
    problems: list[RuleProblem] = []
    jurisdictions: dict[str, Jurisdiction] = {}
    versions: dict[str, list[LoadedVersion]] = {}
    if not root.is_dir():
        raise RuleSetError(
            [_problem(str(root), "", RULES_FOLDER_NOT_FOUND.zh, RULES_FOLDER_NOT_FOUND.en)]
        )
    for meta_path in sorted(root.rglob("jurisdiction.yaml")):
        folder = meta_path.parent
        jid = folder.relative_to(root).as_posix()
        rel = f"{jid}/jurisdiction.yaml"
        raw = _read_yaml(meta_path, rel, problems)
        if raw is _UNREADABLE:
            continue
        try:
            meta = Jurisdiction.model_validate(raw)
        except ValidationError as error:
            problems.extend(_model_problems(error, rel))
            continue
        if meta.id != jid:
            problems.append(
                _problem(
                    rel,
                    "id",
                    f"id {meta.id!r} 应与所在文件夹 {jid!r} 一致",
                    f"id {meta.id!r} must match its folder {jid!r}",
                )
            )
            continue
        jurisdictions[jid] = meta
        loaded: list[LoadedVersion] = []
        for version_path in sorted(folder.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].yaml")):
            vrel = f"{jid}/{version_path.name}"
            raw = _read_yaml(version_path, vrel, problems)
            if raw is _UNREADABLE:
                continue
            try:
                version = RuleSetVersion.model_validate(raw)
            except ValidationError as error:
                problems.extend(_model_problems(error, vrel))
                continue
            if version.effective_from.isoformat() != version_path.stem:
                problems.append(
                    _problem(
                        vrel,
                        "effective_from",
                        "应与文件名中的日期一致",
                        "must equal the file name's date",
                    )
                )
                continue
            loaded.append(
                LoadedVersion(
                    jid,
                    version.effective_from,
                    vrel,
                    version,
                    flatten_parameters(version.parameters),
                )
            )
        if not loaded:
            problems.append(
                _problem(
                    rel,
                    "",
                    "该辖区没有带日期的版本文件（YYYY-MM-DD.yaml）",
                    "jurisdiction has no dated version file (YYYY-MM-DD.yaml)",
                )
            )
        versions[jid] = loaded
    if problems:
        # Cross-file checks on a partly loaded tree would blame files that are not wrong.
        raise RuleSetError(problems)
    if NATIONAL not in jurisdictions:
        problems.append(
            _problem(
                f"{NATIONAL}/jurisdiction.yaml", "", "缺少全国基础规则", "national base missing"
            )
        )
    for jid, meta in jurisdictions.items():
        rel = f"{jid}/jurisdiction.yaml"
        if (meta.parent is None) != (jid == NATIONAL):
            problems.append(
                _problem(
                    rel,
                    "parent",
                    "只有全国基础规则没有上级（parent）",
                    "only the national base has no parent",
                )
            )
        elif meta.parent is not None and meta.parent not in jurisdictions:
            problems.append(
                _problem(
                    rel,
                    "parent",
                    f"未知的上级辖区 {meta.parent!r}",
                    f"unknown parent {meta.parent!r}",
                )
            )
        elif meta.parent is not None and versions.get(jid) and versions.get(meta.parent):
            first, parent_first = versions[jid][0], versions[meta.parent][0]
            if first.effective_from < parent_first.effective_from:
                problems.append(
                    _problem(
                        first.file,
                        "effective_from",
                        f"早于上级辖区的第一个版本（{parent_first.file}）",
                        f"dated before its parent's first version ({parent_first.file})",
                    )
                )
    if problems:
        raise RuleSetError(problems)
    base = RuleBase(root=root, jurisdictions=jurisdictions, versions=versions)
    # Every bundle that can ever be in force must be complete and consistent.
    for jid in base.known():
        for switch in base.switch_dates(jid):
            bundle = base.resolve(jid, switch)
            newest = max(
                (
                    v
                    for j in base.chain(jid)
                    for v in base.versions[j]
                    if v.effective_from <= switch
                ),
                key=lambda v: v.effective_from,
            )
            where = f"{newest.file} (bundle {jid} in force from {switch})"
            problems.extend(validate_bundle(bundle, file=where))
    if problems:
        raise RuleSetError(_dedupe(problems))
    return base


def _dedupe(problems: list[RuleProblem]) -> list[RuleProblem]:
    seen: dict[tuple[str, str, str], RuleProblem] = {}
    for p in problems:
        seen.setdefault((p.file, p.path, p.reason), p)
    return list(seen.values())
