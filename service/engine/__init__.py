"""The eligibility engine: rule sets in, decisions with an explanation trace out.

Imports nothing from the HTTP layer or the store. Public API:

- ``load_rules(path)`` → ``RuleBase`` (validated; raises ``RuleSetError``)
- ``RuleBase.resolve(jurisdiction, as_of)`` → ``Bundle`` (canonical JSON, ``sha256``)
- ``evaluate(request, bundle)`` → the contract's response document (a dict)
- ``Decider``: the loaded rule base, request parsing and evaluation, for callers that hold raw
  JSON
"""

from service.engine.bundle import (
    BeforeFirstVersion,
    Bundle,
    RuleBase,
    RuleProblem,
    RuleSetError,
    UnknownJurisdiction,
    diff_bundles,
    load_rules,
)
from service.engine.decider import Decider, RequestRejected, rules_problem
from service.engine.evaluate import evaluate
from service.engine.version import ENGINE_VERSION

__all__ = [
    "ENGINE_VERSION",
    "BeforeFirstVersion",
    "Bundle",
    "Decider",
    "RequestRejected",
    "RuleBase",
    "RuleProblem",
    "RuleSetError",
    "UnknownJurisdiction",
    "diff_bundles",
    "evaluate",
    "load_rules",
    "rules_problem",
]
