"""How the in-process benchmarks time a piece of work, so that their figures compare.

``timed_runs(work, runs)`` is used by ``benchmarks/engine.py`` and ``benchmarks/peers/compare.py``
alike. The caller makes one untimed pass first (it collects the answers it prints or checks, and
warms every cache); then the long-lived data (the parsed households, the rules) is moved out of
the cyclic garbage collector's reach with ``gc.freeze()``, as a long-running service has it after
start-up, and ``work`` runs ``runs`` times. ``work`` must drop what it computes (a service sends
each response and frees it): holding every response of a run keeps the collector rescanning a
heap that grows by millions of objects, which measured the collector, not the engine (see
``benchmarks/README.md``).

Each run is timed twice: wall time (``perf_counter``) and the process's CPU time
(``process_time``); on a machine shared with other work the CPU time is the steadier of the two.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Runs:
    wall: list[float]  # seconds per run
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    def rate(self, count: int) -> float:
        """Items per second, from the median wall time."""
        return count / self.median

    def text(self) -> str:
        return " / ".join(f"{w:.2f}" for w in self.wall) + (
            " (CPU " + " / ".join(f"{c:.2f}" for c in self.cpu) + ")"
        )


def timed_runs(work: Callable[[], object], runs: int) -> Runs:
    """Times ``work`` ``runs`` times with the data alive now frozen out of the collector."""
    gc.collect()
    gc.freeze()
    wall: list[float] = []
    cpu: list[float] = []
    try:
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            work()
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    finally:
        gc.unfreeze()
    return Runs(wall, cpu)
