"""Every message the command line and the engine give a person is in Chinese, then English.

Errors outside the request contract too: a missing file, an unknown jurisdiction (listing the
known ones), a date before the first rules, an invalid rule file, a misspelt parameter path (with
the nearest valid ones), a wrong command line.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from service.bilingual import BilingualError
from service.cli import main
from service.engine import (
    BeforeFirstVersion,
    RuleBase,
    RuleSetError,
    UnknownJurisdiction,
    load_rules,
)
from tests.helpers import EXAMPLES, ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
PYDANTIC_WORDING = re.compile(
    r"(Input should|Value error|Field required|Extra inputs|List should|String should)"
)
JURISDICTIONS = ["changsha", "chongqing", "chongqing/banan", "chongqing/yubei", "wuhan"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def zh_then_en(text: str) -> tuple[str, str]:
    """A two-line message: the Chinese line first, then the English one."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 2, text
    chinese, english = lines
    assert CJK.search(chinese), text
    assert not CJK.search(english), text
    return chinese, english


# --- files and jurisdictions -----------------------------------------------------------------------


def test_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    code, out, err = run(capsys, "evaluate", str(missing))
    assert (code, out) == (2, "")
    chinese, english = zh_then_en(err)
    assert chinese == f"找不到文件：{missing}"
    assert english == f"file not found: {missing}"


def test_a_folder_or_a_file_that_is_not_utf8(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "evaluate", str(tmp_path))
    assert code == 2
    assert zh_then_en(err) == (
        f"这是文件夹，不是文件：{tmp_path}",
        f"a folder, not a file: {tmp_path}",
    )
    latin1 = tmp_path / "request.json"
    latin1.write_bytes('{"jurisdiction": "wühan"}'.encode("latin-1"))
    code, _, err = run(capsys, "evaluate", str(latin1))
    assert code == 2
    assert zh_then_en(err) == ("输入不是 UTF-8 编码的文本", "the input is not UTF-8 text")


def test_an_unknown_jurisdiction_lists_the_known_ones_and_the_nearest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (
        ("rules", "show", "wuhna", "--as-of", "2022-08-01"),
        ("rules", "diff", "wuhna", "2021-06-01", "2022-06-01"),
    ):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, "")
        chinese, english = zh_then_en(err)
        assert chinese.startswith("未知的辖区 'wuhna'，可用：")
        assert english.startswith("unknown jurisdiction 'wuhna'; known: ")
        for known in JURISDICTIONS:
            assert known in chinese and known in english
        assert chinese.endswith("您是否要找：wuhan") and english.endswith("did you mean: wuhan")


def test_a_date_before_the_first_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "show", "wuhan", "--as-of", "2010-01-01")
    assert code == 2
    assert zh_then_en(err) == (
        "wuhan 在 2020-04-01 之前没有规则（所问日期 2010-01-01）",
        "wuhan has no rules before 2020-04-01 (asked 2010-01-01)",
    )


def test_lookup_errors_are_bilingual_errors(rule_base: RuleBase) -> None:
    with pytest.raises(UnknownJurisdiction) as unknown:
        rule_base.resolve("atlantis", date(2022, 8, 1))
    assert isinstance(unknown.value, BilingualError) and isinstance(unknown.value, LookupError)
    # the reason used in a request's problem does not repeat the submitted name
    assert "atlantis" not in unknown.value.reason.zh + unknown.value.reason.en
    assert "wuhan" in unknown.value.reason.zh and "wuhan" in unknown.value.reason.en
    with pytest.raises(BeforeFirstVersion) as early:
        rule_base.resolve("wuhan", date(2010, 1, 1))
    assert isinstance(early.value, BilingualError)
    assert "2020-04-01" in early.value.text.zh and "2020-04-01" in early.value.text.en


# --- rules show / validate -------------------------------------------------------------------------


def test_rules_show_one_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "show", "wuhan", "dibao.standard", "--as-of", "2022-08-01")
    assert code == 0
    shown = json.loads(out)
    assert sorted(shown["parameters"]) == ["dibao.standard.rural", "dibao.standard.urban"]
    assert shown["parameters"]["dibao.standard.urban"]["value"] == "910"
    assert shown["origins"] == {
        "dibao.standard.rural": "wuhan/2022-04-01.yaml",
        "dibao.standard.urban": "wuhan/2022-04-01.yaml",
    }
    # a field inside a structured value shows the parameter holding it
    code, out, _ = run(
        capsys, "rules", "show", "wuhan", "tekun.basic.urban", "--as-of", "2022-08-01"
    )
    assert code == 0
    assert json.loads(out)["parameters"]["tekun.basic"]["value"]["urban"] == "1820"


