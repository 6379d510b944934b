"""The per-household path: the engine's response reduced to one result row.

Used for rows the vectorised path does not take, and by the tests as the reference the
vectorised path must equal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from service.caseload.layout import RESULT_DECISION_COLUMNS
from service.caseload.vector import BASIS_CODE, STATUS_CODE

# The decision fields of a result row, in the layout's order.
FIELDS = RESULT_DECISION_COLUMNS


def fen(text: str | None) -> int:
    """ "123.45" → 12345; None → -1 (no amount)."""
    if text is None:
        return -1
    return int(Decimal(text) * 100)


def decision_of(response: dict[str, Any]) -> tuple[int, ...]:
    """The decision fields (``FIELDS``) of one response, coded as the vectorised path codes them."""
    programs = response["programs"]
    tekun = programs["tekun"]
    eligible = [m for m in tekun.get("members", []) if m["status"] == "eligible"]
    tekun_amount = sum(fen(m["monthly_amount"]) for m in eligible) if eligible else -1
    dibao = programs["dibao"]
    temporary = programs["temporary"]
    return (
        STATUS_CODE[tekun["status"]],
        len(eligible),
        tekun_amount,
        STATUS_CODE[dibao["status"]],
        BASIS_CODE[dibao.get("basis") or ""],
        len(dibao.get("members", [])) if dibao["status"] == "eligible" else 0,
        fen(dibao.get("monthly_amount")),
        STATUS_CODE[programs["marginal"]["status"]],
        STATUS_CODE[programs["rigid_expenditure"]["status"]],
        STATUS_CODE[temporary["status"]],
        fen(temporary.get("amount")),
        fen(dibao.get("per_capita_income")),
        fen(dibao.get("standard")),
    )
