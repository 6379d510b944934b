"""The per-household path: the engine's response reduced to one result row.

Used for rows the vectorised path does not take, and by the tests as the reference the
vectorised path must equal.

A result row codes a status or a 低保 basis as a small integer: its place in the contract's own
vocabulary (``service/contract/response.py``), listed once for both paths in
``service.engine.programs.arrays`` (``STATUSES``, ``BASES``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from service.caseload.layout import RESULT_DECISION_COLUMNS
from service.engine.programs.arrays import BASIS_CODE, STATUS_CODE

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
    eligible = [member for member in tekun.get("members", []) if member["status"] == "eligible"]
    tekun_amount = sum(fen(member["monthly_amount"]) for member in eligible) if eligible else -1
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
