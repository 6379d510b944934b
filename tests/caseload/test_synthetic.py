"""The one household generator keeps its households: benchmarks' figures and the equality checks
across commits (``benchmarks/same_decisions.py``, the vectorised-vs-engine tests) compare
decisions on these exact households, so a seed must give the same ones from commit to commit."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date

from service import synthetic
from service.contract.request import EvaluationRequest


def _digest(requests: list[dict]) -> str:
    text = json.dumps(requests, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def test_each_mix_gives_the_same_households_for_a_seed(rule_base) -> None:
    on = date(2025, 7, 1)
    rules = rule_base.resolve("wuhan", on).rules
    mixed = synthetic.population(3000, 7, "wuhan", on)
    annual = list(synthetic.caseload("changsha", 500, 3, on, dict(rules.standard), 10_200))
    rng = random.Random(20260101)
    edges = [synthetic.edge_household(rng, "wuhan", on, rules) for _ in range(400)]
    assert _digest(synthetic.population(20_000, seed=0)) == "ce59d557e7368ef5"
    assert _digest(mixed) == "d101075aff78f3fd"
    assert [r["id"] for r in annual[:2]] == ["H0010201", "H0010202"]
    assert _digest(annual) == "ddc266782b99cd40"
    assert _digest(edges) == "f0b7d8e9a485ba4e"
    for request in [*mixed[:300], *annual, *edges]:
        request = {k: v for k, v in request.items() if k != "id"}
        EvaluationRequest.model_validate(request)  # every household is a valid request
