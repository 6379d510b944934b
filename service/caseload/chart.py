"""The what-if chart (PNG), in Chinese for the people who decide: households gained and lost per
program (the figure asked for first), the monthly cost by program before and after in 元, and
per-capita income against the old and new 城市/农村 standards.

Chinese text needs a CJK font: Noto Sans SC (SIL Open Font License), shipped by the
``pylopdf-fonts-zh-cn`` package, is registered with matplotlib from the package's own file (no
download at run time); Latin text and digits stay in matplotlib's DejaVu Sans, and each glyph
falls back to the next family that has it.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from service.caseload.run import PROGRAM_LABELS, string_columns

RESIDENCE_NAMES = {"urban": "城市", "rural": "农村"}
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
GAINED, LOST = "#2ca02c", "#d62728"


@cache
def cjk_font_families() -> tuple[str, ...]:
    """Register the packaged Noto Sans SC with matplotlib; the font families to draw with."""
    from matplotlib import font_manager
    from pylopdf_fonts_zh_cn import sans_path

    path = str(sans_path())
    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
    return ("DejaVu Sans", name)


def yuan_label(value: float) -> str:
    """An axis or bar label in 元 with thousands separators: ``12,345,678 元``."""
    return f"{value:,.0f} 元"


def _floats(column: Any) -> np.ndarray:
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def _standard_names(rule_base: Any, before: pa.Table) -> dict[float, str]:
    """Each 低保 standard of the baseline bundles → its name: 城市 / 农村 (or 城乡 where one
    standard serves both), after the jurisdiction's Chinese name if there are several."""
    from service.engine.bundle import Bundle

    keys = ["jurisdiction", "bundle_version"]
    pairs = string_columns(before, keys).group_by(keys).aggregate([]).to_pylist()
    jurisdictions = {pair["jurisdiction"] for pair in pairs}
    names: dict[float, set[str]] = {}
    for pair in pairs:
        bundle: Bundle = rule_base.resolve(pair["jurisdiction"], pair["bundle_version"])
        rules = bundle.rules
        prefix = ""
        if len(jurisdictions) > 1:
            meta = rule_base.jurisdictions.get(pair["jurisdiction"])
            prefix = (meta.name_zh if meta else pair["jurisdiction"]) + " "
        for residence, amount in rules.standard.items():
            label = "城乡" if rules.standard_unified else RESIDENCE_NAMES[residence]
            names.setdefault(float(amount), set()).add(prefix + label)
    return {value: "、".join(sorted(labels)) for value, labels in names.items()}


