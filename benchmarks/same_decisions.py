"""Same decisions, other words: compares this checkout's responses with those of another commit,
leaving out only the trace's message texts (``message_zh``, ``message_en``); with ``--whole``,
compares the whole responses byte for byte (the JSON as the engine builds it, keys in order).

    python benchmarks/same_decisions.py --against REV [--whole] [--per-bundle 100] [--seed 1]

Run it after changing message templates: everything else a response holds (statuses, amounts,
steps, values, reasons, missing facts, provisional parameters, hashes) must be unchanged. Run it
with ``--whole`` after a change meant to alter nothing at all (a refactoring). Each differing
response is summarised by the first places where it differs (``--show`` of them). The
requests are the contract examples, the rule sets' own test cases, and synthetic households
(``service.synthetic``) on every date a bundle of every jurisdiction comes into force, and on a
date inside it. Both trees are evaluated in fresh interpreters from the same request file; the
other commit is taken with ``git archive``. Exit 0 when every response matches.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from service.engine import load_rules  # noqa: E402
from service.synthetic import population  # noqa: E402

# Runs inside the tree under test: evaluates every request, drops the message texts, and writes
# one line per request (the response, or the problems of a refused request).
_DUMP = """
import json, sys
from service.engine import RequestRejected
try:
    from service.engine import Decider
except ImportError:  # before the entry point was renamed
    from service.engine import Engine as Decider
engine = Decider("rules")
whole = sys.argv[3] == "whole"
with open(sys.argv[1], encoding="utf-8") as requests, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in requests:
        try:
            response = engine.evaluate(line.encode("utf-8"))
        except RequestRejected as error:
            out.write(json.dumps({"refused": error.problems}, ensure_ascii=False, sort_keys=True) + "\\n")
            continue
        if whole:
            out.write(json.dumps(response, ensure_ascii=False) + "\\n")
            continue
        messages = []
        for step in response["trace"]:
            messages.append([step.pop("message_zh"), step.pop("message_en")])
        out.write(json.dumps([response, messages], ensure_ascii=False, sort_keys=True) + "\\n")
"""


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def requests(per_bundle: int, seed: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted((ROOT / "tests" / "examples").glob("*.json")):
        out.append(json.loads(path.read_text(encoding="utf-8")))
    rules = ROOT / "rules"
    for path in sorted(rules.glob("**/tests/*.yaml")):
        jurisdiction = path.parent.parent.relative_to(rules).as_posix()
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            out.append({"jurisdiction": jurisdiction, **_plain(case["input"])})
    base = load_rules(rules)
    rng = random.Random(seed)
    for jurisdiction in base.known():
        switches = base.switch_dates(jurisdiction)
        for index, start in enumerate(switches):
            end = switches[index + 1] if index + 1 < len(switches) else start + timedelta(366)
            inside = start + timedelta(rng.randrange(max(1, (end - start).days)))
            for day in (start, inside):
                out.extend(population(per_bundle // 2, rng.randrange(2**32), jurisdiction, day))
    return out


def dump(tree: Path, request_file: Path, out: Path, whole: bool) -> None:
    subprocess.run(
        [sys.executable, "-c", _DUMP, str(request_file), str(out), "whole" if whole else "-"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},  # the tree's own ``service`` first
        check=True,
    )


def differences(new: Any, old: Any, where: str = "") -> list[str]:
    """The places (JSON paths) where two documents differ, outermost first."""
    if type(new) is not type(old):
        return [where or "."]
    if isinstance(new, dict):
        if list(new) != list(old):
            return [f"{where} (keys)"]
        return [d for k in new for d in differences(new[k], old[k], f"{where}.{k}")]
    if isinstance(new, list):
        if len(new) != len(old):
            return [f"{where} (length)"]
        return [
            d
            for i, (a, b) in enumerate(zip(new, old, strict=True))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    return [] if new == old else [where]


def _step_name(response: Any, place: str) -> str:
    """The step id at a ``.trace[i]`` place, to say which step a difference is in."""
    if not place.startswith(".trace[") or not isinstance(response, dict):
        return ""
    index = int(place[len(".trace[") : place.index("]")])
    return f" ({response['trace'][index]['step']})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", required=True, help="the commit to compare with")
    parser.add_argument("--per-bundle", type=int, default=100, help="households per bundle")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--whole", action="store_true", help="compare whole responses byte for byte"
    )
    parser.add_argument("--show", type=int, default=5, help="differing responses to describe")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        other = work / "other"
        other.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.against], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(other)], input=archive.stdout, check=True)
        request_file = work / "requests.jsonl"
        batch = requests(args.per_bundle, args.seed)
        request_file.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch), encoding="utf-8"
        )
        dump(ROOT, request_file, work / "this.jsonl", args.whole)
        dump(other, request_file, work / "other.jsonl", args.whole)
        this = (work / "this.jsonl").read_text(encoding="utf-8").splitlines()
        that = (work / "other.jsonl").read_text(encoding="utf-8").splitlines()
    if args.whole:
        return _compare_whole(this, that, args.show)
    differing = refused = steps = reworded = 0
    where: dict[str, int] = {}
    for number, (mine, theirs) in enumerate(zip(this, that, strict=True), start=1):
        new, old = json.loads(mine), json.loads(theirs)
        if isinstance(new, dict):
            refused += 1
            if new != old:
                differing += 1
                print(f"request {number}: refused differently")
            continue
        if not isinstance(old, list) or new[0] != old[0]:
            differing += 1
            places = differences(new[0], old[0] if isinstance(old, list) else old)
            for place in places:
                key = place.split("]")[-1] if place.startswith(".trace[") else place
                kind = f"{_step_name(new[0], place).strip(' ()') or place.split('[')[0]}{key}"
                where[kind] = where.get(kind, 0) + 1
            if differing <= args.show:
                print(
                    f"request {number}: differs beyond its message texts at "
                    + ", ".join(p + _step_name(new[0], p) for p in places[:6])
                )
            continue
        steps += len(new[1])
        reworded += sum(a != b for a, b in zip(new[1], old[1], strict=True))
    for place, count in sorted(where.items(), key=lambda item: -item[1]):
        print(f"  {count:6d} × {place}")
    print(
        f"{len(this)} requests ({refused} refused), {steps} trace steps: "
        f"{differing} responses differ beyond the message texts; "
        f"{reworded} steps have other message texts"
    )
    return 1 if differing else 0


def _compare_whole(this: list[str], that: list[str], show: int) -> int:
    differing = 0
    where: dict[str, int] = {}
    for number, (mine, theirs) in enumerate(zip(this, that, strict=True), start=1):
        if mine == theirs:
            continue
        differing += 1
        new, old = json.loads(mine), json.loads(theirs)
        places = differences(new, old) or ["(same document, other bytes)"]
        for place in places:
            # the kind of place: the step it is in and the key, without the indexes
            key = place.split("]")[-1] if place.startswith(".trace[") else place
            where_key = f"{_step_name(new, place).strip(' ()') or place.split('[')[0]}{key}"
            where[where_key] = where.get(where_key, 0) + 1
        if differing <= show:
            print(
                f"request {number}: differs at "
                + ", ".join(p + _step_name(new, p) for p in places[:6])
            )
    for place, count in sorted(where.items(), key=lambda item: -item[1]):
        print(f"  {count:6d} × {place}")
    print(f"{len(this)} requests: {differing} responses differ (whole, byte for byte)")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
