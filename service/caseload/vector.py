"""The caseload's batch path: the five programs' batch forms, run in the engine's order.

Each program's batch form (its decision on whole arrays of households, without the trace) is the
"batch form" section at the end of its module in ``service.engine.programs``, beside its
per-household form; what they share (the batch's columns, codes, exact fen and dates, the asset
test) is ``service.engine.programs.arrays``. This module builds their parameters once per bundle,
sends a bundle with a rule no batch form knows to the per-household engine (``NotExact``), calls
the programs in the order ``service.engine.evaluate.decide`` does (each takes what the earlier
ones decided), and reports the programs a household did not ask for as not applicable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.engine.bundle import Bundle
from service.engine.compiled import Rules
from service.engine.programs import arrays, dibao, marginal, rigid_expenditure, tekun, temporary
from service.engine.programs.arrays import Batch, NotExact

__all__ = [
    "KNOWN_FIELDS",
    "KNOWN_RULES",
    "Decisions",
    "NotExact",
    "batch_params",
    "evaluate_batch",
    "params_for",
]

# The rules the batch forms know how to apply, each declared by the module that reads it. If the
# engine grows a rule (a new field in the compiled rules or in a structured parameter), the bundle
# goes to the per-household engine until a batch form learns it: never a silently different
# decision.
KNOWN_RULES = (
    arrays.SHARED_RULES
    | tekun.BATCH_RULES
    | dibao.BATCH_RULES
    | marginal.BATCH_RULES
    | rigid_expenditure.BATCH_RULES
    | temporary.BATCH_RULES
)


def _union(*declared: dict[str, set[str]]) -> dict[str, set[str]]:
    """Model name → the fields any of the ``declared`` tables knows."""
    out: dict[str, set[str]] = {}
    for table in declared:
        for model, names in table.items():
            out.setdefault(model, set()).update(names)
    return out


KNOWN_FIELDS = _union(arrays.SHARED_FIELDS, dibao.BATCH_FIELDS, temporary.BATCH_FIELDS)


@dataclass
class Params:
    """Every program's batch parameters under one bundle."""

    rules: Rules
    shared: arrays.SharedParams
    tekun: tekun.BatchParams
    dibao: dibao.BatchParams
    marginal: marginal.BatchParams
    rigid_expenditure: rigid_expenditure.BatchParams
    temporary: temporary.BatchParams


_PARAMS: dict[str, Params] = {}


def params_for(bundle: Bundle) -> Params:
    """``batch_params`` of the bundle's rules, built once per bundle."""
    cached = _PARAMS.get(bundle.sha256)
    if cached is None:
        cached = _PARAMS[bundle.sha256] = batch_params(bundle.rules)
    return cached


def batch_params(rules: Rules) -> Params:
    """Every program's batch parameters; raises ``NotExact`` for a rule no batch form knows or a
    value it cannot apply exactly."""
    names = arrays.rules_fields(rules)
    if names - KNOWN_RULES:
        raise NotExact(f"unknown rules {sorted(names - KNOWN_RULES)}")
    for name in names:
        arrays.check_known(getattr(rules, name), KNOWN_FIELDS)
    return Params(
        rules=rules,
        shared=arrays.shared_params(rules),
        tekun=tekun.batch_params(rules),
        dibao=dibao.batch_params(rules),
        marginal=marginal.batch_params(rules),
        rigid_expenditure=rigid_expenditure.batch_params(rules),
        temporary=temporary.batch_params(rules),
    )


@dataclass
class Decisions:
    """One entry per household; amounts in fen, -1 for none; statuses and bases as codes
    (``arrays.STATUSES``, ``arrays.BASES``)."""

    tekun_status: np.ndarray
    tekun_members: np.ndarray
    tekun_amount: np.ndarray
    dibao_status: np.ndarray
    dibao_basis: np.ndarray
    dibao_members: np.ndarray
    dibao_amount: np.ndarray
    marginal_status: np.ndarray
    rigid_expenditure_status: np.ndarray
    temporary_status: np.ndarray
    temporary_amount: np.ndarray
    per_capita_income: np.ndarray
    standard: np.ndarray


def evaluate_batch(batch: Batch, bundle: Bundle, as_of: np.ndarray) -> Decisions:
    """Every household of ``batch`` under ``bundle``, each on its ``as_of`` (days since
    1970-01-01).

    Rows flagged ``batch.slow`` get meaningless values here: the caller decides them one by one.
    Raises ``NotExact`` if the bundle has a parameter this path cannot use exactly.
    """
    params = params_for(bundle)
    facts = arrays.households(batch, params.shared, as_of)
    # the order of service.engine.evaluate.decide: 低保's household test comes after 特困,
    # its single-person households after 低保边缘 and 刚性支出
    tekun_result = tekun.decide_batch(batch, params.tekun, params.shared, facts)
    dibao_result = dibao.decide_batch(batch, params.dibao, params.shared, facts, tekun_result)
    marginal_result = marginal.decide_batch(batch, params.marginal, facts, dibao_result)
    rigid_result = rigid_expenditure.decide_batch(
        batch, params.rigid_expenditure, facts, dibao_result, marginal_result
    )
    dibao_result = dibao.single_person_batch(
        batch,
        params.dibao,
        facts,
        dibao_result,
        {"marginal": marginal_result.status, "rigid_expenditure": rigid_result.status},
    )
    temporary_result = temporary.decide_batch(
        batch, params.temporary, facts, tekun_result, dibao_result, marginal_result
    )
    decisions = Decisions(
        tekun_status=tekun_result.status,
        tekun_members=tekun_result.members,
        tekun_amount=tekun_result.amount,
        dibao_status=dibao_result.status,
        dibao_basis=dibao_result.basis,
        dibao_members=dibao_result.members,
        dibao_amount=dibao_result.amount,
        marginal_status=marginal_result.status,
        rigid_expenditure_status=rigid_result.status,
        temporary_status=temporary_result.status,
        temporary_amount=temporary_result.amount,
        per_capita_income=np.where(
            dibao_result.per_capita_known, dibao_result.per_capita_income, -1
        ),
        standard=np.where(facts.standard_known, facts.standard, -1),
    )
    _not_requested(decisions, batch.requested)
    decisions.tekun_amount = np.where(decisions.tekun_members > 0, decisions.tekun_amount, -1)
    return decisions


def _not_requested(decisions: Decisions, requested: np.ndarray) -> None:
    """Programs a household did not ask for are reported as not applicable (still decided: a
    later program may depend on them)."""
    for index, program in enumerate(arrays.PROGRAMS):
        off = ~requested[:, index]
        if not off.any():
            continue
        if program == "tekun":
            decisions.tekun_status[off] = arrays.NOT_APPLICABLE
            decisions.tekun_members[off] = 0
            decisions.tekun_amount[off] = 0
        elif program == "dibao":
            decisions.dibao_status[off] = arrays.NOT_APPLICABLE
            decisions.dibao_basis[off] = 0
            decisions.dibao_members[off] = 0
            decisions.dibao_amount[off] = -1
            decisions.per_capita_income[off] = -1
            decisions.standard[off] = -1
        elif program == "marginal":
            decisions.marginal_status[off] = arrays.NOT_APPLICABLE
        elif program == "rigid_expenditure":
            decisions.rigid_expenditure_status[off] = arrays.NOT_APPLICABLE
        else:
            decisions.temporary_status[off] = arrays.NOT_APPLICABLE
            decisions.temporary_amount[off] = -1
