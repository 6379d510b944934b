"""The what-if chart speaks Chinese, in 元, and leads with who gains and who loses."""

from __future__ import annotations

import io
import warnings
from datetime import date

import pyarrow as pa
import pytest

from service import synthetic
from service.caseload import layout
from service.caseload.chart import build_chart
from service.caseload.chunks import Chunk, decide_chunk
from service.caseload.run import compare
from service.caseload.scenarios import RecordDefaults, Scenarios

ON = date(2025, 7, 1)


@pytest.fixture(scope="module")
def whatif(rule_base) -> tuple[pa.Table, pa.Table, dict]:
    standards = rule_base.resolve("wuhan", ON).rules.standard
    rows = [
        layout.request_to_row(r, r["id"])
        for r in synthetic.caseload("wuhan", 3000, 11, ON, dict(standards))
    ]
    table = pa.Table.from_pylist(rows, schema=layout.arrow_schema())
    scenarios = Scenarios(
        rule_base,
        RecordDefaults(),
        whatif=True,
        overrides=(("dibao.standard.urban", "1100"), ("dibao.standard.rural", "900")),
    )
    outcome = decide_chunk(Chunk(0, "table", table, list(range(1, 3001))), scenarios)
    before, after = outcome.tables
    report, _ = compare(before, after)
    return before, after, report


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]


def test_chart_is_in_chinese_with_no_missing_glyph(whatif, rule_base):
    before, after, report = whatif
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" would be raised here
        fig = build_chart(before, after, report, "假设分析：低保标准调整", rule_base)
        fig.savefig(io.BytesIO(), format="png", dpi=60)
    flows, cost, income = fig.axes[:3]
    # households gained and lost, per program, by their Chinese names
    assert [t.get_text() for t in flows.get_yticklabels()] == [
        "特困", "低保", "低保边缘", "刚性支出", "临时救助",
    ]  # fmt: skip
    programs = list(report["programs"])
    widths = [round(p.get_width()) for p in flows.patches]
    assert widths == [report["programs"][p]["gained"] for p in programs] + [
        -report["programs"][p]["lost"] for p in programs
    ]
    assert report["programs"]["dibao"]["gained"] > 0
    assert f"+{report['programs']['dibao']['gained']:,}" in _texts(flows)
    # money in 元 with thousands separators, never in scientific notation
    money = [t.get_text() for t in cost.get_yticklabels()] + [
        t.get_text() for t in income.get_xticklabels()
    ]
    assert all(text.endswith(" 元") for text in money if text)
    assert any("," in text for text in money)
    assert cost.yaxis.get_offset_text().get_text() == ""
    assert not any("e+" in t or "1e" in t for t in _texts(fig))
    # 城市 / 农村 standards instead of "standard 940.00"
    legend = [t.get_text() for t in income.get_legend().get_texts()]
    assert any(t.startswith("城市原标准 940 元") for t in legend), legend
    assert any(t.startswith("农村新标准 900 元") for t in legend), legend
    assert not any("standard" in t for t in _texts(fig))
    assert [t.get_text() for t in cost.get_xticklabels()] == ["特困", "低保", "合计"]
