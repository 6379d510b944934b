"""Transparency-log proofs on a log of a million records, in memory (no database).

    python benchmarks/tlog_proofs.py [--leaves 1000000] [--samples 2000] [--seed 1]
                                     [--check-records 0]

Builds the stored hashes of a ``--leaves`` tree (every complete subtree, as the store keeps
them) and times, over ``--samples`` random cases each, inclusion proof generation and
verification (a random leaf in the whole tree or in a random older checkpoint) and consistency
proof generation and verification (two random checkpoint sizes). Prints the median, p99 and
maximum in milliseconds, and how many stored hashes a proof reads (what the store fetches from
its table). The target is under 5 ms each; the store's own benchmark measures the same with the
hashes read from the database.

With ``--check-records N`` > 0 it also writes an export file of N records with a checkpoint per
100 records and times the offline check (``service.tlog.check.check_export``).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.tlog.check import check_export  # noqa: E402
from service.tlog.checkpoint import Checkpoint, sign_checkpoint  # noqa: E402
from service.tlog.export import write_export  # noqa: E402
from service.tlog.merkle import (  # noqa: E402
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from service.tlog.note import Signer  # noqa: E402


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms, "
        f"max {ordered[-1] * 1e3:.3f} ms"
    )


class _Counting:
    def __init__(self, tree: MemoryTree):
        self.tree, self.reads = tree, 0

    def get_node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.tree.get_node(level, index)


CPU: list[float] = []  # the process's own time of each case, beside the wall time


def _time(case: Callable[[], bool]) -> float:
    """Wall time of one case (the CPU time goes to ``CPU``): on a shared machine the wall
    time's tail is other processes' doing, the CPU time's is ours."""
    cpu, start = time.thread_time(), time.perf_counter()
    ok = case()
    elapsed = time.perf_counter() - start
    CPU.append(time.thread_time() - cpu)
    if not ok:
        raise SystemExit("a proof did not verify: the library is wrong")
    return elapsed


def _report(what: str, wall: list[float]) -> None:
    print(f"{what}\n    wall: {_ms(wall)}\n    cpu:  {_ms(CPU)}")
    CPU.clear()


def proofs(leaves: int, samples: int, rng: random.Random) -> None:
    start = time.perf_counter()
    tree = MemoryTree.of_concatenated(
        b"".join(leaf_hash(i.to_bytes(8, "big")) for i in range(leaves))
    )
    print(f"built the stored hashes of {leaves:,} leaves in {time.perf_counter() - start:.2f} s")
    sizes = [leaves] + [rng.randint(1, leaves) for _ in range(samples)]
    roots = {n: tree.root(n) for n in sizes}  # in the store these are the signed checkpoints
    counting = _Counting(tree)
    CPU.clear()

    inclusion, reads = [], []
    for i in range(samples):
        size = leaves if i % 2 == 0 else sizes[1 + i]
        index = rng.randrange(size)
        counting.reads = 0

        def case(index: int = index, size: int = size) -> bool:
            made = inclusion_proof(index, size, counting.get_node)
            leaf = counting.get_node(0, index)
            return verify_inclusion(leaf, index, size, made, roots[size])

        inclusion.append(_time(case))
        reads.append(counting.reads)
    _report(f"inclusion proof, make + verify ({samples} cases; stored hashes read: median "
            f"{statistics.median(reads):.0f}, max {max(reads)})", inclusion)  # fmt: skip

    consistency, reads = [], []
    for i in range(samples):
        second = leaves if i % 2 == 0 else sizes[1 + i]
        first = rng.randint(1, second)
        roots.setdefault(first, tree.root(first))
        counting.reads = 0

        def case(first: int = first, second: int = second) -> bool:
            made = consistency_proof(first, second, counting.get_node)
            return verify_consistency(first, second, roots[first], roots[second], made)

        consistency.append(_time(case))
        reads.append(counting.reads)
    _report(f"consistency proof, make + verify ({samples} cases; stored hashes read: median "
            f"{statistics.median(reads):.0f}, max {max(reads)})", consistency)  # fmt: skip

    root_times = [_time(lambda n=n: len(tree.root(n)) == 32) for n in sizes[:samples]]
    _report("root of a tree size from stored hashes", root_times)


def check(records: int) -> None:
    signer = Signer.generate("bench.example/decisions")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.jsonl"
        leaves = [f'{{"seq":{s},"decision_id":"d-{s}"}}'.encode() for s in range(1, records + 1)]
        tree = MemoryTree.of(leaf_hash(data) for data in leaves)
        notes = [
            sign_checkpoint(Checkpoint(signer.name, n, tree.root(n)), signer)
            for n in [*range(100, records + 1, 100), records]
        ]
        start = time.perf_counter()
        write_export(path, ((s, f"d-{s}", leaves[s - 1]) for s in range(1, records + 1)), notes)
        written = time.perf_counter() - start
        start = time.perf_counter()
        report = check_export(path, notes[len(notes) // 2], signer.verifier.key_text())
        checked = time.perf_counter() - start
        size = os.path.getsize(path)
    assert report.ok, report.render()
    print(f"export of {records:,} records and {len(notes):,} checkpoints ({size / 1e6:.1f} MB): "
          f"written in {written:.2f} s, checked offline in {checked:.2f} s "
          f"({records / checked:,.0f} records/s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check-records", type=int, default=0)
    args = parser.parse_args()
    gc.disable()  # as timeit does: a collection is nobody's proof
    proofs(args.leaves, args.samples, random.Random(args.seed))
    gc.enable()
    if args.check_records:
        check(args.check_records)


if __name__ == "__main__":
    main()
