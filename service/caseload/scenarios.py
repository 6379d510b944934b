"""Which rules each household of a caseload is decided under.

Every record names its own jurisdiction and decision date (``jurisdiction``, ``as_of``), and is
decided under the bundle in force there and then. The run's ``--jurisdiction`` and ``--as-of``
(``jurisdiction=`` and ``as_of=`` over HTTP) are defaults for records that lack them; they replace
a record's own value only when forced (``--force-jurisdiction``, ``--force-as-of``), and every
record so overridden is counted. A record left without a jurisdiction or a date, or whose
jurisdiction or date has no rules, is refused with the reason; the others are decided.

A what-if decides each record twice: under its baseline bundle and under the changed one (the
bundle of the same jurisdiction in force on ``compare_as_of``, if given, with the ``--set``
overrides applied).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.contract.errors import problem
from service.engine import (
    BeforeFirstVersion,
    Bundle,
    RuleBase,
    RuleSetError,
    UnknownJurisdiction,
    rules_problem,
)


class RecordRefused(Exception):
    """The rules for one record cannot be found; ``problems`` are contract error items."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        super().__init__("; ".join(entry["reason_en"] for entry in problems))


@dataclass(frozen=True)
class RecordDefaults:
    """The run's jurisdiction and date: defaults for records without them, or forced on all."""

    jurisdiction: str | None = None
    as_of: date | None = None
    force_jurisdiction: bool = False
    force_as_of: bool = False

    def __post_init__(self) -> None:
        if self.force_jurisdiction and self.jurisdiction is None:
            raise ValueError("force_jurisdiction needs a jurisdiction")
        if self.force_as_of and self.as_of is None:
            raise ValueError("force_as_of needs a date")

    def describe(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "force_jurisdiction": self.force_jurisdiction,
            "force_as_of": self.force_as_of,
        }


