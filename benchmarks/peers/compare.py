"""Peers, side by side: the 特困 test and the 低保 income and asset test in durable-rules and
zen-engine, on the same generated households as our engine, with the same answers required.

    pip install -e '.[peers]'            # durable-rules (sdist, needs a C compiler), zen-engine
    python benchmarks/peers/compare.py [--households 20000] [--jurisdiction wuhan] [--runs 3]

What each peer decides, per household (rules-reference §7 and §3, steps 1–3):

1. 特困, per counted member: no work capacity (age ≥ 60, under 18, still at school beyond the
   minor age, or a listed disability grade) and no means (own income after the 特困 exclusions
   below the standard, and the asset test on the whole household) and no capable supporter;
2. the 低保 household test on the members left after 特困 members leave: per-capita income below
   the standard and the asset test (financial limit, vehicles, homes, commercial property,
   business capital) for that household size.

Aggregates are computed in Python, as the engine evaluation (``shared/research/engine-eval.md``)
found durable-rules needs (it cannot sum or multiply two fields): members' own incomes, the
per-capita income of the remaining household (half up to the fen), the asset limits for the
household size. They are computed once ("facts", timed apart) and each peer evaluates the two
stages, with the aggregation of stage 2 in between, on them. Only households whose facts are all
known are compared (the peers implement no insufficient-data logic); money is integer fen.

durable-rules runs single-threaded, the way that evaluation found safe: a ``Host`` subclass with
the background dispatcher disabled, a fresh uuid4 session per evaluation, ``delete_state`` in
``finally``, idempotent actions (a rule fires once per true OR branch), a catch-all rule so that no
fact is left unhandled (matched on a fact type field: the session state is itself a fact, with
an ``id``, and a catch-all on ``id`` loops forever). zen-engine evaluates one JDM decision (an expression node) per stage.

Ours is measured twice: the per-household engine (all five programs, full trace) and the
vectorised caseload path (all five programs, decisions only), both single-threaded. The answers
compared: the 特困 status, and whether the 低保 household test passed (our 低保 basis
``household``). Exits 1 if any peer disagrees with us on any household.

Every row is timed as ``benchmarks/engine.py`` times the engine (``benchmarks/measure.py``): one
untimed pass collects the answers, then ``--runs`` timed runs drop what they compute, with the
long-lived data frozen out of the cyclic collector. The households differ from engine.py's
(one jurisdiction, one bundle, the annual review mix, only records with every fact known), and
the figures say so; ``benchmarks/README.md`` compares the two. Without the peers installed
(``.[peers]``), ours are measured and the peers' rows say they were skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import Runs, timed_runs  # noqa: E402

from service import synthetic  # noqa: E402
from service.caseload import layout  # noqa: E402
from service.caseload.columns import EPOCH, from_arrow  # noqa: E402
from service.caseload.vector import evaluate_batch  # noqa: E402
from service.contract.request import EvaluationRequest  # noqa: E402
from service.engine import evaluate, load_rules  # noqa: E402
from service.engine.compiled import Rules  # noqa: E402
from service.engine.dates import age_on  # noqa: E402
from service.engine.programs.arrays import BASIS_CODE, STATUS_CODE  # noqa: E402

COUNTABLE = {"wage", "business", "property", "transfer", "other"}


def fen(value: Decimal) -> int:
    return int(value * 100)


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


# --- facts (shared by the peers) ----------------------------------------------------------------


def complete(request: EvaluationRequest) -> bool:
    h = request.household
    a = h.assets
    return (
        request.residence is not None
        and h.income is not None
        and a is not None
        and None
        not in (a.financial, a.vehicles, a.houses, a.commercial_property, a.business_capital)
        and all(x.dilapidated is not None and x.area_m2 is not None for x in a.houses or [])
        and all(m.has_capable_supporter is not None for m in h.members if m.excluded is None)
        and any(m.excluded is None for m in h.members)
        and not request.programs
    )


def facts(request: EvaluationRequest, rules: Rules) -> dict[str, Any]:
    """Members' own incomes and ages, and what the asset test needs, in integer fen."""
    h = request.household
    std = fen(rules.standard[request.residence])
    dibao: dict[str, int] = {}
    tekun: dict[str, int] = {}
    for item in h.income or []:
        if item.type in COUNTABLE or item.type not in rules.dibao_excluded:
            dibao[item.member] = dibao.get(item.member, 0) + fen(item.monthly)
        if item.type in COUNTABLE or item.type not in rules.tekun_excluded:
            tekun[item.member] = tekun.get(item.member, 0) + fen(item.monthly)
    deduction: dict[str, int] = {}
    share = rules.employment_cost_share
    for item in h.deductions:
        if item.type in rules.deductions_allowed and not (
            share is not None and item.type == "employment_cost"
        ):
            deduction[item.member] = deduction.get(item.member, 0) + fen(item.monthly)
    members = []
    for m in h.members:
        if m.excluded is not None:
            continue
        own = deduction.get(m.id, 0) + (
            fen(share * rules.standard[request.residence])
            if share is not None and m.employed
            else 0
        )
        members.append(
            {
                "id": m.id,
                "age": age_on(m.birth_date, request.as_of),
                "school": m.schooling,
                "cat": m.disability.category if m.disability else "",
                "grade": m.disability.grade if m.disability else 0,
                "supporter": 1 if m.has_capable_supporter else 0,
                "tekun_income": max(0, tekun.get(m.id, 0) - own),
                "dibao_income": max(0, dibao.get(m.id, 0) - own),
            }
        )
    a = h.assets
    assert a is not None and a.houses is not None and a.vehicles is not None
    limits = rules.dibao_assets
    counted = [x for x in a.houses if not x.dilapidated]
    return {
        "std": std,
        "members": members,
        "financial": fen(a.financial),
        "months": limits.financial.months,
        "bad_vehicles": sum(1 for v in a.vehicles if v.kind in limits.vehicles_disallowed),
        "homes": len(counted),
        "area": sum((x.area_m2 for x in counted), Decimal(0)),
        "commercial": 1 if a.commercial_property else 0,
        "capital": fen(a.business_capital),
    }


