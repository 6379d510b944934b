"""The batch forms declare the rules they apply, and a rule none of them knows is never applied.

Each program module declares, beside its batch form, the compiled rules it reads
(``BATCH_RULES``, ``BATCH_FIELDS``); ``service.engine.programs.arrays`` the shared ones. A bundle
with a rule outside their union goes to the per-household engine (``NotExact``): slower, never a
different decision.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from service.caseload.vector import KNOWN_RULES, NotExact, batch_params
from service.engine.compiled import Rules
from service.engine.programs import arrays, dibao, marginal, rigid_expenditure, tekun, temporary
from service.engine.ruleset import GradualExit

DECLARED = {
    "arrays": arrays.SHARED_RULES,
    "tekun": tekun.BATCH_RULES,
    "dibao": dibao.BATCH_RULES,
    "marginal": marginal.BATCH_RULES,
    "rigid_expenditure": rigid_expenditure.BATCH_RULES,
    "temporary": temporary.BATCH_RULES,
}


def test_every_declared_rule_is_a_compiled_rule() -> None:
    fields = {field.name for field in dataclasses.fields(Rules)}
    for module, names in DECLARED.items():
        assert names <= fields, (module, sorted(names - fields))


def test_every_compiled_rule_is_declared_by_a_batch_form() -> None:
    fields = {field.name for field in dataclasses.fields(Rules)}
    assert fields <= KNOWN_RULES, sorted(fields - KNOWN_RULES)


def _rules(rule_base) -> Rules:
    return rule_base.resolve("wuhan", date(2025, 7, 1)).rules


def test_shipped_rules_give_batch_parameters(rule_base) -> None:
    params = batch_params(_rules(rule_base))
    assert params.shared.standard[1] > 0  # the urban standard, in fen


def test_a_compiled_rule_no_batch_form_knows_goes_to_the_engine(rule_base) -> None:
    rules = _rules(rule_base)
    grown = dataclasses.make_dataclass(
        "Rules", [("second_business_excluded", bool, dataclasses.field(default=True))],
        bases=(Rules,), frozen=True,
    )  # fmt: skip
    values = {field.name: getattr(rules, field.name) for field in dataclasses.fields(Rules)}
    with pytest.raises(NotExact, match="second_business_excluded"):
        batch_params(grown(**values))


def test_a_structured_rule_field_no_batch_form_knows_goes_to_the_engine(rule_base) -> None:
    rules = _rules(rule_base)

    class GrownGradualExit(GradualExit):
        minimum_months_on_dibao: int | None = None

    GrownGradualExit.__name__ = "GradualExit"  # the same model, grown by one field
    unset = GrownGradualExit(**rules.gradual_exit.model_dump())
    assert batch_params(dataclasses.replace(rules, gradual_exit=unset))  # unset: no change
    grown = GrownGradualExit(**rules.gradual_exit.model_dump(), minimum_months_on_dibao=6)
    with pytest.raises(NotExact, match="GradualExit.minimum_months_on_dibao"):
        batch_params(dataclasses.replace(rules, gradual_exit=grown))
