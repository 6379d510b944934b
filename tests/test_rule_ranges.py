"""Every number in a rule file has the range its meaning allows; a value outside it is refused
with the file, the parameter's path and the reason in Chinese and English (and ``rules
validate`` exits 2). What-if overrides are validated like rule files, so the same ranges hold.

Every test breaks one value in a copy of ``rules/``, never the shipped files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from service.engine import RuleBase, RuleSetError, load_rules
from service.engine.bundle import RuleProblem
from tests.helpers import ROOT

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


def refusal(root: Path, *, file: str, path: str) -> RuleProblem:
    """The one problem loading ``root`` reports for ``file`` at ``path``."""
    with pytest.raises(RuleSetError) as caught:
        load_rules(root)
    hits = [p for p in caught.value.problems if p.file == file and p.path == path]
    assert len(hits) == 1, "\n".join(str(p) for p in caught.value.problems)
    return hits[0]


def assert_reason(problem: RuleProblem, zh: str, en: str, value: str) -> None:
    """Chinese first, then English, each naming the refused value."""
    assert zh in problem.reason_zh and value in problem.reason_zh, problem
    assert en in problem.reason and value in problem.reason, problem


# --- one test per kind of range ---------------------------------------------------------------


def test_money_must_not_be_negative(rules_copy: Path) -> None:
    replace(rules_copy, "national/2020-01-01.yaml", 'value: "1000.00"', 'value: "-1000.00"')
    problem = refusal(
        rules_copy, file="national/2020-01-01.yaml", path="parameters.temporary.advance_cap.value"
    )
    assert_reason(problem, "金额（元）不能为负数", "must not be negative", "-1000.00")


def test_money_zero_is_accepted(rules_copy: Path) -> None:
    replace(rules_copy, "national/2020-01-01.yaml", 'value: "1000.00"', 'value: "0"')
    bundle = load_rules(rules_copy).resolve("wuhan", date(2024, 5, 1))
    assert bundle.value("temporary.advance_cap") == "0"


def test_money_inside_a_structured_value(rules_copy: Path) -> None:
    replace(rules_copy, "changsha/2021-01-01.yaml", '{fixed: "100000.00"}', '{fixed: "-1"}')
    problem = refusal(
        rules_copy,
        file="changsha/2021-01-01.yaml",
        path="parameters.temporary.urgent_cap.value.fixed",
    )
    assert_reason(problem, "金额（元）不能为负数", "must not be negative", "-1")


@pytest.mark.parametrize("value", ["0", "-630.00"])
def test_a_standard_must_be_above_zero(rules_copy: Path, value: str) -> None:
    replace(rules_copy, "zhumadian/2020-01-01.yaml", 'value: "570.00"', f'value: "{value}"')
    problem = refusal(
        rules_copy,
        file="zhumadian/2020-01-01.yaml",
        path="parameters.dibao.standard.urban.value",
    )
    assert_reason(problem, "标准（元）必须大于 0", "a standard in yuan must be above 0", value)


def test_disposable_income_must_be_above_zero(rules_copy: Path) -> None:
    """The case of the report: 武汉's urban per-capita disposable income written as -61693."""
    replace(
        rules_copy, "wuhan/2024-01-01.yaml", 'urban: {value: "61693"', 'urban: {value: "-61693"'
    )
    problem = refusal(
        rules_copy,
        file="wuhan/2024-01-01.yaml",
        path="parameters.disposable_income.urban.value",
    )
    assert_reason(problem, "人均可支配收入（元）必须大于 0", "must be above 0", "-61693")


def test_the_minimum_wage_must_be_above_zero(rules_copy: Path) -> None:
    replace(rules_copy, "changsha/2022-04-01.yaml", 'value: "1930"', 'value: "0"')
    problem = refusal(
        rules_copy, file="changsha/2022-04-01.yaml", path="parameters.tekun.minimum_wage.value"
    )
    assert_reason(
        problem, "最低工资标准（元）必须大于 0", "minimum wage in yuan must be above 0", "0"
    )


def test_a_multiplier_must_be_above_zero(rules_copy: Path) -> None:
    replace(rules_copy, "national/2020-01-01.yaml", 'value: "1.5"', 'value: "0"')
    problem = refusal(
        rules_copy, file="national/2020-01-01.yaml", path="parameters.marginal.multiplier.value"
    )
    assert_reason(problem, "倍数必须大于 0", "a multiplier must be above 0", "0")


@pytest.mark.parametrize("value", ["0", "1.30"])
def test_a_share_lies_above_zero_and_at_most_one(rules_copy: Path, value: str) -> None:
    replace(rules_copy, "zhumadian/2020-01-01.yaml", 'value: "0.30"', f'value: "{value}"')
    problem = refusal(
        rules_copy,
        file="zhumadian/2020-01-01.yaml",
        path="parameters.income.employment_cost_share.value",
    )
    assert_reason(
        problem, "比例必须大于 0 且不超过 1", "a share must be above 0 and at most 1", value
    )


def test_a_share_of_one_is_accepted(rules_copy: Path) -> None:
    replace(rules_copy, "zhumadian/2020-01-01.yaml", 'value: "0.30"', 'value: "1"')
    bundle = load_rules(rules_copy).resolve("zhumadian", date(2020, 6, 1))
    assert bundle.value("income.employment_cost_share") == "1"


def test_a_supplement_share_of_the_standard(rules_copy: Path) -> None:
    replace(
        rules_copy, "wuhan/2020-04-01.yaml", 'share_of_standard: "0.20"', "share_of_standard: 2"
    )
    with pytest.raises(RuleSetError) as caught:
        load_rules(rules_copy)
    hits = [
        p
        for p in caught.value.problems
        if p.file == "wuhan/2020-04-01.yaml" and p.path.endswith(".share_of_standard")
    ]
    assert hits and hits[0].path.startswith("parameters.dibao.classified_supplements.value.items")
    assert_reason(
        hits[0], "比例必须大于 0 且不超过 1", "a share must be above 0 and at most 1", "2"
    )


