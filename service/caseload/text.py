"""Plain-text tables that line up in a terminal whatever the language.

A Chinese character takes two columns of a terminal, a Latin letter one: columns are padded by
display width (East Asian Wide and Fullwidth characters count 2, combining marks 0), never by
character count.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` columns, left (``<``) or right (``>``) aligned."""
    fill = " " * max(width - display_width(text), 0)
    return text + fill if align == "<" else fill + text


def table(
    header: Sequence[Sequence[str]],
    rows: Sequence[Sequence[str]],
    align: Sequence[str],
    footer: Sequence[Sequence[str]] = (),
) -> list[str]:
    """Lines of a table: header lines (e.g. a Chinese and an English one), a rule, the rows,
    and, after another rule, the footer rows. ``align`` holds ``<`` or ``>`` per column."""
    every = [*header, *rows, *footer]
    widths = [max(display_width(line[c]) for line in every) for c in range(len(align))]

    def render(cells: Sequence[str]) -> str:
        return "  ".join(pad(cell, w, a) for cell, w, a in zip(cells, widths, align, strict=True))

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    lines = [render(h).rstrip() for h in header] + [rule]
    lines += [render(r).rstrip() for r in rows]
    if footer:
        lines.append(rule)
        lines += [render(f).rstrip() for f in footer]
    return lines
