"""``eligibility caseload whatif``: zero when nothing changes, and equal to the difference of two
full evaluations when something does."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from service.caseload import layout
from tests.caseload.test_pipeline import AS_OF, cli


@pytest.fixture(scope="module")
def caseload(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("whatif") / "wuhan.parquet"
    assert cli(
        "caseload", "generate", "--jurisdiction", "wuhan", "--households", "3000", "--seed", "5",
        "--as-of", "2025-06-01", "--out", path, "--workers", "1",
    ) == 0  # fmt: skip
    return path


def whatif(caseload: Path, out: Path, *extra: str) -> dict:
    code = cli(
        "caseload", "whatif", caseload, "--jurisdiction", "wuhan", "--as-of", AS_OF,
        "--out-dir", out, "--workers", "1", "--no-progress", *extra,
    )  # fmt: skip
    assert code == 0
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _zero(report: dict) -> None:
    assert report["households_changed"] == 0
    assert Decimal(report["monthly_cost_change"]) == 0
    assert Decimal(report["annual_cost_change"]) == 0
    for entry in report["programs"].values():
        assert entry["gained"] == 0 and entry["lost"] == 0
        assert entry["eligible_before"] == entry["eligible_after"]


def test_no_override_reports_no_change(caseload, tmp_path):
    report = whatif(caseload, tmp_path / "none")
    _zero(report)
    assert report["programs"]["dibao"]["eligible_before"] > 0
    assert pq.read_table(tmp_path / "none" / "diff.parquet").num_rows == 0


def test_override_equal_to_the_baseline_reports_no_change(caseload, tmp_path):
    # 940 is Wuhan's urban standard in force; written differently on purpose
    report = whatif(caseload, tmp_path / "same", "--set", "dibao.standard.urban=940.00")
    assert report["changed"]["sha256"] != report["baseline"]["sha256"]
    _zero(report)


def _evaluate(caseload: Path, out: Path, *extra: str) -> list[dict]:
    code = cli(
        "caseload", "evaluate", caseload, "--jurisdiction", "wuhan", "--as-of", AS_OF,
        "--out", out, "--workers", "1", "--no-progress", "--json", *extra,
    )  # fmt: skip
    assert code == 0
    return pq.read_table(out).to_pylist()


def test_whatif_equals_the_difference_of_two_full_evaluations(caseload, tmp_path, capsys):
    change = ("--set", "dibao.standard.urban=1000", "--set", "dibao.standard.rural=880")
    report = whatif(caseload, tmp_path / "raise", *change)
    capsys.readouterr()
    before = _evaluate(caseload, tmp_path / "before.parquet")
    after = _evaluate(caseload, tmp_path / "after.parquet", *change)
    capsys.readouterr()
    assert report["households"] == len(before) == len(after) == 3000
    changed = 0
    for program, entry in report["programs"].items():
        key = f"{program}_status"
        gained = sum(
            1
            for a, b in zip(before, after, strict=True)
            if a[key] != "eligible" and b[key] == "eligible"
        )
        lost = sum(
            1
            for a, b in zip(before, after, strict=True)
            if a[key] == "eligible" and b[key] != "eligible"
        )
        assert (entry["gained"], entry["lost"]) == (gained, lost), program
    for program in ("tekun", "dibao"):
        old = sum((r[f"{program}_amount"] or Decimal(0) for r in before), Decimal(0))
        new = sum((r[f"{program}_amount"] or Decimal(0) for r in after), Decimal(0))
        assert Decimal(report["programs"][program]["monthly_cost_change"]) == new - old
    total_old = sum((r["tekun_amount"] or 0) + (r["dibao_amount"] or 0) for r in before)
    total_new = sum((r["tekun_amount"] or 0) + (r["dibao_amount"] or 0) for r in after)
    assert Decimal(report["monthly_cost_change"]) == total_new - total_old
    assert Decimal(report["annual_cost_change"]) == (total_new - total_old) * 12
    assert report["programs"]["dibao"]["gained"] > 50  # a higher standard brings households in
    assert Decimal(report["monthly_cost_change"]) > 0
    decision = [
        c for c in layout.RESULT_DECISION_COLUMNS if c not in ("per_capita_income", "standard")
    ]
    changed = sum(
        1 for a, b in zip(before, after, strict=True) if any(a[c] != b[c] for c in decision)
    )
    assert report["households_changed"] == changed
    diff = pq.read_table(tmp_path / "raise" / "diff.parquet").to_pylist()
    assert len(diff) == changed
    first = diff[0]
    row_before = before[first["line"] - 1]
    assert first["dibao_status_before"] == row_before["dibao_status"]
    assert first["standard_after"] in (Decimal("1000.00"), Decimal("880.00"))
    png = (tmp_path / "raise" / "chart.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_compare_with_the_bundle_in_force_on_another_date(caseload, tmp_path, capsys):
    # the records say 2025-06-01: --force-as-of decides them all as of 2022-06-01 instead
    code = cli(
        "caseload", "whatif", caseload, "--as-of", "2022-06-01", "--force-as-of",
        "--compare-as-of", "2023-06-01", "--out-dir", tmp_path, "--workers", "1", "--no-progress",
    )  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "summary.json").read_text())
    assert report["baseline"]["version"] == "2022-04-01"
    assert report["changed"]["version"] == "2023-04-01"
    assert report["overridden"] == {"records": 3000, "jurisdiction": 0, "as_of": 3000}
    assert report["programs"]["dibao"]["gained"] > 0  # 910 → 940 urban, 780 → 820 rural
    out = capsys.readouterr().out
    assert "新增" in out and "gained" in out and "每年" in out and "a year" in out
    assert "记录自带的辖区或日期被覆盖：3,000 户" in out


def test_invalid_override_is_refused(caseload, tmp_path, capsys):
    base = (
        "caseload",
        "whatif",
        caseload,
        "--jurisdiction",
        "wuhan",
        "--as-of",
        AS_OF,
        "--out-dir",
        tmp_path,
    )
    assert cli(*base, "--set", "dibao.standard.urban=abc") == 2
    assert cli(*base, "--set", "dibao.no_such_thing=1") == 2
    err = capsys.readouterr().err
    assert "dibao.no_such_thing" in err
    assert "参数覆盖无效" in err and "override is not valid" in err
    assert "set:dibao.no_such_thing: 参数覆盖无效：规则包中没有此参数" in err
