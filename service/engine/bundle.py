"""Loading ``rules/``, validating it, and resolving the bundle in force on a date.

A resolved bundle is a flat map ``dotted.parameter.path → leaf`` (value plus provenance) and the
citations, for one jurisdiction on one date. Its canonical serialisation (sorted keys, normalised
decimals, no file paths) is what its SHA-256 is computed over, so the same content gives the same
hash whatever the file layout, and a stored canonical bundle can be evaluated again years later
without the files (``Bundle.from_canonical``).
"""

from __future__ import annotations

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

from service.bilingual import Text
from service.contract.errors import format_path
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
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.reason}"


class RuleSetError(Exception):
    """The rule files are invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[RuleProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownJurisdiction(LookupError):
    def __init__(self, jurisdiction: str, known: list[str]):
        self.jurisdiction = jurisdiction
        self.known = known
        super().__init__(f"unknown jurisdiction {jurisdiction!r}; known: {', '.join(known)}")


class BeforeFirstVersion(LookupError):
    def __init__(self, jurisdiction: str, as_of: date, first: date):
        self.jurisdiction = jurisdiction
        self.as_of = as_of
        self.first = first
        super().__init__(f"{jurisdiction} has no rules before {first.isoformat()} (asked {as_of})")


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


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    def rules(self) -> Any:
        """The compiled evaluation view (``service.engine.compiled.Rules``)."""
        from service.engine.compiled import compile_rules

        return compile_rules(self)

    def value(self, path: str) -> Any:
        return self.parameters[path]["value"]

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
                raise RuleSetError([RuleProblem(source, path, "no such parameter in the bundle")])
            leaf = params[leaf_path]
            rest = path[len(leaf_path) + 1 :].split(".") if path != leaf_path else []
            leaf["value"] = _set_inside(leaf["value"], rest, canonical_value(new_value), path)
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


def _find_leaf(params: Mapping[str, Any], path: str) -> str | None:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in params:
            return candidate
    return None


def _set_inside(value: Any, rest: list[str], new: Any, path: str) -> Any:
    if not rest:
        return new
    if not isinstance(value, dict) or rest[0] not in value:
        raise RuleSetError([RuleProblem("override", path, "no such field in the parameter value")])
    copy = dict(value)
    copy[rest[0]] = _set_inside(copy[rest[0]], rest[1:], new, path)
    return copy


def validate_bundle(bundle: Bundle, *, file: str) -> list[RuleProblem]:
    """Checks a resolved bundle: complete, well-typed, consistent (standards, 特困 floor)."""
    problems: list[RuleProblem] = []
    try:
        model = Parameters.model_validate(unflatten(bundle.parameters))
    except ValidationError as error:
        for item in error.errors(include_url=False, include_input=False):
            problems.append(RuleProblem(file, format_path(item["loc"]), item["msg"]))
        return problems
    present = set(bundle.parameters)
    for path in ALL_LEAVES:
        if path not in OPTIONAL_LEAVES and path not in present:
            problems.append(RuleProblem(file, path, "missing parameter"))
    standard = model.dibao.standard if model.dibao else None
    has_split = standard is not None and standard.urban is not None and standard.rural is not None
    has_unified = standard is not None and standard.unified is not None
    if has_split == has_unified:
        problems.append(
            RuleProblem(file, "dibao.standard", "give either 'unified' or both 'urban' and 'rural'")
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
            RuleProblem(file, "tekun.minimum_wage", "care amounts use the minimum wage; give it")
        )
    return problems


def monthly_standard(model: Parameters, residence: str) -> Decimal:
    standards = model.dibao.standard  # type: ignore[union-attr]
    leaf = standards.unified or (standards.urban if residence == "urban" else standards.rural)  # type: ignore[union-attr]
    assert leaf is not None
    return leaf.value / 12 if leaf.per == "year" else leaf.value


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
                RuleProblem(
                    where,
                    f"tekun.basic.{residence}",
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


def _read_yaml(path: Path, rel: str, problems: list[RuleProblem]) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as error:
        problems.append(RuleProblem(rel, "", f"not valid YAML: {error}"))
        return None


def _model_problems(error: ValidationError, rel: str) -> Iterable[RuleProblem]:
    for item in error.errors(include_url=False, include_input=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("Param["))]
        yield RuleProblem(rel, format_path(loc), item["msg"])


def load_rules(root: Path | str = DEFAULT_RULES_DIR) -> RuleBase:
    """Loads and validates every rule set under ``root``; raises RuleSetError listing all problems."""
    root = Path(root)
    problems: list[RuleProblem] = []
    jurisdictions: dict[str, Jurisdiction] = {}
    versions: dict[str, list[LoadedVersion]] = {}
    if not root.is_dir():
        reason = f"{RULES_FOLDER_NOT_FOUND.zh} / {RULES_FOLDER_NOT_FOUND.en}"
        raise RuleSetError([RuleProblem(str(root), "", reason)])
    for meta_path in sorted(root.rglob("jurisdiction.yaml")):
        folder = meta_path.parent
        jid = folder.relative_to(root).as_posix()
        rel = f"{jid}/jurisdiction.yaml"
        raw = _read_yaml(meta_path, rel, problems)
        try:
            meta = Jurisdiction.model_validate(raw)
        except ValidationError as error:
            problems.extend(_model_problems(error, rel))
            continue
        if meta.id != jid:
            problems.append(RuleProblem(rel, "id", f"id {meta.id!r} must match its folder {jid!r}"))
            continue
        jurisdictions[jid] = meta
        loaded: list[LoadedVersion] = []
        for version_path in sorted(folder.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].yaml")):
            vrel = f"{jid}/{version_path.name}"
            raw = _read_yaml(version_path, vrel, problems)
            try:
                version = RuleSetVersion.model_validate(raw)
            except ValidationError as error:
                problems.extend(_model_problems(error, vrel))
                continue
            if version.effective_from.isoformat() != version_path.stem:
                problems.append(
                    RuleProblem(vrel, "effective_from", "must equal the file name's date")
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
            problems.append(RuleProblem(rel, "", "jurisdiction has no dated version file"))
        versions[jid] = loaded
    if problems:
        # Cross-file checks on a partly loaded tree would blame files that are not wrong.
        raise RuleSetError(problems)
    if NATIONAL not in jurisdictions:
        problems.append(RuleProblem(f"{NATIONAL}/jurisdiction.yaml", "", "national base missing"))
    for jid, meta in jurisdictions.items():
        rel = f"{jid}/jurisdiction.yaml"
        if (meta.parent is None) != (jid == NATIONAL):
            problems.append(RuleProblem(rel, "parent", "only the national base has no parent"))
        elif meta.parent is not None and meta.parent not in jurisdictions:
            problems.append(RuleProblem(rel, "parent", f"unknown parent {meta.parent!r}"))
        elif meta.parent is not None and versions.get(jid) and versions.get(meta.parent):
            first, parent_first = versions[jid][0], versions[meta.parent][0]
            if first.effective_from < parent_first.effective_from:
                problems.append(
                    RuleProblem(
                        first.file,
                        "effective_from",
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