def build_chart(
    before: pa.Table, after: pa.Table, report: dict[str, Any], title: str, rule_base: Any
) -> Any:
    """The matplotlib Figure (not yet saved)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    families = cjk_font_families()
    with plt.rc_context({"font.family": list(families), "axes.unicode_minus": True}):
        fig = plt.figure(figsize=(13, 9.5))
        grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.1], width_ratios=[1, 1])
        flows = fig.add_subplot(grid[0, 0])
        cost = fig.add_subplot(grid[0, 1])
        income_axes = fig.add_subplot(grid[1, :])
        money = FuncFormatter(lambda value, _: yuan_label(value))

        # households gained and lost per program
        programs = list(report["programs"])
        names = [PROGRAM_LABELS[program] for program in programs]
        gained = [report["programs"][program]["gained"] for program in programs]
        lost = [report["programs"][program]["lost"] for program in programs]
        bars = np.arange(len(programs))
        flows.barh(bars, gained, color=GAINED, label="新增（获得资格）")
        flows.barh(bars, [-count for count in lost], color=LOST, label="失去资格")
        for row, (gain, loss) in enumerate(zip(gained, lost, strict=True)):
            if gain or not loss:
                flows.annotate(f"+{gain:,}" if gain else "无变化", (gain, row), xytext=(3, 0),
                               textcoords="offset points", va="center", ha="left",
                               fontsize=9)  # fmt: skip
            if loss:
                flows.annotate(f"−{loss:,}", (-loss, row), xytext=(-3, 0),
                               textcoords="offset points", va="center", ha="right",
                               fontsize=9)  # fmt: skip
        flows.set_yticks(bars, names)
        flows.invert_yaxis()
        flows.axvline(0, color="#333333", linewidth=0.8)
        widest = max([*gained, *lost, 1])
        flows.set_xlim(-widest * 1.35, widest * 1.35)
        flows.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{abs(value):,.0f}"))
        flows.set_xlabel("户数")
        flows.set_title("各项目新增与失去资格的家庭")
        flows.legend(fontsize=8, loc="lower right")

        # monthly cost by program before and after
        labels = ["特困", "低保", "合计"]
        old = [
            float(Decimal(report["programs"]["tekun"]["monthly_cost_before"])),
            float(Decimal(report["programs"]["dibao"]["monthly_cost_before"])),
            float(Decimal(report["monthly_cost_before"])),
        ]
        new = [
            float(Decimal(report["programs"]["tekun"]["monthly_cost_after"])),
            float(Decimal(report["programs"]["dibao"]["monthly_cost_after"])),
            float(Decimal(report["monthly_cost_after"])),
        ]
        positions = np.arange(len(labels))
        cost.bar(positions - 0.2, old, width=0.4, color="#999999", label="调整前")
        cost.bar(positions + 0.2, new, width=0.4, color="#ff7f0e", label="调整后")
        for position, (cost_before, cost_after) in enumerate(zip(old, new, strict=True)):
            cost.annotate(
                f"{cost_after - cost_before:+,.0f} 元",
                (position + 0.2, cost_after),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        cost.set_xticks(positions, labels)
        cost.yaxis.set_major_formatter(money)
        cost.set_ylabel("每月支出")
        annual = float(Decimal(report["annual_cost_change"]))
        cost.set_title(f"各项目每月支出（全年变化 {annual:+,.0f} 元）")
        cost.legend(fontsize=8)

        # per-capita income against the old and new standards
        income = _floats(before.column("per_capita_income"))
        old_std = _floats(before.column("standard"))
        new_std = _floats(after.column("standard"))
        known = ~np.isnan(income) & ~np.isnan(old_std)
        standard_names = _standard_names(rule_base, before) if before.num_rows else {}
        groups = sorted(set(old_std[known].tolist()))[: len(COLOURS)]
        top = max([*groups, *new_std[~np.isnan(new_std)].tolist(), 1.0]) * 3
        bins = np.linspace(0, top, 61)
        for colour, standard in zip(COLOURS, groups, strict=False):
            rows = known & (old_std == standard)
            name = standard_names.get(standard, "")
            income_axes.hist(
                np.clip(income[rows], 0, top), bins=bins, alpha=0.45, color=colour,
                label=f"{name}家庭（{int(rows.sum()):,} 户）",
            )  # fmt: skip
            after_values = new_std[rows & ~np.isnan(new_std)]
            changed = float(np.median(after_values)) if len(after_values) else standard
            income_axes.axvline(
                standard, color=colour, linestyle="--", linewidth=1.6,
                label=f"{name}原标准 {yuan_label(standard)}",
            )  # fmt: skip
            income_axes.axvline(
                changed, color=colour, linestyle="-", linewidth=2.2,
                label=f"{name}新标准 {yuan_label(changed)}",
            )  # fmt: skip
        income_axes.xaxis.set_major_formatter(money)
        income_axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        income_axes.set_xlabel("家庭月人均收入（最后一格：该值及以上）")
        income_axes.set_ylabel("户数")
        income_axes.set_title("月人均收入与调整前后的低保标准")
        if groups:
            income_axes.legend(fontsize=8, ncol=2)
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
    return fig


def whatif_chart(
    before: pa.Table,
    after: pa.Table,
    report: dict[str, Any],
    path: Path,
    title: str,
    rule_base: Any,
) -> None:
    import matplotlib.pyplot as plt

    fig = build_chart(before, after, report, title, rule_base)
    with plt.rc_context({"font.family": list(cjk_font_families())}):
        fig.savefig(path, dpi=110)
    plt.close(fig)
