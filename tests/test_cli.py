"""The ``eligibility`` command line: evaluate (file, stdin, --jsonl, --explain) and rules
(list, show, diff, validate), with the exit codes its help promises (0 ok, 1 refused input,
2 invalid rule files or command line)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service.cli import main
from service.contract.response import EvaluationResponse
from service.engine import Decider
from tests.helpers import EXAMPLES, ROOT, load_example

WUHAN = EXAMPLES / "wuhan-dibao-household-eligible.json"
JURISDICTIONS = [
    "changsha",
    "chongqing",
    "chongqing/banan",
    "chongqing/yubei",
    "wuhan",
    "zhumadian",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- evaluate ----------------------------------------------------------------------------------


def test_evaluate_file_prints_the_response(
    capsys: pytest.CaptureFixture[str], engine: Decider
) -> None:
    code, out, _ = run(capsys, "evaluate", str(WUHAN))
    assert code == 0
    response = json.loads(out)
    EvaluationResponse.model_validate(response)
    assert response == engine.evaluate(load_example(WUHAN.name))
    dibao = response["programs"]["dibao"]
    assert (dibao["status"], dibao["basis"], dibao["monthly_amount"]) == (
        "eligible",
        "household",
        "994.00",
    )


def test_evaluate_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Decider
) -> None:
    text = (EXAMPLES / "changsha-tekun-eligible.json").read_text(encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, _ = run(capsys, "evaluate", "-")
    assert code == 0
    response = json.loads(out)
    assert response == engine.evaluate(text)
    (member,) = response["programs"]["tekun"]["members"]
    assert (member["status"], member["monthly_amount"]) == ("eligible", "1825.00")


def test_evaluate_refused_request_exits_1_with_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    request = load_example(WUHAN.name)
    request["household"]["income"][0]["monthly"] = "-1.00"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    code, out, _ = run(capsys, "evaluate", str(path))
    assert code == 1
    errors = json.loads(out)["errors"]
    assert [e["path"] for e in errors] == ["household.income[0].monthly"]
    assert errors[0]["reason_zh"] and errors[0]["reason_en"]


def test_evaluate_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "evaluate", str(tmp_path / "nowhere.json"))
    assert code == 2
    assert "nowhere.json" in err


def _jsonl_input() -> tuple[str, list[dict[str, Any]]]:
    good = [load_example(WUHAN.name), load_example("zhumadian-single-person-eligible.json")]
    bad_field = load_example(WUHAN.name)
    bad_field["household"]["members"][0]["relation"] = "cousin"
    lines = [
        json.dumps(good[0], ensure_ascii=False),
        '{"jurisdiction": "wuhan", "household": ',  # malformed JSON
        json.dumps(bad_field, ensure_ascii=False),
        json.dumps(good[1], ensure_ascii=False),
    ]
    return "\n".join(lines) + "\n", good


def _check_jsonl(out: str, good: list[dict[str, Any]], engine: Decider) -> None:
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4  # one output line per input line, in order
    assert rows[0] == engine.evaluate(good[0])
    assert rows[0]["programs"]["dibao"]["monthly_amount"] == "994.00"
    assert rows[1]["line"] == 2
    assert rows[1]["errors"] and rows[1]["errors"][0]["type"] == "json_invalid"
    assert rows[2]["line"] == 3
    assert [e["path"] for e in rows[2]["errors"]] == ["household.members[0].relation"]
    for row in rows[1:3]:
        assert "programs" not in row
        for problem in row["errors"]:
            assert set(problem) >= {"path", "reason_zh", "reason_en", "type"}
    # the run did not stop at the refused lines
    assert rows[3] == engine.evaluate(good[1])
    assert rows[3]["programs"]["dibao"]["basis"] == "single_person"


def test_evaluate_jsonl_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: Decider
) -> None:
    text, good = _jsonl_input()
    path = tmp_path / "batch.jsonl"
    path.write_text(text, encoding="utf-8")
    code, out, _ = run(capsys, "evaluate", "--jsonl", str(path))
    assert code == 1  # a line was refused
    _check_jsonl(out, good, engine)


def test_evaluate_jsonl_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Decider
) -> None:
    text, good = _jsonl_input()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, _ = run(capsys, "evaluate", "--jsonl", "-")
    assert code == 1
    _check_jsonl(out, good, engine)


def test_evaluate_jsonl_all_good_exits_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.dumps(load_example(p.name)) for p in sorted(EXAMPLES.glob("*.json"))]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out, _ = run(capsys, "evaluate", "--jsonl", "-")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["jurisdiction"] for r in rows] == [json.loads(line)["jurisdiction"] for line in lines]


def test_evaluate_explain_chinese_then_english(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evaluate", "--explain", str(WUHAN))
    assert code == 0
    assert out.startswith("辖区 武汉市")
    en = out.index("\nJurisdiction Wuhan")  # the English block follows the Chinese one
    chinese, english = out[:en], out[en:]
    assert "Minimum living guarantee" not in chinese and "最低生活保障：" not in english
    # each block states every program's result, and the 低保 amount
    for name in ("特困", "最低生活保障", "低保边缘", "刚性支出", "临时救助"):
        assert name in chinese
    assert "符合" in chinese and "994.00" in chinese
    assert "eligible" in english and "994.00" in english
    assert "910.00" in chinese and "910.00" in english  # the standard used
    assert "700.00" in english  # the per-capita income
    assert "2022年8月1日" in chinese and "2022-08-01" in english
    # the Chinese block is Chinese: its 低保 line carries no English status words
    (dibao_zh,) = [line for line in chinese.splitlines() if line.startswith("■ 最低生活保障")]
    assert "eligible" not in dibao_zh and "994.00" in dibao_zh


def test_evaluate_explain_of_an_ineligible_case_gives_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "evaluate", "--explain", str(EXAMPLES / "zhumadian-dibao-ineligible-assets.json")
    )
    assert code == 0
    en = out.index("\nJurisdiction ")
    (dibao_zh,) = [line for line in out[:en].splitlines() if line.startswith("■ 最低生活保障")]
    assert "不符合" in dibao_zh
    (dibao_en,) = [line for line in out[en:].splitlines() if line.startswith("■ Minimum living")]
    assert "not eligible" in dibao_en


def test_subprocess_evaluate(engine: Decider) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "evaluate", str(WUHAN)],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    response = json.loads(done.stdout.decode("utf-8"))
    assert response == engine.evaluate(load_example(WUHAN.name))


# --- rules -------------------------------------------------------------------------------------


def test_rules_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == JURISDICTIONS
    by_id = {r["id"]: r for r in rows}
    for jid, row in by_id.items():
        files = sorted(p.stem for p in (ROOT / "rules" / jid).glob("????-??-??.yaml"))
        assert row["versions"] == files, jid
    assert by_id["wuhan"]["versions"][:3] == ["2020-04-01", "2021-04-01", "2022-04-01"]
    assert by_id["chongqing/banan"]["parent"] == "chongqing"
    assert by_id["wuhan"]["name_zh"] == "武汉市"


def test_rules_show_gives_the_hash_an_evaluation_reports(
    capsys: pytest.CaptureFixture[str], engine: Decider
) -> None:
    code, out, _ = run(capsys, "rules", "show", "wuhan", "--as-of", "2022-08-01")
    assert code == 0
    shown = json.loads(out)
    response = engine.evaluate(load_example(WUHAN.name))  # as_of 2022-08-01
    assert shown["sha256"] == response["ruleset"]["sha256"]
    assert shown["version"] == response["ruleset"]["version"] == "2022-04-01"
    assert shown["parameters"]["dibao.standard.urban"]["value"] == "910"
    assert shown["origins"]["dibao.standard.urban"] == "wuhan/2022-04-01.yaml"


def test_rules_show_unknown_jurisdiction_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "show", "atlantis", "--as-of", "2022-08-01")
    assert code == 2
    assert "atlantis" in err


def test_rules_diff(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "diff", "wuhan", "2021-06-01", "2022-06-01")
    assert code == 0
    diff = json.loads(out)
    changes = {c["parameter"]: c for c in diff["changes"]}
    urban = changes["dibao.standard.urban"]
    assert (float(urban["old"]), float(urban["new"])) == (870, 910)
    assert float(changes["dibao.standard.rural"]["old"]) == 730
    assert float(changes["dibao.standard.rural"]["new"]) == 780
    # only what changed is listed
    assert "marginal.multiplier" not in changes
    assert diff["from"]["sha256"] != diff["to"]["sha256"]


def test_rules_diff_same_bundle_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "diff", "wuhan", "2022-05-01", "2022-08-01")
    assert code == 0
    diff = json.loads(out)
    assert diff["changes"] == []
    assert diff["from"]["sha256"] == diff["to"]["sha256"]


def test_rules_validate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "validate")
    assert code == 0
    assert "6 jurisdictions" in out


def test_rules_validate_broken_copy_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "wuhan" / "2021-04-01.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("    standard:\n", "    standrad:\n"),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "--rules", str(rules), "rules", "validate")
    assert code == 2
    assert "OK" not in out
    assert "wuhan/2021-04-01.yaml" in err
    assert "dibao.standrad" in err


def test_bad_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["rules", "diff", "wuhan", "not-a-date", "2022-06-01"])
    assert caught.value.code == 2
    capsys.readouterr()


def test_the_parser_has_every_sub_command_without_anything_imported_first() -> None:
    # A fresh process builds the parser from service.cli alone: the packages below do not have
    # to be imported (and register themselves) first.
    code = (
        "from service.cli import build_parser;"
        "p = build_parser();"
        "s = [a for a in p._actions if a.__class__.__name__ == '_SubParsersAction'][0];"
        "print(' '.join(s.choices))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert done.stdout.decode().split() == [
        "evaluate",
        "rules",
        "serve",
        "db",
        "keys",
        "audit",
        "caseload",
    ]


@pytest.mark.parametrize(
    ("module", "args", "usage"),
    [
        ("service.cli", ["keys", "list", "--help"], "usage: eligibility keys list"),
        ("service.cli", ["caseload", "whatif", "--help"], "usage: eligibility caseload whatif"),
        ("service.cli", ["caseload", "generate", "--help"], "usage: eligibility caseload generate"),
    ],
)
def test_python_dash_m_runs_every_sub_command(module: str, args: list[str], usage: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert done.stdout.decode("utf-8").startswith(usage)
