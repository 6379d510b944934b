"""The what-if chart (PNG): per-capita income against the old and new standards, and cost by
program before and after."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COLOURS = ("#1f77b4", "#d62728", "#2ca02c")


def _yuan(column: Any) -> np.ndarray:
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def whatif_chart(
    before: pa.Table, after: pa.Table, report: dict[str, Any], path: Path, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    income = _yuan(before.column("per_capita_income"))
    old_std = _yuan(before.column("standard"))
    new_std = _yuan(after.column("standard"))
    known = ~np.isnan(income) & ~np.isnan(old_std)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 2]})

    groups = sorted(set(old_std[known].tolist()))[:3]
    top = max([*groups, *new_std[~np.isnan(new_std)].tolist(), 1.0]) * 3
    bins = np.linspace(0, top, 61)
    for colour, standard in zip(COLOURS, groups, strict=False):
        rows = known & (old_std == standard)
        shown = np.clip(income[rows], 0, top)
        left.hist(
            shown,
            bins=bins,
            alpha=0.45,
            color=colour,
            label=f"households on standard {standard:,.2f} ({rows.sum():,})",
        )
        after_values = new_std[rows & ~np.isnan(new_std)]
        new = float(np.median(after_values)) if len(after_values) else standard
        left.axvline(
            standard,
            color=colour,
            linestyle="--",
            linewidth=1.6,
            label=f"old standard {standard:,.2f}",
        )
        left.axvline(
            new, color=colour, linestyle="-", linewidth=2.2, label=f"new standard {new:,.2f}"
        )
    left.set_xlabel("per-capita monthly income, yuan (last bin: at or above)")
    left.set_ylabel("households")
    left.set_title("Per-capita income against the old and new standards")
    left.legend(fontsize=8)

    programs = report["programs"]
    names = ["tekun", "dibao", "total"]
    old = [
        float(Decimal(programs["tekun"]["monthly_cost_before"])),
        float(Decimal(programs["dibao"]["monthly_cost_before"])),
        float(Decimal(report["monthly_cost_before"])),
    ]
    new = [
        float(Decimal(programs["tekun"]["monthly_cost_after"])),
        float(Decimal(programs["dibao"]["monthly_cost_after"])),
        float(Decimal(report["monthly_cost_after"])),
    ]
    x = np.arange(len(names))
    right.bar(x - 0.2, old, width=0.4, color="#999999", label="before")
    right.bar(x + 0.2, new, width=0.4, color="#ff7f0e", label="after")
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        right.annotate(f"{b - a:+,.0f}", (i + 0.2, b), ha="center", va="bottom", fontsize=8)
    right.set_xticks(x, names)
    right.set_ylabel("monthly cost, yuan")
    right.set_title(
        "Monthly cost by program (annual change {:+,.0f})".format(
            float(Decimal(report["annual_cost_change"]))
        )
    )
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
