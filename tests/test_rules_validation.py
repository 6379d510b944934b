"""Broken rule files are refused with precise problems; the bundle hash is content-only.

Every test works on a copy of ``rules/`` in a temporary folder, never on the shipped files.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.engine import Bundle, Decider, RuleBase, RuleSetError, evaluate, load_rules
from tests.helpers import ROOT, load_example

RULES = ROOT / "rules"


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def replace(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def problems(root: Path) -> list[Any]:
    with pytest.raises(RuleSetError) as caught:
        load_rules(root)
    found = caught.value.problems
    assert found, "RuleSetError without problems"
    for p in found:
        assert p.file and p.reason, p
    return found


def find(found: list[Any], *, file: str, path: str, reason: str) -> Any:
    """The problem naming ``file``, whose path contains ``path`` and whose reason ``reason``."""
    hits = [
        p
        for p in found
        if p.file == file and path in p.path and re.search(reason, p.reason, re.IGNORECASE)
    ]
    assert hits, f"no problem ({file}, {path}, /{reason}/) among:\n" + "\n".join(
        str(p) for p in found
    )
    return hits[0]


def all_hashes(base: RuleBase) -> dict[tuple[str, date], str]:
    return {(j, d): base.resolve(j, d).sha256 for j in base.known() for d in base.switch_dates(j)}


# --- the shipped rules -------------------------------------------------------------------------


def test_shipped_rules_load(rule_base: RuleBase) -> None:
    assert rule_base.known() == [
        "changsha",
        "chongqing",
        "chongqing/banan",
        "chongqing/yubei",
        "wuhan",
        "zhumadian",
    ]


def test_unchanged_copy_loads_with_the_same_hashes(rules_copy: Path, rule_base: RuleBase) -> None:
    assert all_hashes(load_rules(rules_copy)) == all_hashes(rule_base)


# --- broken copies -----------------------------------------------------------------------------


def test_unknown_key_in_a_version_file(rules_copy: Path) -> None:
    replace(rules_copy, "wuhan/2021-04-01.yaml", "    standard:\n", "    standrad:\n")
    found = problems(rules_copy)
    find(found, file="wuhan/2021-04-01.yaml", path="dibao.standrad", reason="extra|not permitted")


def test_unknown_key_in_a_parameter_leaf(rules_copy: Path) -> None:
    replace(
        rules_copy,
        "wuhan/2022-04-01.yaml",
        '(武汉 2022 standard)", confidence: M}\n      rural',
        '(武汉 2022 standard)", confidence: M, valu: "1"}\n      rural',
    )
    found = problems(rules_copy)
    find(
        found,
        file="wuhan/2022-04-01.yaml",
        path="dibao.standard.urban.valu",
        reason="extra|not permitted",
    )


def test_missing_required_parameter(rules_copy: Path) -> None:
    path = rules_copy / "national/2020-01-01.yaml"
    text = path.read_text(encoding="utf-8")
    block = re.compile(r"    upper_inclusive:\n      value: false\n(      .*\n)+?(?=    \w)")
    assert len(block.findall(text)) == 1
    path.write_text(block.sub("", text), encoding="utf-8")
    found = problems(rules_copy)
    missing = [p for p in found if p.path == "marginal.upper_inclusive"]
    assert missing, found
    assert all("missing" in p.reason for p in missing)
    # every jurisdiction that inherits it is named, with the date of the bundle that lacks it
    named = {p.file for p in missing}
    # (驻马店 sets its own marginal.upper_inclusive, so it is complete)
    for jurisdiction in ("wuhan", "changsha", "chongqing", "chongqing/banan", "chongqing/yubei"):
        own = re.compile(rf"(^|\bbundle ){re.escape(jurisdiction)} ")
        assert any(own.search(f) for f in named), (jurisdiction, named)
    assert any("wuhan" in f and "2020-04-01" in f for f in named), named


@pytest.mark.parametrize(
    ("new_from", "reason"),
    [("9000", "overlap"), ("11000", "gap")],
    ids=["overlapping", "gapped"],
)
def test_expenditure_tiers_must_be_contiguous(rules_copy: Path, new_from: str, reason: str) -> None:
    replace(
        rules_copy,
        "national/2020-01-01.yaml",
        '{from: "10000", to: "30000"',
        f'{{from: "{new_from}", to: "30000"',
    )
    found = problems(rules_copy)
    find(
        found,
        file="national/2020-01-01.yaml",
        path="temporary.expenditure_tiers",
        reason=reason,
    )


def test_a_broken_base_file_reports_no_false_problems_elsewhere(rules_copy: Path) -> None:
    """One mistake in national/2020-01-01.yaml: the problems name that file only (a city is not
    'dated before its parent's first version' because the parent's first file was refused)."""
    replace(
        rules_copy,
        "national/2020-01-01.yaml",
        '{from: "10000", to: "30000"',
        '{from: "9000", to: "30000"',
    )
    found = problems(rules_copy)
    assert [p.file for p in found] == ["national/2020-01-01.yaml"], "\n".join(map(str, found))


def test_tekun_published_amount_below_its_floor_is_refused(rules_copy: Path) -> None:
    # 重庆 2020: urban 低保 620, floor 1.3 × 620 = 806.00 with 1 元 tolerance; 800 is 6 元 below.
    replace(
        rules_copy,
        "chongqing/2020-01-01.yaml",
        'urban: "806.00", rural: "806.00"',
        'urban: "800.00", rural: "806.00"',
    )
    found = problems(rules_copy)
    problem = find(
        found, file="chongqing/2020-01-01.yaml", path="tekun.basic.urban", reason="floor"
    )
    assert "800" in problem.reason and "806" in problem.reason
    assert not [p for p in found if p.path == "tekun.basic.rural"]


@pytest.mark.parametrize("amount", ["805.50", "805.00"])
def test_tekun_amount_within_the_one_yuan_tolerance_is_accepted(
    rules_copy: Path, amount: str
) -> None:
    replace(
        rules_copy,
        "chongqing/2020-01-01.yaml",
        'urban: "806.00", rural: "806.00"',
        f'urban: "{amount}", rural: "806.00"',
    )
    base = load_rules(rules_copy)
    bundle = base.resolve("chongqing", date(2020, 6, 1))
    assert Decimal(bundle.value("tekun.basic")["urban"]) == Decimal(amount)


def test_tekun_amount_just_beyond_the_tolerance_is_refused(rules_copy: Path) -> None:
    replace(
        rules_copy,
        "chongqing/2020-01-01.yaml",
        'urban: "806.00", rural: "806.00"',
        'urban: "804.99", rural: "806.00"',
    )
    find(
        problems(rules_copy),
        file="chongqing/2020-01-01.yaml",
        path="tekun.basic.urban",
        reason="floor",
    )


def test_provisional_confidence_needs_a_reason(rules_copy: Path) -> None:
    replace(
        rules_copy,
        "wuhan/2021-04-01.yaml",
        '(武汉 2021 standard)", confidence: M}\n      rural',
        '(武汉 2021 standard)", confidence: P}\n      rural',
    )
    find(
        problems(rules_copy),
        file="wuhan/2021-04-01.yaml",
        path="dibao.standard.urban",
        reason="provisional",
    )


def test_district_version_before_its_parents_first_version(rules_copy: Path) -> None:
    (rules_copy / "chongqing/banan/2019-06-01.yaml").write_text(
        "effective_from: 2019-06-01\nsummary: too early\n", encoding="utf-8"
    )
    problem = find(
        problems(rules_copy),
        file="chongqing/banan/2019-06-01.yaml",
        path="effective_from",
        reason="before its parent",
    )
    assert "chongqing/2020-01-01.yaml" in problem.reason


def test_effective_from_must_equal_the_file_name(rules_copy: Path) -> None:
    replace(
        rules_copy,
        "wuhan/2021-04-01.yaml",
        "effective_from: 2021-04-01",
        "effective_from: 2021-04-02",
    )
    find(
        problems(rules_copy),
        file="wuhan/2021-04-01.yaml",
        path="effective_from",
        reason="file name",
    )


def test_all_problems_are_reported_at_once(rules_copy: Path) -> None:
    replace(rules_copy, "wuhan/2021-04-01.yaml", "    standard:\n", "    standrad:\n")
    replace(
        rules_copy,
        "zhumadian/2021-09-01.yaml",
        "effective_from: 2021-09-01",
        "effective_from: 2021-09-02",
    )
    found = problems(rules_copy)
    find(found, file="wuhan/2021-04-01.yaml", path="dibao.standrad", reason="extra|not permitted")
    find(found, file="zhumadian/2021-09-01.yaml", path="effective_from", reason="file name")


# --- hash identity -----------------------------------------------------------------------------

_TRAILING = re.compile(r"^([0-9]+)\.([0-9]*?)0+$")


def _strip_zeros(node: Any) -> Any:
    """'830.00' → '830', '0.70' → '0.7': the same amounts, written differently."""
    if isinstance(node, dict):
        return {k: _strip_zeros(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_strip_zeros(v) for v in node]
    if isinstance(node, str):
        match = _TRAILING.match(node)
        if match:
            whole, fraction = match.groups()
            return f"{whole}.{fraction}" if fraction else whole
    return node


def test_reformatted_rules_give_the_same_hashes(rules_copy: Path, rule_base: RuleBase) -> None:
    changed = 0
    for path in rules_copy.rglob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        stripped = _strip_zeros(data)
        changed += stripped != data
        # comments dropped, keys sorted (reordered), block style instead of flow style
        path.write_text(
            yaml.safe_dump(stripped, allow_unicode=True, sort_keys=True, default_flow_style=False),
            encoding="utf-8",
        )
    assert changed > 10  # really rewrote "910.00" as "910" in most files
    assert "910.00" not in (rules_copy / "wuhan/2022-04-01.yaml").read_text(encoding="utf-8")
    assert all_hashes(load_rules(rules_copy)) == all_hashes(rule_base)


def test_moving_a_parameter_to_an_earlier_file_keeps_the_later_bundles(
    rules_copy: Path, rule_base: RuleBase
) -> None:
    """重庆's rigid-expenditure share moves from 2025-04-14.yaml into 2024-09-01.yaml: the bundles
    from 2025-04-14 on are the same content, so the same hash; the bundle in between changes."""
    later = rules_copy / "chongqing/2025-04-14.yaml"
    earlier = rules_copy / "chongqing/2024-09-01.yaml"
    later_data = yaml.safe_load(later.read_text(encoding="utf-8"))
    earlier_data = yaml.safe_load(earlier.read_text(encoding="utf-8"))
    earlier_data["parameters"]["rigid_expenditure"] = later_data["parameters"].pop(
        "rigid_expenditure"
    )
    assert not later_data["parameters"]
    later.write_text(yaml.safe_dump(later_data, allow_unicode=True), encoding="utf-8")
    earlier.write_text(yaml.safe_dump(earlier_data, allow_unicode=True), encoding="utf-8")
    moved = load_rules(rules_copy)
    for jurisdiction in ("chongqing", "chongqing/banan", "chongqing/yubei"):
        for day in (date(2025, 4, 14), date(2025, 5, 1), date(2025, 8, 1), date(2026, 3, 1)):
            assert (
                moved.resolve(jurisdiction, day).sha256
                == rule_base.resolve(jurisdiction, day).sha256
            ), (jurisdiction, day)
        # before the move's target date nothing changed either
        day = date(2024, 8, 1)
        assert (
            moved.resolve(jurisdiction, day).sha256 == rule_base.resolve(jurisdiction, day).sha256
        )
        # in between, the bundle really is different content
        day = date(2024, 10, 1)
        assert (
            moved.resolve(jurisdiction, day).sha256 != rule_base.resolve(jurisdiction, day).sha256
        )


def test_a_changed_value_changes_the_hash(rules_copy: Path, rule_base: RuleBase) -> None:
    replace(rules_copy, "wuhan/2022-04-01.yaml", 'value: "910.00"', 'value: "911.00"')
    changed = load_rules(rules_copy)
    after = changed.resolve("wuhan", date(2022, 8, 1))
    assert after.sha256 != rule_base.resolve("wuhan", date(2022, 8, 1)).sha256
    assert Decimal(after.value("dibao.standard.urban")) == Decimal("911")
    # the bundles before that version are untouched
    assert (
        changed.resolve("wuhan", date(2021, 6, 1)).sha256
        == rule_base.resolve("wuhan", date(2021, 6, 1)).sha256
    )


def test_a_changed_source_changes_the_hash(rules_copy: Path, rule_base: RuleBase) -> None:
    """Provenance is part of the bundle: a decision names exactly the rules it used."""
    replace(
        rules_copy,
        "wuhan/2022-04-01.yaml",
        '"city-parameters.md (武汉 2022 standard)", confidence: M}\n      rural',
        '"another source", confidence: M}\n      rural',
    )
    day = date(2022, 8, 1)
    assert (
        load_rules(rules_copy).resolve("wuhan", day).sha256
        != rule_base.resolve("wuhan", day).sha256
    )


# --- canonical bundles -------------------------------------------------------------------------

EXAMPLES = [
    "wuhan-dibao-household-eligible.json",
    "changsha-tekun-eligible.json",
    "chongqing-gradual-exit-eligible.json",
    "zhumadian-single-person-eligible.json",
]


@pytest.mark.parametrize("name", EXAMPLES)
def test_canonical_bundle_round_trips(engine: Decider, name: str) -> None:
    request = engine.parse(load_example(name))
    bundle = engine.bundle_for(request)
    restored = Bundle.from_canonical(bundle.canonical_json)
    assert restored.sha256 == bundle.sha256
    assert restored.canonical_json == bundle.canonical_json
    assert restored == bundle
    # the stored bundle decides exactly as the files do, trace included
    assert evaluate(request, restored) == evaluate(request, bundle) == engine.evaluate(request)


def test_a_tampered_canonical_bundle_is_refused(engine: Decider) -> None:
    bundle = engine.rule_base.resolve("wuhan", date(2022, 8, 1))
    data = bundle.canonical()
    del data["parameters"]["marginal.multiplier"]
    with pytest.raises(RuleSetError) as caught:
        Bundle.from_canonical(data)
    assert any(p.path == "marginal.multiplier" for p in caught.value.problems)


# --- what-if overrides -------------------------------------------------------------------------


def test_override_changes_the_standard_and_the_hash(engine: Decider) -> None:
    request = engine.parse(load_example("wuhan-dibao-household-eligible.json"))
    bundle = engine.bundle_for(request)
    what_if = bundle.with_overrides({"dibao.standard.urban": "1000"}, source="test")
    assert what_if.sha256 != bundle.sha256
    assert Decimal(what_if.value("dibao.standard.urban")) == Decimal("1000")
    assert Decimal(bundle.value("dibao.standard.urban")) == Decimal("910")  # original untouched
    response = evaluate(request, what_if)
    assert response["ruleset"]["sha256"] == what_if.sha256
    dibao = response["programs"]["dibao"]
    assert dibao["standard"] == "1000.00"
    # (1000 - 700) × 3 + 2 supplements of 20 % × 1000
    assert dibao["monthly_amount"] == "1300.00"
    # the what-if value is marked provisional in the decision
    assert "wuhan.dibao.standard.urban" in response["provisional"]
    assert "wuhan.dibao.standard.urban" not in evaluate(request, bundle)["provisional"]


def test_override_amounts_are_normalised_like_rule_files(engine: Decider) -> None:
    """The hash is over content with normalised decimals: "1000" and "1000.00" are one amount,
    as "910" and "910.00" are in the rule files."""
    bundle = engine.rule_base.resolve("wuhan", date(2022, 8, 1))
    plain = bundle.with_overrides({"dibao.standard.urban": "1000"}, source="test")
    cents = bundle.with_overrides({"dibao.standard.urban": "1000.00"}, source="test")
    assert cents.sha256 == plain.sha256


def test_override_of_an_unknown_parameter_is_refused(engine: Decider) -> None:
    bundle = engine.rule_base.resolve("wuhan", date(2022, 8, 1))
    with pytest.raises(RuleSetError) as caught:
        bundle.with_overrides({"dibao.standrad.urban": "1000"}, source="test")
    assert any("dibao.standrad.urban" in p.path for p in caught.value.problems)


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"dibao.standard.urban": "a thousand"}, "dibao.standard.urban"),
        ({"tekun.basic.urban": "100"}, "tekun.basic.urban"),  # below 1.3 × 910
        ({"tekun.basic.nowhere": "100"}, "tekun.basic.nowhere"),
    ],
    ids=["not-a-number", "below-floor", "unknown-field-inside-a-value"],
)
def test_override_with_an_invalid_value_is_refused(
    engine: Decider, overrides: dict[str, str], path: str
) -> None:
    bundle = engine.rule_base.resolve("wuhan", date(2022, 8, 1))
    with pytest.raises(RuleSetError) as caught:
        bundle.with_overrides(overrides, source="test")
    assert any(path in p.path for p in caught.value.problems), caught.value.problems


def test_a_standard_at_or_below_zero_is_rejected(rule_base) -> None:  # type: ignore[no-untyped-def]
    bundle = rule_base.resolve("wuhan", date(2022, 8, 1))
    for value in ("-5", "0"):
        with pytest.raises(RuleSetError) as caught:
            bundle.with_overrides({"dibao.standard.urban": value}, source="what-if")
        assert any(p.path.startswith("dibao.standard.urban") for p in caught.value.problems)
