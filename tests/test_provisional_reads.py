"""A step is marked provisional exactly when it read a provisional parameter.

The engine traces parameter reads itself (``service.engine.parameters``: each read sets a bit the
step takes). This test finds what each step read another way, below that mechanism: it watches
the stores the values come from (the bundle's ``Place`` for the residence, its asset limits and
care amounts), maps each attribute read to parameter paths with its own table, and cuts the
reads into steps where ``Case.step`` writes an entry. The computations a household shares
between steps (incomes, the per-capita income, the asset tests) are done once by the engine; the
test remembers what each read the first time and counts it for every step that uses it again.

It fails if a program reads a value without going through the traced reader (the watcher sees a
read the step did not record), if a value records the wrong parameter, if a reused computation
does not pass its reads on, or if the compiled rules are read directly during an evaluation.
5,000 generated households run across every bundle of every jurisdiction, each under the bundle
as shipped and under a copy in which every parameter is provisional (so every read must show).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from service.contract.request import EvaluationRequest
from service.engine import evaluate
from service.engine.bundle import Bundle, RuleBase
from service.engine.case import Case
from service.engine.compiled import GENERIC, AssetLimits, Rules
from service.engine.parameters import Place, place
from service.synthetic import population

HOUSEHOLDS = 5_000


def _paths(bundle: Bundle, residence: str | None) -> dict[str, frozenset[str]]:
    """The test's own table: a ``Place`` attribute → the parameters its value comes from.

    Written out for the values compiled by hand (the standard and what derives from it, the
    texts, the parameters read in parts); each generic parameter (``compiled.GENERIC``) holds its
    own value, under its attribute.
    """
    rules = bundle.rules
    model = bundle.model
    unified = rules.standard_unified
    std: set[str] = set()
    if unified:
        std = {"dibao.standard.unified"}
    elif residence:
        std = {f"dibao.standard.{residence}"}
    basic = model.tekun.basic.value  # type: ignore[union-attr]
    basic_std: set[str] = set()
    if basic.mode != "published":
        if unified:
            basic_std = {"dibao.standard.unified"}
        else:
            base = "urban" if basic.base == "urban" else (residence or "urban")
            basic_std = {f"dibao.standard.{base}"}
    line = {f"disposable_income.{residence}"} if residence else set()
    table: dict[str, set[str]] = {
        "standard": std,
        "standard_text": std,
        "marginal_threshold": {"marginal.multiplier", *std},
        "marginal_threshold_text": {"marginal.multiplier", *std},
        "marginal_multiplier_text": {"marginal.multiplier"},
        "disposable_income_monthly": line,
        "disposable_income_monthly_text": line,
        "disposable_income_annual_text": line,
        "review_months": {"dibao.review"},
        "review_able_to_work_months": {"dibao.review"},
        "tekun_basic": {"tekun.basic", *basic_std},
        "care_partial_from": {"tekun.care_tiers"},
        "care_full_from": {"tekun.care_tiers"},
        "advance_cap_text": {"temporary.advance_cap"},
        "rigid_share_threshold_text": {"rigid_expenditure.share_threshold"},
    }
    assert not table.keys() & GENERIC_TABLE.keys()
    return {**{k: frozenset(v) for k, v in table.items()}, **GENERIC_TABLE}


GENERIC_TABLE = {attribute: frozenset({path}) for path, attribute in GENERIC.items()}


# Attributes of a Place that are not parameter values: the jurisdiction, texts of the bundle's
# own identity, the bits of the engine's own mechanism, caches, the figures a result reports,
# and the containers of values watched one level down (asset limits, care amounts).
NOT_VALUES = frozenset(
    {
        "jurisdiction", "version_text", "standard_words", "provisional_mask", "provisional",
        "standard_bit", "disposable_income_bit", "tekun_basic_bit", "care_amount_bits",
        "step_meta", "step_meta_fast", "dibao_assets", "marginal_assets", "care_amounts",
        "result_standard_text", "result_threshold_text",
    }
)  # fmt: skip
ASSET_LIMITS = (
    "financial",
    "vehicles_disallowed",
    "homes",
    "commercial_property_fails",
    "business_capital",
)


class Watch:
    """What the running evaluation has read, cut into steps."""

    def __init__(self) -> None:
        self.stack: list[set[str]] = [set()]
        self.steps: list[set[str]] = []
        self.shared: dict[tuple[Any, ...], set[str]] = {}
        self.table: dict[str, frozenset[str]] = {}
        self.unknown: list[str] = []
        self.active = False

    def read(self, paths: frozenset[str] | set[str]) -> None:
        if self.active:
            self.stack[-1].update(paths)


WATCH = Watch()


class WatchedPlace(Place):
    def __getattribute__(self, name: str) -> Any:
        watch = WATCH
        if watch.active:
            paths = watch.table.get(name)
            if paths is not None:
                watch.read(paths)
            elif name not in NOT_VALUES and not name.startswith("__"):
                watch.unknown.append(f"Place.{name}")
        return super().__getattribute__(name)


class WatchedLimits(AssetLimits):
    def __getattribute__(self, name: str) -> Any:
        if WATCH.active and name in ASSET_LIMITS:
            paths = object.__getattribute__(self, "paths")
            WATCH.read({paths[ASSET_LIMITS.index(name)]})
        return super().__getattribute__(name)


class WatchedRules(Rules):
    def __getattribute__(self, name: str) -> Any:
        if WATCH.active and name != "step_cache" and not name.startswith("__"):
            WATCH.unknown.append(f"Rules.{name} read during an evaluation")
        return super().__getattribute__(name)


class CareAmounts(dict[str, Any]):
    wage_based: dict[str, bool]

    def __getitem__(self, tier: str) -> Any:
        WATCH.read({"tekun.care_amounts"})
        if self.wage_based[tier]:
            WATCH.read({"tekun.minimum_wage"})
        return super().__getitem__(tier)


def _shared(method: Callable[..., Any], key: Callable[..., tuple[Any, ...]]) -> Callable[..., Any]:
    """A computation the engine does once per household: its reads count for every use."""

    def wrapper(self: Case, *args: Any) -> Any:
        k = (method.__name__, *key(*args))
        known = WATCH.shared.get(k)
        if known is None:
            WATCH.stack.append(set())
            try:
                result = method(self, *args)
            finally:
                known = WATCH.shared[k] = WATCH.stack.pop()
        else:
            result = method(self, *args)
        WATCH.read(known)
        return result

    return wrapper


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Iterator[Watch]:
    original_step = Case.step
    original_no_step = Case.no_step

    def step(self: Case, *args: Any, **kwargs: Any) -> str:
        WATCH.steps.append(WATCH.stack[-1])
        WATCH.stack[-1] = set()
        return original_step(self, *args, **kwargs)

    def no_step(self: Case) -> None:
        WATCH.stack[-1] = set()
        original_no_step(self)

    monkeypatch.setattr(Case, "step", step)
    monkeypatch.setattr(Case, "no_step", no_step)
    monkeypatch.setattr(Case, "_member_deductions", _shared(Case._member_deductions, lambda: ()))
    monkeypatch.setattr(Case, "incomes", _shared(Case.incomes, lambda tekun: (tekun,)))
    monkeypatch.setattr(Case, "income", _shared(Case.income, lambda people: (id(people),)))
    monkeypatch.setattr(
        Case, "assets", _shared(Case.assets, lambda limits, size: (id(limits), size))
    )
    yield WATCH
    for thing, cls in WATCHED:  # the bundles are shared with other tests: as they were
        object.__setattr__(thing, "__class__", cls)
        if isinstance(thing, Place):
            thing.care_amounts = dict(thing.care_amounts)
    WATCHED.clear()


def _all_provisional(bundle: Bundle) -> Bundle:
    return dataclasses.replace(
        bundle,
        parameters={
            k: {**v, "confidence": "P", "provisional": v.get("provisional") or "test"}
            for k, v in bundle.parameters.items()
        },
    )


WATCHED: list[tuple[Any, type]] = []


def _swap(thing: Any, cls: type) -> None:
    if type(thing) is not cls.__mro__[1]:
        return  # watched already
    WATCHED.append((thing, type(thing)))
    object.__setattr__(thing, "__class__", cls)


def _watch_bundle(bundle: Bundle) -> None:
    """Every Place of the bundle built now, then watched (and the compiled rules too)."""
    rules = bundle.rules
    for residence in ("urban", "rural", None):
        here = place(rules, residence, bundle.version.isoformat())
        if type(here) is Place:
            care = CareAmounts(here.care_amounts)
            care.wage_based = dict(rules.care_wage_based)
            here.care_amounts = care
            _swap(here, WatchedPlace)
            for assets in (here.dibao_assets, here.marginal_assets):
                _swap(assets.limits, WatchedLimits)
    _swap(rules, WatchedRules)


def _households(rule_base: RuleBase) -> list[tuple[EvaluationRequest, Bundle]]:
    rng = random.Random(20260901)
    bundles = [
        (jurisdiction, start, rule_base.switch_dates(jurisdiction))
        for jurisdiction in rule_base.known()
        for start in rule_base.switch_dates(jurisdiction)
    ]
    per_bundle = -(-HOUSEHOLDS // len(bundles))
    out = []
    for jurisdiction, start, switches in bundles:
        later = [d for d in switches if d > start]
        end = later[0] if later else start + timedelta(366)
        day = start + timedelta(rng.randrange((end - start).days))
        bundle = rule_base.resolve(jurisdiction, day)
        for raw in population(per_bundle, rng.randrange(2**32), jurisdiction, day):
            out.append((EvaluationRequest.model_validate(raw), bundle))
    return out


def test_a_step_is_provisional_exactly_when_it_read_a_provisional_parameter(
    rule_base: RuleBase, watched: Watch
) -> None:
    households = _households(rule_base)
    assert len(households) >= HOUSEHOLDS
    assert len({b.sha256 for _, b in households}) >= 50  # every bundle of every jurisdiction
    copies: dict[str, Bundle] = {}
    marked = unmarked = 0
    for request, shipped in households:
        every = copies.get(shipped.sha256)
        if every is None:
            every = copies[shipped.sha256] = _all_provisional(shipped)
        for bundle in (shipped, every):
            _watch_bundle(bundle)
            watched.stack, watched.steps, watched.shared = [set()], [], {}
            watched.table = _paths(bundle, request.residence)
            watched.active = True
            try:
                response = evaluate(request, bundle)
            finally:
                watched.active = False
            assert watched.unknown == []
            assert watched.stack == [set()], "parameters read after the last step"
            trace = response["trace"]
            assert len(watched.steps) == len(trace)
            provisional = bundle.rules.provisional
            shown: set[str] = set()
            for entry, read in zip(trace, watched.steps, strict=True):
                expected = {f"{bundle.jurisdiction}.{p}" for p in read if p in provisional}
                got = set(entry.get("provisional_parameters", []))
                assert got == expected, (entry["step"], entry["member"], sorted(read))
                assert entry["provisional"] is bool(expected)
                marked += bool(expected)
                unmarked += not expected and bool(read)
                shown |= got
            assert response["provisional"] == sorted(shown)
    # both kinds occur: steps that read provisional parameters, and steps that read only others
    assert marked > 10_000 and unmarked > 10_000, (marked, unmarked)
