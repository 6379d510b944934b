"""Runs the example cases kept beside each jurisdiction's rules (OpenFisca style).

Every ``rules/<jurisdiction>/tests/*.yaml`` is a list of cases::

    - name: short description
      input: {...the contract request without jurisdiction (it is the folder)...}
      expected:
        dibao: {status: eligible, basis: household, monthly_amount: "630.00"}
        members: {p1: {status: eligible, care_tier: full}}   # 特困, per member
        ruleset: {version: "2022-04-01"}                       # optional
        steps: [{step: dibao.income_test, outcome: pass, values: {standard: "630.00"}}]

``expected.<program>`` lists only the fields to check; each is compared exactly.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.engine import Decider
from tests.helpers import ROOT

RULES = ROOT / "rules"
PROGRAMS = ("tekun", "dibao", "marginal", "rigid_expenditure", "temporary")
EXPECTED_KEYS = {*PROGRAMS, "members", "ruleset", "steps"}
CASE_FILES = sorted(RULES.glob("**/tests/*.yaml"))


def jurisdiction_of(path: Path) -> str:
    """rules/chongqing/banan/tests/x.yaml → chongqing/banan."""
    return path.parent.parent.relative_to(RULES).as_posix()


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings, so the input is the contract JSON."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _load(path: Path) -> list[dict[str, Any]]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(cases, list) and cases, f"{path}: a non-empty list of cases"
    return [_plain(c) for c in cases]


def _params() -> list[Any]:
    out = []
    for path in CASE_FILES:
        rel = path.relative_to(RULES).as_posix()
        for index, case in enumerate(_load(path)):
            name = case.get("name") or f"case {index}"
            out.append(pytest.param(path, case, id=f"{rel}::{name}"))
    return out


def _check_fields(where: str, actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    problems = []
    for key, want in expected.items():
        if key not in actual:
            problems.append(f"{where}.{key}: not in the response")
        elif actual[key] != want:
            problems.append(f"{where}.{key}: expected {want!r}, got {actual[key]!r}")
    return problems


def compare(response: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Every difference between the response and the expected fields, as readable lines."""
    unknown = set(expected) - EXPECTED_KEYS
    problems = [f"unknown expected key(s): {sorted(unknown)}"] if unknown else []
    for program in PROGRAMS:
        if program in expected:
            problems += _check_fields(program, response["programs"][program], expected[program])
    members = {m["member"]: m for m in response["programs"]["tekun"].get("members", [])}
    for member, want in (expected.get("members") or {}).items():
        if member not in members:
            problems.append(f"members.{member}: no 特困 result for this member")
        else:
            problems += _check_fields(f"members.{member}", members[member], want)
    if "ruleset" in expected:
        problems += _check_fields("ruleset", response["ruleset"], expected["ruleset"])
    for want in expected.get("steps") or []:
        found = [
            s
            for s in response["trace"]
            if s["step"] == want["step"] and s["member"] == want.get("member")
        ]
        where = f"step {want['step']}" + (f"[{want['member']}]" if want.get("member") else "")
        if len(found) != 1:
            problems.append(f"{where}: {len(found)} trace entries")
            continue
        if "outcome" in want and found[0]["outcome"] != want["outcome"]:
            problems.append(
                f"{where}: outcome {found[0]['outcome']!r}, expected {want['outcome']!r}"
            )
        problems += _check_fields(f"{where}.values", found[0]["values"], want.get("values") or {})
    return problems


def test_every_jurisdiction_has_cases(engine: Decider) -> None:
    by_jurisdiction: dict[str, int] = {}
    for path in CASE_FILES:
        jid = jurisdiction_of(path)
        by_jurisdiction[jid] = by_jurisdiction.get(jid, 0) + len(_load(path))
    assert set(by_jurisdiction) == set(engine.rule_base.known())
    assert all(count >= 3 for count in by_jurisdiction.values()), by_jurisdiction


@pytest.mark.parametrize(("path", "case"), _params())
def test_rule_case(engine: Decider, path: Path, case: dict[str, Any]) -> None:
    assert set(case) <= {"name", "input", "expected"}, f"unknown case key(s): {sorted(case)}"
    assert case.get("name") and case.get("expected"), "a case needs a name and expectations"
    request = dict(case["input"])
    assert "jurisdiction" not in request, "the jurisdiction is the folder"
    request["jurisdiction"] = jurisdiction_of(path)
    response = engine.evaluate(request)
    problems = compare(response, case["expected"])
    assert not problems, "\n".join(problems)


def test_compare_reports_differences() -> None:
    """The comparison itself can fail: a wrong amount, a missing member, an unknown key."""
    response = {
        "ruleset": {"version": "2022-04-01"},
        "programs": {
            "tekun": {"status": "ineligible", "members": [{"member": "p1", "status": "eligible"}]},
            "dibao": {"status": "eligible", "monthly_amount": "630.00"},
            "marginal": {"status": "not_applicable"},
            "rigid_expenditure": {"status": "not_applicable"},
            "temporary": {"status": "not_applicable"},
        },
        "trace": [{"step": "dibao.income_test", "member": None, "outcome": "pass", "values": {}}],
    }
    assert compare(response, {"dibao": {"monthly_amount": "630.00"}}) == []
    assert compare(response, {"dibao": {"monthly_amount": "630.01"}})
    assert compare(response, {"dibao": {"exit_ends": None}})
    assert compare(response, {"members": {"p2": {"status": "eligible"}}})
    assert compare(response, {"dibo": {"status": "eligible"}})
    assert compare(response, {"steps": [{"step": "dibao.income_test", "outcome": "fail"}]})
    assert compare(response, {"ruleset": {"version": "2021-04-01"}})
