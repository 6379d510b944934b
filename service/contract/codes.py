"""The response's vocabularies, apart from its models: cheap to import where only the words are
needed (the caseload's batch forms code a status as its place in ``Status``)."""

from __future__ import annotations

from typing import Literal

Status = Literal["eligible", "ineligible", "insufficient_data", "not_applicable"]
Outcome = Literal["pass", "fail", "not_applicable", "insufficient_data"]
DibaoBasis = Literal["household", "gradual_exit", "single_person"]
"""How a 低保 household qualifies: on its own income, in gradual exit, or a member alone."""