@pytest.mark.parametrize(
    ("path", "nearest"),
    [
        ("dibao.standrad.urban", "dibao.standard.urban"),
        ("tekun.basic.urbn", "tekun.basic.urban"),
        ("marginal.multiplyer", "marginal.multiplier"),
    ],
)
def test_rules_show_an_unknown_parameter_names_the_nearest(
    capsys: pytest.CaptureFixture[str], path: str, nearest: str
) -> None:
    code, out, err = run(capsys, "rules", "show", "wuhan", path, "--as-of", "2022-08-01")
    assert (code, out) == (2, "")
    chinese, english = zh_then_en(err)
    assert f"{path}: 规则包中没有此参数；您是否要找：{nearest}" in chinese
    assert f"{path}: no such parameter in the bundle; did you mean: {nearest}" in english


def test_rules_show_a_parameter_like_nothing_names_the_groups(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "rules", "show", "wuhan", "pension", "--as-of", "2022-08-01")
    assert code == 2
    chinese, english = zh_then_en(err)
    assert "参数分组有：" in chinese and "dibao" in chinese
    assert "the parameter groups are: " in english and "dibao" in english


def test_rules_validate_ok_is_bilingual(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "validate")
    assert code == 0
    chinese, english = zh_then_en(out)
    assert chinese.startswith("通过：6 个辖区")
    assert english.startswith("OK: 6 jurisdictions")


def _broken(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return rules


def test_an_invalid_rule_file_is_reported_in_both_languages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = _broken(tmp_path, "wuhan/2021-04-01.yaml", "    standard:\n", "    standrad:\n")
    code, out, err = run(capsys, "--rules", str(rules), "rules", "validate")
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0] == "规则文件无效（1 个问题）："
    assert lines[1] == "rule files are invalid (1 problem):"
    assert (
        lines[2]
        == "  wuhan/2021-04-01.yaml: parameters.dibao.standrad: 不允许的字段（此处没有这个字段）"
    )
    assert (
        lines[3]
        == "  wuhan/2021-04-01.yaml: parameters.dibao.standrad: unknown field, not permitted here"
    )