def test_months_are_at_least_one(rules_copy: Path) -> None:
    replace(rules_copy, "national/2020-01-01.yaml", "{max_months: 6,", "{max_months: 0,")
    problem = refusal(
        rules_copy,
        file="national/2020-01-01.yaml",
        path="parameters.dibao.gradual_exit.value.max_months",
    )
    assert_reason(problem, "月数至少为 1", "a number of months must be at least 1", "0")


def test_months_of_the_financial_asset_limit(rules_copy: Path) -> None:
    replace(rules_copy, "zhumadian/2020-01-01.yaml", "{months: 36,", '{months: "0.5",')
    problem = refusal(
        rules_copy,
        file="zhumadian/2020-01-01.yaml",
        path="parameters.marginal.assets.financial.value.months",
    )
    assert_reason(problem, "月数至少为 1", "a number of months must be at least 1", "0.5")


@pytest.mark.parametrize("fraction", ["0/10", "11/10", "1/0"])
def test_a_wage_fraction_lies_above_zero_and_at_most_one(rules_copy: Path, fraction: str) -> None:
    replace(
        rules_copy,
        "changsha/2021-01-01.yaml",
        'self_care: {wage_fraction: "1/10"}',
        f'self_care: {{wage_fraction: "{fraction}"}}',
    )
    problem = refusal(
        rules_copy,
        file="changsha/2021-01-01.yaml",
        path="parameters.tekun.care_amounts.value.self_care.wage_fraction",
    )
    assert_reason(
        problem,
        "最低工资的分数必须大于 0 且不超过 1",
        "a fraction of the minimum wage must be above 0 and at most 1",
        fraction,
    )


def test_an_age_lies_between_0_and_150(rules_copy: Path) -> None:
    replace(rules_copy, "national/2020-01-01.yaml", "value: 60\n", "value: -60\n")
    problem = refusal(
        rules_copy, file="national/2020-01-01.yaml", path="parameters.tekun.elderly_age.value"
    )
    assert_reason(
        problem, "年龄（周岁）应在 0 到 150 之间", "an age in years must be from 0", "-60"
    )


def test_a_floor_area_must_be_above_zero(rules_copy: Path) -> None:
    replace(
        rules_copy,
        "zhumadian/2020-01-01.yaml",
        'per_capita_area_above: "40"',
        'per_capita_area_above: "-40"',
    )
    problem = refusal(
        rules_copy,
        file="zhumadian/2020-01-01.yaml",
        path="parameters.marginal.assets.homes.value.per_capita_area_above",
    )
    assert_reason(problem, "面积（平方米）必须大于 0", "a floor area in m² must be above 0", "-40")


def test_not_a_number_keeps_its_own_error(rules_copy: Path) -> None:
    """A range message is for numbers out of range only: text that is no number says so."""
    replace(rules_copy, "national/2020-01-01.yaml", 'value: "1.5"', 'value: "one and a half"')
    problem = refusal(
        rules_copy, file="national/2020-01-01.yaml", path="parameters.marginal.multiplier.value"
    )
    assert "decimal" in problem.reason and "必须大于" not in problem.reason_zh


# --- the command, the shipped rules, what-if overrides ------------------------------------------


def test_rules_validate_names_file_path_and_reason_and_exits_2(rules_copy: Path) -> None:
    replace(
        rules_copy, "wuhan/2024-01-01.yaml", 'urban: {value: "61693"', 'urban: {value: "-61693"'
    )
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "--rules", str(rules_copy), "rules", "validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    # each problem: a Chinese line, then the same in English
    lines = done.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if "disposable_income" in line)
    chinese, english = lines[at], lines[at + 1]
    for line in (chinese, english):
        assert "wuhan/2024-01-01.yaml" in line
        assert "parameters.disposable_income.urban.value" in line
    assert "人均可支配收入（元）必须大于 0" in chinese
    assert "must be above 0, not -61693" in english


def test_every_shipped_rule_set_is_in_range(rule_base: RuleBase) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "--rules", str(RULES), "rules", "validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "54 bundles validated" in done.stdout
    assert len(rule_base.known()) == 6


@pytest.mark.parametrize(
    ("setting", "value", "path", "zh"),
    [
        ("dibao.standard.urban", "-5", "dibao.standard.urban.value", "标准（元）必须大于 0"),
        ("temporary.advance_cap", "-1", "temporary.advance_cap.value", "金额（元）不能为负数"),
        (
            "disposable_income.urban",
            "-61693",
            "disposable_income.urban.value",
            "人均可支配收入（元）必须大于 0",
        ),
        (
            "rigid_expenditure.share_threshold",
            "1.7",
            "rigid_expenditure.share_threshold.value",
            "比例必须大于 0 且不超过 1",
        ),
        (
            "dibao.gradual_exit.max_months",
            "0",
            "dibao.gradual_exit.value.max_months",
            "月数至少为 1",
        ),
    ],
    ids=["standard", "money", "disposable-income", "share", "months"],
)
def test_what_if_overrides_have_the_same_ranges(
    rule_base: RuleBase, setting: str, value: str, path: str, zh: str
) -> None:
    bundle = rule_base.resolve("wuhan", date(2024, 5, 1))
    with pytest.raises(RuleSetError) as caught:
        bundle.with_overrides({setting: value}, source="caseload --set")
    [problem] = caught.value.problems
    assert (problem.file, problem.path) == ("caseload --set", path)
    assert zh in problem.reason_zh and value in problem.reason_zh and value in problem.reason
