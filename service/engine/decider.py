"""The engine as callers use it: raw request in, response or a list of problems out.

The command line and the HTTP layer both go through a :class:`Decider` so that they accept and
refuse exactly the same requests with exactly the same problems.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.bilingual import BilingualError
from service.contract.errors import problem, problems_from_validation
from service.contract.request import EvaluationRequest
from service.engine.bundle import (
    DEFAULT_RULES_DIR,
    BeforeFirstVersion,
    Bundle,
    RuleBase,
    UnknownJurisdiction,
    load_rules,
)
from service.engine.evaluate import evaluate


class RequestRejected(BilingualError):
    """The request does not fit the contract; ``problems`` name each field, in zh and en."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        super().__init__(
            "；".join(f"{p['path'] or '请求'}：{p['reason_zh']}" for p in problems),
            "; ".join(f"{p['path'] or 'request'}: {p['reason_en']}" for p in problems),
        )


def rules_problem(
    error: UnknownJurisdiction | BeforeFirstVersion, date_path: str = "as_of"
) -> dict[str, str]:
    """The problem of a request no rules cover: at ``jurisdiction`` for an unknown one, at
    ``date_path`` for a date before its first rule version. The reason lists the known
    jurisdictions or the first date; it never repeats the submitted value."""
    if isinstance(error, UnknownJurisdiction):
        return problem("jurisdiction", error.reason.zh, error.reason.en, "unknown_jurisdiction")
    return problem(date_path, error.reason.zh, error.reason.en, "before_first_version")


class Decider:
    """Decides requests under the loaded rule base: parses a request against the contract,
    resolves the bundle in force and evaluates it. ``reload()`` swaps the rule base atomically
    (calls in flight keep theirs)."""

    def __init__(
        self, rules_dir: Path | str = DEFAULT_RULES_DIR, rule_base: RuleBase | None = None
    ):
        self.rules_dir = Path(rules_dir)
        self._rule_base = rule_base or load_rules(self.rules_dir)
        self._lock = threading.Lock()

    @property
    def rule_base(self) -> RuleBase:
        return self._rule_base

    def reload(self) -> RuleBase:
        """Loads and validates ``rules/`` again; raises RuleSetError and keeps the old rules if invalid."""
        fresh = load_rules(self.rules_dir)
        with self._lock:
            self._rule_base = fresh
        return fresh

    def parse(self, data: Any) -> EvaluationRequest:
        if isinstance(data, str | bytes):
            try:
                return EvaluationRequest.model_validate_json(data)
            except ValidationError as error:
                raise RequestRejected(problems_from_validation(error)) from None
        if not isinstance(data, dict):
            raise RequestRejected(
                [
                    problem(
                        "",
                        "请求应为 JSON 对象（{…}）",
                        "the request must be a JSON object ({…})",
                        "model_type",
                    )
                ]
            )
        try:
            return EvaluationRequest.model_validate(data)
        except ValidationError as error:
            raise RequestRejected(problems_from_validation(error)) from None

    def bundle_for(self, request: EvaluationRequest, rule_base: RuleBase | None = None) -> Bundle:
        base = rule_base or self._rule_base
        try:
            return base.resolve(request.jurisdiction, request.as_of)
        except (UnknownJurisdiction, BeforeFirstVersion) as error:
            raise RequestRejected([rules_problem(error)]) from None

    def evaluate(self, data: Any) -> dict[str, Any]:
        """Parse, resolve and evaluate; raises RequestRejected for bad input."""
        request = data if isinstance(data, EvaluationRequest) else self.parse(data)
        base = self._rule_base  # one rule base for the whole call, even during a reload
        return evaluate(request, self.bundle_for(request, base))
