"""Engine throughput: households evaluated per second, in-process, with the full trace.

    python benchmarks/engine.py [--households 100000] [--runs 3] [--seed 1]

Generates the mixed synthetic population (``service.synthetic.population``: every shipped
jurisdiction and date range), parses it once into contract requests (timed separately), makes one
untimed pass (the status mix printed below), then evaluates all of it ``--runs`` times on one
thread and prints the median. The full trace (every step, values, zh/en messages, citations) is
built for every household and dropped, as a service sends and frees it. The timing is
``benchmarks/measure.py``'s, shared with ``benchmarks/peers/compare.py``: long-lived data frozen
out of the cyclic collector, wall and CPU time. Run it pinned to one core for steadier figures:
``taskset -c 1 python ...``. ``benchmarks/README.md`` compares its figure with the peers'.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import timed_runs  # noqa: E402

from service.contract.request import EvaluationRequest  # noqa: E402
from service.engine import evaluate, load_rules  # noqa: E402
from service.synthetic import population  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    base = load_rules()
    raw = population(args.households, seed=args.seed)
    # Parsing builds the long-lived population; the cyclic collector would rescan it again and
    # again (a cost of holding 100k households in memory, not of parsing), so it is paused here.
    gc.disable()
    started = time.perf_counter()
    requests = [EvaluationRequest.model_validate(r) for r in raw]
    parse_s = time.perf_counter() - started
    gc.enable()
    bundles = [base.resolve(r.jurisdiction, r.as_of) for r in requests]
    for bundle in set(bundles):
        _ = bundle.rules  # compile once, outside the timed loop (cached per bundle)

    statuses: Counter[tuple[str, str]] = Counter()
    steps = 0
    for req, bundle in zip(requests, bundles, strict=True):
        response = evaluate(req, bundle)
        steps += len(response["trace"])
        for program, result in response["programs"].items():
            statuses[(program, result["status"])] += 1

    def work() -> None:
        for req, bundle in zip(requests, bundles, strict=True):
            evaluate(req, bundle)  # each response is dropped, as a service sends and frees it

    # The population itself (a few GB of objects) is long-lived: timed_runs keeps the cyclic
    # collector from rescanning it, as a long-running service does after start-up.
    runs = timed_runs(work, args.runs)
    median = runs.median
    n = args.households
    print(
        f"households: {n:,} across {len({r.jurisdiction for r in requests})} jurisdictions, "
        f"{len(set(bundles))} distinct bundles, {steps / n:.1f} trace steps per household"
    )
    print(
        f"parse (pydantic, contract validation): {parse_s:.2f} s = {n / parse_s:,.0f} households/s"
    )
    print(f"evaluate runs (s): {runs.text()}")
    print(
        f"evaluate median: {median:.2f} s = {n / median:,.0f} households/s, "
        f"{median / n * 1e6:.1f} µs per household (full trace)"
    )
    print(
        f"evaluate median CPU time: {runs.median_cpu:.2f} s = {n / runs.median_cpu:,.0f} households/s"
    )
    print(f"parse + evaluate: {n / (median + parse_s):,.0f} households/s")
    print("status mix:")
    for program in ("tekun", "dibao", "marginal", "rigid_expenditure", "temporary"):
        row = ", ".join(
            f"{status} {statuses[(program, status)]:,}"
            for status in ("eligible", "ineligible", "insufficient_data", "not_applicable")
        )
        print(f"  {program:18} {row}")


if __name__ == "__main__":
    main()