def asset_facts(f: dict[str, Any], rules: Rules, size: int) -> dict[str, Any]:
    """The asset test's inputs for a household of ``size`` (limits need a product: Python)."""
    limits = rules.dibao_assets
    homes = limits.homes
    if homes.hard_fail_from_count is not None and f["homes"] >= homes.hard_fail_from_count:
        homes_ok = 0
    elif f["homes"] >= homes.fail_from_count:
        if homes.per_capita_area_above is None:
            homes_ok = 0
        else:
            per_capita = (f["area"] / size).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
            homes_ok = 0 if per_capita > homes.per_capita_area_above else 1
    else:
        homes_ok = 1
    capital = limits.business_capital
    if capital is None:
        capital_ok = 1
    else:
        over = (
            f["capital"] > fen(capital.limit)
            if capital.equal_passes
            else f["capital"] >= fen(capital.limit)
        )
        capital_ok = 0 if over else 1
    limit = half_up(int(f["months"] * f["std"] * size), 1) if size else 0
    return {
        "financial": f["financial"],
        "fin_limit": limit,
        "fin_equal_passes": 1 if limits.financial.equal_passes else 0,
        "bad_vehicles": f["bad_vehicles"],
        "homes_ok": homes_ok,
        "commercial_fails": 1 if (limits.commercial_property_fails and f["commercial"]) else 0,
        "capital_ok": capital_ok,
    }


def remaining(f: dict[str, Any], tekun_ids: set[str]) -> tuple[int, int]:
    """(size, per-capita income half up to the fen) of the household after 特困 members leave."""
    rest = [m for m in f["members"] if m["id"] not in tekun_ids]
    if not rest:
        return 0, 0
    return len(rest), half_up(sum(m["dibao_income"] for m in rest), len(rest))


# --- durable-rules --------------------------------------------------------------------------------


