"""What the per-request revocation check costs: the revocation stamp of ``service.api.auth``.

    python benchmarks/revocation.py [--backend sqlite|postgres|both] [--requests 20000]
                                    [--keys 50] [--pg-url URL]

Every request served from a worker's key cache first reads the revocation stamp (one small
query on ``api_keys``; see the README, Endpoints). For each backend this migrates a fresh
database, makes --keys keys (a fifth of them revoked), and reads the stamp as the service does
(``RevocationStamp.fresh()`` on an event loop):

- one request at a time: every request sends its own query (the worst case);
- 32 requests at once, again and again: concurrent requests share one query.

It prints the wall time and the CPU time of this process per request, and how many queries
were sent. ``benchmarks/http_load.py`` gives the whole service's CPU per decision, with the
check included.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import DEFAULT_PG, database  # noqa: E402
from service.api.auth import RevocationStamp  # noqa: E402
from service.store import DecisionStore, upgrade  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(stamp: RevocationStamp, requests: int, concurrent: int) -> tuple[float, float]:
    """Wall and CPU seconds for ``requests`` stamp reads, ``concurrent`` at a time."""
    await stamp.fresh()  # connect outside the measurement
    wall, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(requests // concurrent):
        await asyncio.gather(*(stamp.fresh() for _ in range(concurrent)))
    return time.perf_counter() - wall, cpu_seconds() - cpu


def run(backend: str, args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="eligibility-bench-") as tmp,
        database(backend, Path(tmp), args.pg_url) as url,
    ):
        upgrade(url)
        with DecisionStore(url) as store:
            ids = [store.create_key("intake", f"desk-{i}")[0] for i in range(args.keys)]
            for key_id in ids[: args.keys // 5]:
                store.revoke(key_id)
        for concurrent in (1, 32):
            stamp = RevocationStamp(url)
            try:
                before = stamp._started
                wall, cpu = asyncio.run(measure(stamp, args.requests, concurrent))
                queries = stamp._started - before - 1 if backend != "sqlite" else None
            finally:
                stamp.close()
            per = 1e6 / args.requests
            shared = f", {queries} queries" if queries is not None else ", one query each"
            print(
                f"{backend}: {concurrent:2d} at a time: {wall * per:6.1f} µs wall,"
                f" {cpu * per:6.1f} µs CPU per request{shared}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run(backend, args)


if __name__ == "__main__":
    main()
