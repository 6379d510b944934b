"""Caseload throughput, end to end: ``caseload evaluate`` on a generated 1,000,000-household file.

    python benchmarks/caseload.py [--households 1000000] [--jurisdiction wuhan] [--runs 3]
                                  [--workers N] [--cache DIR] [--jsonl-households 100000]
                                  [--tree CHECKOUT]

Generates the caseload once (Parquet, the documented flat layout; cached in ``--cache``), then
times ``python -m service.cli caseload evaluate FILE --out results.parquet`` as a separate process
``--runs`` times: start-up, rule loading, reading, every program for every household, writing the
results file and printing the summary are all inside the wall time. Prints each run and the
median. Also times one what-if (two bundles: the standard raised by 60 元) and, if
``--jsonl-households`` > 0, the JSONL input path (contract requests, one per line) on a
smaller file. Other work on the machine slows single runs: quote the median. Each run also
reports its CPU time (user + system, of the command and its worker processes), which other work
on the machine disturbs far less than the wall time. ``--tree`` runs the command of another
checkout (``git worktree add /tmp/base REV``) on the same cached file, to compare two commits in
alternating runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


TREE = ROOT  # the checkout whose ``eligibility caseload`` runs (``--tree``)


def _caseload(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "caseload", *args],
        cwd=TREE,
        env={**os.environ, "PYTHONPATH": str(TREE)},  # that tree's own ``service`` first
        check=True,
        capture_output=True,
        text=True,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ensure(path: Path, jurisdiction: str, households: int, seed: int) -> None:
    if path.exists():
        return
    print(f"generating {households:,} households → {path} …", flush=True)
    started = time.perf_counter()
    _caseload(
        "generate", "--jurisdiction", jurisdiction, "--households", str(households),
        "--seed", str(seed), "--out", str(path),
    )  # fmt: skip
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)


def _timed(args: list[str]) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of the command and its workers, the printed summary)."""
    started, started_cpu = time.perf_counter(), _children_cpu()
    done = _caseload(*args, "--json", "--no-progress")
    return (
        time.perf_counter() - started,
        _children_cpu() - started_cpu,
        json.loads(done.stdout),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--jurisdiction", default="wuhan")
    parser.add_argument("--as-of", default="2025-07-01")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "eligibility-caseload-bench"
    )
    parser.add_argument("--jsonl-households", type=int, default=100_000)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run")
    args = parser.parse_args()
    global TREE
    TREE = args.tree.resolve()

    args.cache.mkdir(parents=True, exist_ok=True)
    name = args.jurisdiction.replace("/", "-")
    source = args.cache / f"{name}-{args.households}-seed{args.seed}.parquet"
    _ensure(source, args.jurisdiction, args.households, args.seed)
    out = args.cache / "results.parquet"
    common = ["--jurisdiction", args.jurisdiction, "--as-of", args.as_of]
    if args.workers:
        common += ["--workers", str(args.workers)]
    print(
        f"machine: {os.cpu_count()} cores; workers: {args.workers or os.cpu_count()}; "
        f"input: {source.name} ({source.stat().st_size / 1e6:.0f} MB)"
    )
    if TREE != ROOT:
        print(f"tree: {TREE}")
    timings = []
    cpu_times = []
    summary: dict = {}
    for run in range(args.runs):
        seconds, cpu, summary = _timed(["evaluate", str(source), *common, "--out", str(out)])
        timings.append(seconds)
        cpu_times.append(cpu)
        print(f"  run {run + 1}: {seconds:.2f} s (CPU {cpu:.2f} s)", flush=True)
    n = summary["households"]
    median = statistics.median(timings)
    print(
        "evaluate (Parquet in, Parquet out, summary printed): runs "
        + " / ".join(f"{t:.2f}" for t in timings)
        + f" s; median {median:.2f} s = {n / median:,.0f} households/s end to end "
        f"({n:,} households, {summary['refused']} refused; in-process {summary['seconds']:.2f} s)"
    )
    print(f"evaluate CPU time (command and workers): median {statistics.median(cpu_times):.2f} s")
    print(f"results file: {out.stat().st_size / 1e6:.1f} MB")
    for program, entry in summary["programs"].items():
        s = entry["status"]
        print(
            f"  {program:18} eligible {s['eligible']:>8,}  ineligible {s['ineligible']:>8,}  "
            f"insufficient {s['insufficient_data']:>8,}  n/a {s['not_applicable']:>8,}  "
            + (f"monthly {entry['monthly_cost']}" if "monthly_cost" in entry else "")
        )

    # one what-if: two bundles over the same caseload
    from service.engine import load_rules

    bundle = load_rules().resolve(
        args.jurisdiction, __import__("datetime").date.fromisoformat(args.as_of)
    )
    sets = []
    for residence, value in bundle.rules.standard.items():
        key = "unified" if bundle.rules.standard_unified else residence
        sets += ["--set", f"dibao.standard.{key}={value + 60}"]
        if bundle.rules.standard_unified:
            break
    seconds, cpu, report = _timed(
        ["whatif", str(source), *common, *sets, "--out-dir", str(args.cache / "whatif")]
    )
    print(
        f"whatif ({' '.join(sets[1::2])}): {seconds:.2f} s (CPU {cpu:.2f} s) = "
        f"{n / seconds:,.0f} households/s "
        f"(two bundles each); dibao gained {report['programs']['dibao']['gained']:,}, "
        f"lost {report['programs']['dibao']['lost']:,}; monthly cost "
        f"{report['monthly_cost_change']} 元, annual {report['annual_cost_change']} 元"
    )

    if args.jsonl_households:
        jsonl = args.cache / f"{name}-{args.jsonl_households}-seed{args.seed}.jsonl"
        if not jsonl.exists():
            _caseload(
                "generate", "--jurisdiction", args.jurisdiction, "--households",
                str(args.jsonl_households), "--seed", str(args.seed), "--out", str(jsonl),
            )  # fmt: skip
        seconds, cpu, summary = _timed(["evaluate", str(jsonl), *common, "--out", str(out)])
        print(
            f"evaluate (JSONL in; canonical lines read directly, any other line validated by the contract): "
            f"{summary['households']:,} households in {seconds:.2f} s (CPU {cpu:.2f} s) = "
            f"{summary['households'] / seconds:,.0f} households/s"
        )


if __name__ == "__main__":
    main()
