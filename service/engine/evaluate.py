"""Evaluates one household under one resolved bundle: the five programs and their trace.

Order (rules-reference §10), stated here once: 特困 per member → 低保 on the remaining household
(household basis, then gradual exit) → 低保边缘 → 刚性支出 → 单人户 (reported under 低保) →
临时救助. Each program is a module of ``service.engine.programs``.

Three-valued logic throughout: a rule whose fact is missing is ``insufficient_data`` and names
the field; a program is ineligible if a rule fails on known facts, insufficient_data if none
fails but one lacks a fact, eligible if all pass. Where a program has alternative paths (低保:
household, gradual exit, single person) it is eligible if one path is, insufficient_data if none
is but one is undecided, and ineligible only when every path fails.
"""

from __future__ import annotations

from typing import Any

from service.contract.request import EvaluationRequest
from service.engine.bundle import Bundle
from service.engine.case import ALL_PROGRAMS, INSUFFICIENT_DATA, NOT_APPLICABLE, Case, iso
from service.engine.programs import dibao, marginal, rigid_expenditure, tekun, temporary
from service.engine.version import ENGINE_VERSION


def decide(case: Case) -> dict[str, dict[str, Any]]:
    """Every program's result document, in the contract's order."""
    tekun_result = tekun.decide(case)
    eligible = tekun_result.eligible
    remaining = [p for p in case.people if p.id not in eligible] if eligible else case.people
    dibao_result = dibao.household(case, remaining, tekun_result)
    marginal_result = marginal.decide(case, dibao_result, remaining)
    rigid_result = rigid_expenditure.decide(
        case, dibao_result["status"], marginal_result["status"], remaining
    )
    dibao_result = dibao.single_person(
        case, dibao_result, remaining, marginal_result["status"], rigid_result["status"]
    )
    temporary_result = temporary.decide(
        case,
        {
            "dibao": dibao_result["status"],
            "tekun": tekun_result.status,
            "marginal": marginal_result["status"],
        },
        remaining,
    )
    return {
        "tekun": tekun_result.document,
        # 低保 and the three after it are built as documents already
        "dibao": dibao_result,  # type: ignore[dict-item]
        "marginal": marginal_result,  # type: ignore[dict-item]
        "rigid_expenditure": rigid_result,  # type: ignore[dict-item]
        "temporary": temporary_result,  # type: ignore[dict-item]
    }


def evaluate(request: EvaluationRequest, bundle: Bundle) -> dict[str, Any]:
    """The response document (contract) for ``request`` under ``bundle``; pure and deterministic."""
    case = Case(request, bundle)
    programs = decide(case)
    requested = case.requested
    for name in programs if requested is not ALL_PROGRAMS else ():
        if name not in requested:
            # Still evaluated (another program depends on it, e.g. 特困 members leave the 低保
            # household), but reported as not asked for.
            programs[name] = {"status": NOT_APPLICABLE, "reasons": ["not_requested"]}
    # Only the facts that would decide an undecided result (or a 特困 amount) are listed.
    missing = (
        [
            {"field": f, "program": p}
            for (f, p) in case.missing
            if p in requested
            and (programs[p]["status"] == INSUFFICIENT_DATA or f.endswith("self_care_failed_items"))
        ]
        if case.missing
        else []
    )
    return {
        "jurisdiction": case.jurisdiction,
        "as_of": iso(case.as_of),
        "ruleset": {
            "id": bundle.jurisdiction,
            "version": case.place.version_text,
            "sha256": bundle.sha256,
            "components": list(bundle.components),
        },
        "engine_version": ENGINE_VERSION,
        "programs": programs,
        "provisional": sorted(case.provisional),
        "missing": missing,
        "trace": case.trace,
    }