@dataclass
class RecordCounts:
    """How many records had a value replaced (forced) or filled in (default)."""

    overridden_records: int = 0
    overridden_jurisdiction: int = 0
    overridden_as_of: int = 0
    defaulted_jurisdiction: int = 0
    defaulted_as_of: int = 0
    kept_jurisdiction: int = 0  # own value kept, though it differs from the (unforced) default
    kept_as_of: int = 0

    def add(self, other: RecordCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> RecordCounts:
        return cls(
            **{name: int(value) for name, value in data.items() if name in cls.__dataclass_fields__}
        )

    def summary(self) -> dict[str, Any]:
        return {
            "overridden": {
                "records": self.overridden_records,
                "jurisdiction": self.overridden_jurisdiction,
                "as_of": self.overridden_as_of,
            },
            "defaulted": {
                "jurisdiction": self.defaulted_jurisdiction,
                "as_of": self.defaulted_as_of,
            },
            "kept_own": {"jurisdiction": self.kept_jurisdiction, "as_of": self.kept_as_of},
        }


@dataclass
class Scenarios:
    """The bundle(s) each record is decided under: one (evaluate) or baseline and changed."""

    rule_base: RuleBase
    defaults: RecordDefaults = field(default_factory=RecordDefaults)
    whatif: bool = False
    compare_as_of: date | None = None
    overrides: Sequence[tuple[str, Any]] = ()
    override_source: str = "caseload --set"
    _cache: dict[tuple[str, date], list[Bundle] | RecordRefused] = field(
        default_factory=dict, repr=False
    )

    @property
    def count(self) -> int:
        return 2 if self.whatif else 1

    def bundles(self, jurisdiction: str, as_of: date) -> list[Bundle]:
        """The bundles for a record of ``jurisdiction`` decided on ``as_of``; raises
        ``RecordRefused``. Cached: a caseload has few distinct jurisdictions and dates."""
        key = (jurisdiction, as_of)
        found = self._cache.get(key)
        if found is None:
            try:
                found = self._resolve(jurisdiction, as_of)
            except RecordRefused as refused:
                found = refused
            self._cache[key] = found
        if isinstance(found, RecordRefused):
            raise found
        return found

    def _resolve(self, jurisdiction: str, as_of: date) -> list[Bundle]:
        baseline = _resolve(self.rule_base, jurisdiction, as_of, "as_of")
        changed = baseline
        if self.whatif and self.compare_as_of is not None:
            changed = _resolve(self.rule_base, jurisdiction, self.compare_as_of, "compare_as_of")
        if self.overrides:
            try:
                changed = changed.with_overrides(dict(self.overrides), source=self.override_source)
            except RuleSetError as error:
                raise RecordRefused(override_problems(error)) from None
        return [baseline, changed] if self.whatif else [changed]

    def check(self) -> list[dict[str, str]]:
        """Problems of the run as a whole (the command line's or the request's; [] if none).

        An unknown default jurisdiction is one. A forced jurisdiction must have rules on the
        date(s) asked and take the overrides. Otherwise the records may name any jurisdiction,
        and a parameter may exist in some bundles only (a unified 低保 standard, or urban and
        rural ones): the overrides and ``compare_as_of`` must suit at least one jurisdiction's
        latest rules, the default one's first; records whose own bundle cannot take them are
        refused one by one."""
        defaults = self.defaults
        known = self.rule_base.known()
        if defaults.jurisdiction is not None and defaults.jurisdiction not in known:
            try:
                _resolve(
                    self.rule_base, defaults.jurisdiction, defaults.as_of or date.today(), "as_of"
                )
            except RecordRefused as refused:
                return refused.problems
        if defaults.force_jurisdiction:
            assert defaults.jurisdiction is not None
            try:
                self._resolve(
                    defaults.jurisdiction, defaults.as_of or self._latest(defaults.jurisdiction)
                )
            except RecordRefused as refused:
                return refused.problems
            return []
        if not self.overrides and self.compare_as_of is None:
            return []
        first: list[dict[str, str]] | None = None
        candidates = sorted(known, key=lambda jurisdiction: jurisdiction != defaults.jurisdiction)
        for jurisdiction in candidates:
            try:
                self._resolve(jurisdiction, self._latest(jurisdiction))
            except RecordRefused as refused:
                first = first or refused.problems
            else:
                return []
        return first or []

    def _latest(self, jurisdiction: str) -> date:
        return max(self.rule_base.switch_dates(jurisdiction))

    def fingerprint(self) -> str:
        """A digest of everything that decides a record's outcome: every bundle of the rule base
        (the bundle of each jurisdiction on each date its rules change), the defaults, the
        compared date and the overrides. A resumed run reuses parts only if it is unchanged."""
        bundles = {
            jurisdiction: [
                self.rule_base.resolve(jurisdiction, switch).sha256
                for switch in self.rule_base.switch_dates(jurisdiction)
            ]
            for jurisdiction in self.rule_base.known()
        }
        data = {
            "bundles": bundles,
            "defaults": self.defaults.describe(),
            "whatif": self.whatif,
            "compare_as_of": self.compare_as_of.isoformat() if self.compare_as_of else None,
            "overrides": [[path, value] for path, value in self.overrides],
        }
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _resolve(rule_base: RuleBase, jurisdiction: str, on: date, path: str) -> Bundle:
    try:
        return rule_base.resolve(jurisdiction, on)
    except (UnknownJurisdiction, BeforeFirstVersion) as error:
        raise RecordRefused([rules_problem(error, path)]) from None


def override_problems(error: RuleSetError) -> list[dict[str, str]]:
    return [
        problem(
            f"set:{rule_problem.path}" if rule_problem.path else "set",
            f"参数覆盖无效：{rule_problem.reason_zh}",
            f"the override is not valid: {rule_problem.reason}",
            "override_invalid",
        )
        for rule_problem in error.problems
    ]


def missing_problem(field_name: str) -> dict[str, str]:
    """A record left without a jurisdiction or decision date (no default was given)."""
    if field_name == "jurisdiction":
        return problem(
            "jurisdiction",
            "记录没有辖区（jurisdiction），也没有给出默认辖区",
            "the record has no jurisdiction and no default jurisdiction was given",
            "missing",
        )
    return problem(
        "as_of",
        "记录没有决定日期（as_of），也没有给出默认日期",
        "the record has no decision date (as_of) and no default date was given",
        "missing",
    )