class DurablePeer:
    name = "durable-rules 2.0.28 (single thread, sync host, uuid session per call)"

    def __init__(self, rules: Rules, tag: str):
        import durable.lang as dl
        from durable.engine import Host

        class SyncHost(Host):
            def _run(self) -> None:  # no background dispatcher (engine-eval.md §4)
                pass

        if dl._main_host is None:
            dl._main_host = SyncHost()
        from durable.lang import c, m, ruleset, when_all  # noqa: F401

        disability = None
        for rule in rules.tekun_disability:
            if rule.categories == "any":
                term = (m.cat != "") & (m.grade <= rule.max_grade)
            else:
                cats = None
                for cat in rule.categories:
                    cats = (m.cat == cat) if cats is None else (cats | (m.cat == cat))
                term = cats & (m.grade <= rule.max_grade)
            disability = term if disability is None else (disability | term)
        capacity = (m.age >= rules.tekun_elderly_age) | (m.age < rules.tekun_minor_age)
        for school in rules.tekun_schooling_beyond_minor:
            capacity = capacity | (m.school == school)
        capacity = capacity | disability

        def assets(x: Any) -> Any:
            money = ((x.fin_equal_passes == 1) & (x.financial <= x.fin_limit)) | (
                (x.fin_equal_passes == 0) & (x.financial < x.fin_limit)
            )
            return (
                money
                & (x.bad_vehicles == 0)
                & (x.homes_ok == 1)
                & (x.commercial_fails == 0)
                & (x.capital_ok == 1)
            )

        self.tekun_name, self.dibao_name = f"peer_tekun_{tag}", f"peer_dibao_{tag}"
        with ruleset(self.tekun_name):

            @when_all(
                (m.t == "member")
                & capacity
                & (m.tekun_income < m.std)
                & assets(m)
                & (m.supporter == 0)
            )
            def tekun_eligible(c: Any) -> None:
                c.s["e_" + c.m.id] = 1  # idempotent: fires once per true OR branch

            # Every fact must match some rule (else MessageNotHandledException), and the session
            # state is itself a fact with an ``id``: match on the fact type, never on ``id``.
            @when_all(m.t == "member")
            def seen_member(c: Any) -> None:
                pass

        with ruleset(self.dibao_name):

            @when_all((m.t == "household") & (m.pc < m.std) & assets(m))
            def household_test(c: Any) -> None:
                c.s.passed = 1

            @when_all(m.t == "household")
            def seen_household(c: Any) -> None:
                pass

        self.host = dl.get_host()

    def _session(self, name: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
        sid = str(uuid.uuid4())
        try:
            for fact in batch:
                fact["sid"] = sid
            self.host.assert_facts(name, batch)
            return self.host.get_state(name, sid)
        finally:
            self.host.delete_state(name, sid)

    def decide(self, f: dict[str, Any], rules: Rules) -> tuple[bool, bool]:
        shared = asset_facts(f, rules, len(f["members"]))
        batch = [{"t": "member", **member, **shared, "std": f["std"]} for member in f["members"]]
        state = self._session(self.tekun_name, batch)
        tekun = {k[2:] for k in state if k.startswith("e_")}
        size, pc = remaining(f, tekun)
        if size == 0:
            return bool(tekun), False
        fact = {"t": "household", "pc": pc, "std": f["std"], **asset_facts(f, rules, size)}
        state = self._session(self.dibao_name, [fact])
        return bool(tekun), state.get("passed") == 1


# --- zen-engine -----------------------------------------------------------------------------------


def _jdm(expressions: dict[str, str]) -> str:
    return json.dumps(
        {
            "nodes": [
                {"id": "in", "type": "inputNode", "name": "facts"},
                {
                    "id": "rules",
                    "type": "expressionNode",
                    "name": "rules",
                    "content": {
                        "expressions": [
                            {"id": key, "key": key, "value": value}
                            for key, value in expressions.items()
                        ]
                    },
                },
                {"id": "out", "type": "outputNode", "name": "decision"},
            ],
            "edges": [
                {"id": "e1", "sourceId": "in", "targetId": "rules", "type": "edge"},
                {"id": "e2", "sourceId": "rules", "targetId": "out", "type": "edge"},
            ],
        }
    )


class ZenPeer:
    name = "zen-engine 2.1 (JDM expression node, one decision per stage)"

    def __init__(self, rules: Rules):
        import zen

        terms = []
        for rule in rules.tekun_disability:
            if rule.categories == "any":
                terms.append(f"(#.cat != '' and #.grade <= {rule.max_grade})")
            else:
                cats = ", ".join(f"'{c}'" for c in rule.categories)
                terms.append(f"(#.cat in [{cats}] and #.grade <= {rule.max_grade})")
        schools = ", ".join(f"'{s}'" for s in sorted(rules.tekun_schooling_beyond_minor)) or "''"
        capacity = (
            f"#.age >= {rules.tekun_elderly_age} or #.age < {rules.tekun_minor_age} "
            f"or #.school in [{schools}] or " + " or ".join(terms)
        )
        assets = (
            "(fin_equal_passes == 1 and financial <= fin_limit or fin_equal_passes == 0 and financial < fin_limit)"
            " and bad_vehicles == 0 and homes_ok == 1 and commercial_fails == 0 and capital_ok == 1"
        )
        engine = zen.ZenEngine()
        self.tekun = engine.create_decision(
            _jdm(
                {
                    "eligible": f"map(members, ({capacity}) and #.tekun_income < std and ({assets}) and #.supporter == 0)"
                }
            )
        )
        self.dibao = engine.create_decision(_jdm({"passed": f"pc < std and ({assets})"}))

    def decide(self, f: dict[str, Any], rules: Rules) -> tuple[bool, bool]:
        context = {
            "std": f["std"],
            "members": f["members"],
            **asset_facts(f, rules, len(f["members"])),
        }
        flags = self.tekun.evaluate(context)["result"]["eligible"]
        tekun = {m["id"] for m, flag in zip(f["members"], flags, strict=True) if flag}
        size, pc = remaining(f, tekun)
        if size == 0:
            return bool(tekun), False
        result = self.dibao.evaluate({"pc": pc, "std": f["std"], **asset_facts(f, rules, size)})
        return bool(tekun), bool(result["result"]["passed"])


# --- the run ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--jurisdiction", default="wuhan")
    parser.add_argument("--as-of", default="2025-07-01")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    as_of = date.fromisoformat(args.as_of)

    bundle = load_rules().resolve(args.jurisdiction, as_of)
    rules = bundle.rules
    raw = list(
        synthetic.caseload(
            args.jurisdiction, args.households, args.seed, as_of, dict(rules.standard)
        )
    )
    for r in raw:
        r.pop("id")
    requests = [EvaluationRequest.model_validate(r) for r in raw]
    chosen = [r for r in requests if complete(r)]
    n = len(chosen)
    print(
        f"{args.households:,} generated households of {args.jurisdiction} as of {as_of}; {n:,} with every fact known are compared"
    )

    # ours: the engine, per household, all five programs with the full trace
    responses = [evaluate(r, bundle) for r in chosen]  # the untimed pass: the answers
    steps = sum(len(r["trace"]) for r in responses) / max(n, 1)
    ours = [
        (
            r["programs"]["tekun"]["status"] == "eligible",
            r["programs"]["dibao"].get("basis") == "household",
        )
        for r in responses
    ]
    del responses

    def engine_work() -> None:
        for r in chosen:
            evaluate(r, bundle)  # each response dropped, as engine.py (and a service) does

    engine_runs = timed_runs(engine_work, args.runs)
    # ours: the vectorised caseload path (from the Arrow table of the flat layout)
    import pyarrow as pa

    table = pa.Table.from_pylist(
        [layout.request_to_row(r.model_dump(mode="json")) for r in chosen],
        schema=layout.arrow_schema(),
    )
    day = (as_of - EPOCH).days

    def vectorised() -> Any:
        return evaluate_batch(from_arrow(table), bundle, day)

    d = vectorised()
    vector = list(
        zip(
            (d.tekun_status == STATUS_CODE["eligible"]).tolist(),
            (d.dibao_basis == BASIS_CODE["household"]).tolist(),
            strict=True,
        )
    )
    assert vector == ours, "vectorised path disagrees with the engine"
    vector_runs = timed_runs(vectorised, args.runs)

    prepared = [facts(r, rules) for r in chosen]
    facts_runs = timed_runs(lambda: [facts(r, rules) for r in chosen], args.runs)
    facts_rate = facts_runs.rate(n)

    rows: list[tuple[str, Runs | None, int | str]] = [
        ("ours: engine per household (5 programs, full trace)", engine_runs, 0),
        ("ours: vectorised caseload path (5 programs)", vector_runs, 0),
    ]
    failures = 0
    for name, make in PEERS:
        try:
            peer = make(rules, bundle.sha256[:8])
        except ImportError as error:
            rows.append((name, None, f"skipped: {error.name or error} not installed"))
            continue
        decide: Callable[[dict[str, Any]], tuple[bool, bool]] = lambda f, p=peer: p.decide(f, rules)  # noqa: E731
        answers = [decide(f) for f in prepared]
        wrong = sum(1 for a, b in zip(answers, ours, strict=True) if a != b)
        failures += wrong
        runs = timed_runs(lambda decide=decide: [decide(f) for f in prepared], args.runs)
        rows.append((peer.name, runs, wrong))

    tekun_yes = sum(1 for t, _ in ours if t)
    dibao_yes = sum(1 for _, p in ours if p)
    print(
        f"answers: 特困 eligible {tekun_yes:,}, 低保 household test passed {dibao_yes:,} of {n:,}"
    )
    print(
        f"ours measured on {n:,} households of one bundle ({args.jurisdiction} {bundle.version}), "
        f"{steps:.1f} trace steps per household, parsed beforehand (not timed)"
    )
    print(f"facts for the peers (Python aggregation, shared): {facts_rate:,.0f} households/s")
    print(
        f"{'engine':62} {'households/s':>13} {'CPU-time h/s':>13} {'with facts':>11} "
        f"{'runs (s)':>24} {'disagree':>9}"
    )
    for name, runs, wrong in rows:
        if runs is None:
            print(f"{name:62} {wrong}")
            continue
        rate = runs.rate(n)
        with_facts = "" if name.startswith("ours") else f"{1 / (1 / rate + 1 / facts_rate):,.0f}"
        print(
            f"{name:62} {rate:>13,.0f} {n / runs.median_cpu:>13,.0f} {with_facts:>11} "
            f"{' / '.join(f'{t:.2f}' for t in runs.wall):>24} {wrong:>9}"
        )
    return 1 if failures else 0


PEERS: tuple[tuple[str, Callable[[Rules, str], Any]], ...] = (
    ("durable-rules", lambda rules, tag: DurablePeer(rules, tag)),
    ("zen-engine", lambda rules, tag: ZenPeer(rules)),
)


if __name__ == "__main__":
    sys.exit(main())
