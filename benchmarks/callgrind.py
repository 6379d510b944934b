"""Instructions per household, for callgrind: a warm engine evaluating the synthetic population.

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=OUT \\
        python benchmarks/callgrind.py [--passes 3] [--households 1000] [--seed 1]

Loads the rules, parses ``population(households, seed)`` into contract requests, resolves their
bundles and evaluates every household once untimed (compiling each bundle, filling the caches),
then evaluates all of them ``--passes`` more times. Run it at ``--passes 3`` and at
``--passes 0``: the difference of the two totals (``callgrind_annotate OUT | head``, the
``PROGRAM TOTALS`` line) divided by ``passes × households`` is the cost of one household on the
per-household path, without start-up, parsing or compiling. Instruction counts barely move from
run to run, so two commits compare on them where wall-clock figures on a shared machine do not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.contract.request import EvaluationRequest  # noqa: E402
from service.engine import evaluate, load_rules  # noqa: E402
from service.synthetic import population  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    base = load_rules()
    requests = [
        EvaluationRequest.model_validate(r) for r in population(args.households, seed=args.seed)
    ]
    bundles = [base.resolve(r.jurisdiction, r.as_of) for r in requests]
    for request, bundle in zip(requests, bundles, strict=True):
        evaluate(request, bundle)  # warm: compiled rules, cached step templates
    for _ in range(args.passes):
        for request, bundle in zip(requests, bundles, strict=True):
            evaluate(request, bundle)
    print(f"{args.households} households, {args.passes} passes after a warm one")


if __name__ == "__main__":
    main()
