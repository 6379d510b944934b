"""The vectorised path gives exactly the engine's decisions.

≥ 10,000 households across all six jurisdictions and many dates: the generated caseload mix,
the project's synthetic households, and households built on the rules' edges (``service.synthetic``).
Every program's status, the 低保 basis, every amount, the members covered, the per-capita
income and the standard must be equal, household by household.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from service import synthetic
from service.caseload import layout
from service.caseload.chunks import Chunk, decide_chunk
from service.caseload.columns import EPOCH, from_arrow
from service.caseload.reference import FIELDS, decision_of
from service.caseload.scenarios import RecordDefaults, Scenarios
from service.caseload.vector import NotExact, evaluate_batch, params_for
from service.contract.request import EvaluationRequest
from service.engine import evaluate
from service.synthetic import FIRST_DATES, JURISDICTIONS, LAST_DATE, population


def _dates(rng: random.Random, jurisdiction: str, count: int) -> list[date]:
    first = FIRST_DATES[jurisdiction]
    return [first + timedelta(days=rng.randint(0, (LAST_DATE - first).days)) for _ in range(count)]


@pytest.fixture(scope="module")
def households(rule_base):
    rng = random.Random(20260101)
    out: list[dict] = []
    for jurisdiction in JURISDICTIONS:
        # the caseload generator, on several dates
        for on in _dates(rng, jurisdiction, 4):
            standards = dict(rule_base.resolve(jurisdiction, on).rules.standard)
            out.extend(synthetic.caseload(jurisdiction, 250, rng.randint(0, 10**6), on, standards))
        # edge cases, each on its own date
        for on in _dates(rng, jurisdiction, 600):
            out.append(
                synthetic.edge_household(
                    rng, jurisdiction, on, rule_base.resolve(jurisdiction, on).rules
                )
            )
    out.extend(population(2400, seed=11))  # the project's synthetic households, any date
    for request in out:
        request.pop("id", None)
    return out


def test_vectorised_path_equals_engine(households, rule_base):
    assert len(households) >= 10_000
    requests = [EvaluationRequest.model_validate(r) for r in households]
    assert {r.jurisdiction for r in requests} == set(JURISDICTIONS)
    rows = [
        layout.request_to_row(r.model_dump(mode="json"), str(i)) for i, r in enumerate(requests)
    ]
    groups: dict = defaultdict(list)
    for index, request in enumerate(requests):
        groups[rule_base.resolve(request.jurisdiction, request.as_of)].append(index)
    assert len(groups) >= 30  # many bundles (dates) of every jurisdiction
    compared = 0
    mismatches: Counter = Counter()
    examples = []
    statuses: Counter = Counter()
    for bundle, indexes in groups.items():
        table = pa.Table.from_pylist([rows[i] for i in indexes], schema=layout.arrow_schema())
        batch = from_arrow(table)
        as_of = np.array([(requests[i].as_of - EPOCH).days for i in indexes])
        decisions = evaluate_batch(batch, bundle, as_of)
        for position, index in enumerate(indexes):
            if batch.slow[position]:
                continue
            expected = decision_of(evaluate(requests[index], bundle))
            got = tuple(int(getattr(decisions, f)[position]) for f in FIELDS)
            compared += 1
            statuses[(expected[0], expected[3], expected[7], expected[8], expected[9])] += 1
            if got != expected:
                diff = {f: (e, g) for f, e, g in zip(FIELDS, expected, got, strict=True) if e != g}
                mismatches.update(diff.keys())
                if len(examples) < 5:
                    examples.append((bundle.jurisdiction, str(requests[index].as_of), index, diff))
    assert not mismatches, (mismatches, examples)
    assert compared >= 9_800  # only households without counted members go to the engine
    # every status of every program was exercised
    for field_index in range(5):
        seen = {key[field_index] for key in statuses}
        assert seen >= {0, 1, 2, 3} or field_index == 4 and seen >= {0, 1, 3}, (field_index, seen)


def test_every_shipped_bundle_is_vectorised(rule_base):
    """No shipped bundle falls back to the engine (a new rule the vector path does not know
    would: this test then names it)."""
    for jurisdiction in rule_base.known():
        for switch in rule_base.switch_dates(jurisdiction):
            try:
                params_for(rule_base.resolve(jurisdiction, switch))
            except NotExact as error:  # pragma: no cover - reports which rule
                pytest.fail(f"{jurisdiction} as of {switch}: {error}")


def test_chunk_with_engine_rows_and_annual_standard(rule_base):
    """Rows the vector path refuses go through the engine; a bundle whose standard is not a whole
    number of fen (here 440.005 元) is decided by the engine entirely."""
    on = date(2024, 3, 1)
    bundle = rule_base.resolve("zhumadian", on)
    odd = bundle.with_overrides({"dibao.standard.rural": "440.005"}, source="test")
    rng = random.Random(5)
    requests = [synthetic.edge_household(rng, "zhumadian", on, bundle.rules) for _ in range(300)]
    for request in requests[:5]:  # nobody counted: engine path
        for member in request["household"]["members"]:
            member["excluded"] = "prison"
    rows = [layout.request_to_row(r, f"h{i}") for i, r in enumerate(requests)]
    table = pa.Table.from_pylist(rows, schema=layout.arrow_schema())
    chunk = Chunk(0, "table", table, list(range(1, len(rows) + 1)))
    with pytest.raises(NotExact):
        params_for(odd)
    scenarios = Scenarios(
        rule_base,
        RecordDefaults("zhumadian", on),
        whatif=True,
        overrides=(("dibao.standard.rural", "440.005"),),
        override_source="test",
    )
    outcome = decide_chunk(chunk, scenarios)
    assert outcome.errors == []
    for result, b in zip(outcome.tables, [bundle, odd], strict=True):
        assert result.num_rows == 300
        assert set(result.column("bundle_sha256").to_pylist()) == {b.sha256}
        for row, request in zip(result.to_pylist(), requests, strict=True):
            response = evaluate(EvaluationRequest.model_validate(request), b)
            assert row["tekun_status"] == response["programs"]["tekun"]["status"]
            assert row["dibao_status"] == response["programs"]["dibao"]["status"]
            amount = response["programs"]["dibao"].get("monthly_amount")
            assert (row["dibao_amount"] is None and amount is None) or str(
                row["dibao_amount"]
            ) == amount
