"""The engine as callers use it: raw request in, response or a list of problems out.

The command line and the HTTP layer both go through ``Engine`` so that they accept and refuse
exactly the same requests with exactly the same problems.
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


class Engine:
    """Holds the loaded rule base; ``reload()`` swaps it atomically (in-flight calls keep theirs)."""

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
        except UnknownJurisdiction as error:
            # The reason lists the known jurisdictions; it does not repeat the submitted value.
            reason = error.reason
            raise RequestRejected(
                [problem("jurisdiction", reason.zh, reason.en, "unknown_jurisdiction")]
            ) from None
        except BeforeFirstVersion as error:
            reason = error.reason
            raise RequestRejected(
                [problem("as_of", reason.zh, reason.en, "before_first_version")]
            ) from None

    def evaluate(self, data: Any) -> dict[str, Any]:
        """Parse, resolve and evaluate; raises RequestRejected for bad input."""
        request = data if isinstance(data, EvaluationRequest) else self.parse(data)
        base = self._rule_base  # one rule base for the whole call, even during a reload
        return evaluate(request, self.bundle_for(request, base))