@pytest.mark.parametrize(
    ("rel", "old", "new", "path", "zh", "en"),
    [
        # YAML syntax
        ("wuhan/2021-04-01.yaml", "    standard:\n", "    standard: [\n", "", "YAML", "YAML"),
        # not a number
        (
            "wuhan/2021-04-01.yaml",
            'urban: {value: "870.00"',
            'urban: {value: "eight"',
            "parameters.dibao.standard.urban.value",
            "应为十进制数",
            "must be a decimal number",
        ),
        # a rule of the format's own validators
        (
            "wuhan/2021-04-01.yaml",
            '(武汉 2021 standard)", confidence: M}\n      rural',
            '(武汉 2021 standard)", confidence: P}\n      rural',
            "parameters.dibao.standard.urban",
            "可信度为 P 时须以 provisional 说明原因",
            "confidence P needs a 'provisional' reason",
        ),
        # the effective date must be the file's
        (
            "wuhan/2021-04-01.yaml",
            "effective_from: 2021-04-01",
            "effective_from: 2021-04-02",
            "effective_from",
            "应与文件名中的日期一致",
            "file name's date",
        ),
    ],
    ids=["yaml-syntax", "not-a-number", "provisional-reason", "effective-date"],
)
def test_rule_file_problems_have_chinese_reasons(
    tmp_path: Path, rel: str, old: str, new: str, path: str, zh: str, en: str
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    target = rules / rel
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(RuleSetError) as caught:
        load_rules(rules)
    problems = caught.value.problems
    assert any(p.path == path and zh in p.reason_zh and en in p.reason for p in problems), problems
    for p in problems:
        assert CJK.search(p.reason_zh), p
        assert not PYDANTIC_WORDING.search(p.reason), p


def test_a_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    rules = _broken(tmp_path, "wuhan/2021-04-01.yaml", "    standard:\n", "    standard: [\n")
    with pytest.raises(RuleSetError) as caught:
        load_rules(rules)
    (problem,) = caught.value.problems
    assert problem.file == "wuhan/2021-04-01.yaml"
    assert re.fullmatch(r"不是有效的 YAML：第 \d+ 行第 \d+ 列有语法错误", problem.reason_zh)
    assert re.match(r"not valid YAML: line \d+, column \d+: ", problem.reason)


# --- what-if overrides -----------------------------------------------------------------------------


def test_an_override_of_an_unknown_parameter_names_the_nearest(rule_base: RuleBase) -> None:
    bundle = rule_base.resolve("wuhan", date(2022, 8, 1))
    with pytest.raises(RuleSetError) as caught:
        bundle.with_overrides({"dibao.standrad.urban": "1000"}, source="caseload --set")
    (problem,) = caught.value.problems
    assert problem.path == "dibao.standrad.urban"
    assert problem.reason_zh.startswith("规则包中没有此参数；您是否要找：dibao.standard.urban")
    assert problem.reason.startswith("no such parameter in the bundle; did you mean: ")
    assert "dibao.standard.urban" in problem.reason
    # printed as one line each in Chinese and English
    assert problem.text.zh.startswith("caseload --set: dibao.standrad.urban: 规则包中没有此参数")
    assert problem.text.en.startswith("caseload --set: dibao.standrad.urban: no such parameter")


def test_an_override_of_an_unknown_field_inside_a_value_names_the_fields(
    rule_base: RuleBase,
) -> None:
    bundle = rule_base.resolve("wuhan", date(2022, 8, 1))
    with pytest.raises(RuleSetError) as caught:
        bundle.with_overrides({"tekun.basic.urbn": "2000"}, source="what-if")
    (problem,) = caught.value.problems
    assert "tekun.basic.urban" in problem.reason_zh and "tekun.basic.urban" in problem.reason
    assert CJK.search(problem.reason_zh)


def test_an_override_with_an_invalid_value_is_explained_in_both_languages(
    rule_base: RuleBase,
) -> None:
    bundle = rule_base.resolve("wuhan", date(2022, 8, 1))
    for overrides in ({"dibao.standard.urban": "a thousand"}, {"tekun.basic.urban": "100"}):
        with pytest.raises(RuleSetError) as caught:
            bundle.with_overrides(overrides, source="what-if")
        for p in caught.value.problems:
            assert CJK.search(p.reason_zh), p
            assert not PYDANTIC_WORDING.search(p.reason), p


def test_the_tekun_floor_problem_is_in_chinese_too(rule_base: RuleBase) -> None:
    bundle = rule_base.resolve("wuhan", date(2022, 8, 1))
    with pytest.raises(RuleSetError) as caught:
        bundle.with_overrides({"tekun.basic.urban": "100"}, source="what-if")
    (problem,) = [p for p in caught.value.problems if p.path == "tekun.basic.urban"]
    assert problem.reason_zh.startswith("特困基本生活标准 100 低于其下限")


# --- the command line itself -----------------------------------------------------------------------


def _argparse_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    with pytest.raises(SystemExit) as caught:
        main(list(argv))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if ": 错误：" in line or ": error: " in line]
    assert len(lines) == 2 and ": 错误：" in lines[0], err
    return lines[0], lines[1]


def test_a_wrong_command_line_is_explained_in_both_languages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    chinese, english = _argparse_error(capsys, "rules", "diff", "wuhan", "2022-13-01", "2022-06-01")
    assert chinese.endswith("参数 date1：不是日期，应写作 YYYY-MM-DD：'2022-13-01'")
    assert english.endswith("argument date1: not a date written YYYY-MM-DD: '2022-13-01'")
    chinese, english = _argparse_error(capsys, "rules", "frobnicate")
    assert "无效的选择 'frobnicate'" in chinese and "invalid choice: 'frobnicate'" in english
    chinese, english = _argparse_error(capsys, "rules", "diff", "wuhan")
    assert "缺少必需的参数：date1, date2" in chinese
    assert "the following arguments are required: date1, date2" in english
    chinese, english = _argparse_error(capsys, "evaluate", "--jsonl", "--explain", "x.json")
    assert "不能与参数 --jsonl 同时使用" in chinese
    chinese, english = _argparse_error(capsys, "rules", "validate", "--colour")
    assert "无法识别的参数：--colour" in chinese


def test_the_refused_request_message_is_bilingual(engine: object) -> None:
    from service.engine import Decider, RequestRejected

    assert isinstance(engine, Decider)
    text = (EXAMPLES / "wuhan-dibao-household-eligible.json").read_text(encoding="utf-8")
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(text.replace('"employed": true', '"employed": "yes"'))
    assert isinstance(caught.value, BilingualError)
    assert caught.value.text.zh == "household.members[0].employed：应为布尔值 true 或 false"
    assert caught.value.text.en == (
        "household.members[0].employed: must be true or false (a JSON boolean)"
    )
