"""Inclusion and consistency proofs through the store, on a log of a million records.

    python benchmarks/log_proofs.py [--backend sqlite|postgres|both] [--records 1000000]
                                    [--samples 1000] [--pg-url URL] [--seed 1]

For each backend it makes a fresh database (a SQLite file in a temporary folder, or a database
created on --pg-url's server and dropped at the end), migrates it, and writes a log of
--records records directly into the store: the decision rows (small documents, a real hash
chain), the Merkle tree's stored hashes (``log_nodes``, built in memory a level at a time) and
one checkpoint signed by a key made for the run, all by bulk insert (COPY on PostgreSQL). Then
it times, over --samples random cases each, what an auditor's request costs the store:

- inclusion: ``DecisionStore.inclusion_proof(decision_id)`` against the latest checkpoint
  (looks the decision up, reads the checkpoint's size and the proof's stored hashes in one
  query, builds the path);
- inclusion (older tree): the same against a random earlier tree size;
- consistency: ``DecisionStore.consistency_proof(first)`` from a random size to the latest.

Every proof is verified against the signed root (outside the timing). It prints the time the
log took to write and the median, p99 and maximum of each kind in milliseconds (target: under
5 ms each), and the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import database  # noqa: E402
from service.canonical import canonical_json  # noqa: E402
from service.store import DecisionStore, sha256_hex, upgrade  # noqa: E402
from service.store.hashing import GENESIS_HASH, log_leaf_data, record_hash  # noqa: E402
from service.store.records import DECISION_COLUMNS  # noqa: E402
from service.store.store import decision_hash_fields  # noqa: E402
from service.store.transparency import LogKey  # noqa: E402
from service.tlog import merkle  # noqa: E402
from service.tlog.note import Signer  # noqa: E402

DEFAULT_PG = os.environ.get(
    "ELIGIBILITY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BUNDLE = canonical_json({"jurisdiction": "bench", "rules": ["log-proofs"]})
CHUNK = 50_000


def records(count: int) -> Iterator[tuple[Any, ...]]:
    """The rows of a genuine hash chain of ``count`` small records."""
    prev = GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    bundle = sha256_hex(BUNDLE)
    for seq in range(1, count + 1):
        fields = {
            "seq": seq,
            "id": f"{seq:032x}",
            "created_at": start + timedelta(microseconds=seq),
            "jurisdiction": "bench",
            "as_of": date(2026, 1, 1),
            "bundle_sha256": bundle,
            "engine_version": "bench",
            "request_json": '{"household":' + str(seq) + "}",
            "response_json": '{"ok":true}',
            "actor": "bench",
            "programs_summary": '{"dibao":"eligible"}',
            "prev_hash": prev,
        }
        prev = record_hash(decision_hash_fields(**fields))
        yield (*fields.values(), prev)


def chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def sql_time(value: datetime) -> str:
    """A timestamp as SQLAlchemy stores it in SQLite (text, microseconds always)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def node_rows(tree: merkle.MemoryTree) -> Iterator[tuple[int, int, bytes]]:
    level = 0
    while tree.size >> level:
        for index in range(tree.size >> level):
            yield level, index, tree.get_node(level, index)
        level += 1


def write_log(store: DecisionStore, count: int) -> tuple[float, str]:
    """Bulk-writes ``count`` records and their tree; returns (seconds, last record hash)."""
    started = time.perf_counter()
    leaves = bytearray()
    last = GENESIS_HASH
    engine = store.engine
    is_pg = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if not is_pg:  # the engine's SQLite connections autocommit: one transaction here
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            "INSERT INTO rule_bundles (sha256, jurisdiction, version, canonical_json, created_at)"
            f" VALUES ({', '.join(['%s' if is_pg else '?'] * 5)})",
            (sha256_hex(BUNDLE), "bench", "bench", BUNDLE, sql_time(datetime.now(UTC))),
        )

        def keep(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            nonlocal last, leaves
            for row in rows:
                leaves += merkle.leaf_hash(log_leaf_data(row[-1]))
            last = rows[-1][-1]
            return rows

        if is_pg:
            with cursor.copy(f"COPY decisions ({', '.join(DECISION_COLUMNS)}) FROM STDIN") as copy:
                for batch in chunks(records(count), CHUNK):
                    for row in keep(batch):
                        copy.write_row(row)
        else:
            insert = f"INSERT INTO decisions ({', '.join(DECISION_COLUMNS)}) VALUES ({', '.join('?' * 13)})"
            for batch in chunks(records(count), CHUNK):
                rows = [
                    (*row[:2], sql_time(row[2]), row[3], row[4].isoformat(), *row[5:])
                    for row in keep(batch)
                ]
                cursor.executemany(insert, rows)
        tree = merkle.MemoryTree.of_concatenated(leaves)
        if is_pg:
            with cursor.copy("COPY log_nodes (level, node_index, hash) FROM STDIN") as copy:
                for row in node_rows(tree):
                    copy.write_row(row)
        else:
            nodes = node_rows(tree)
            for batch in chunks(nodes, CHUNK):
                cursor.executemany(
                    "INSERT INTO log_nodes (level, node_index, hash) VALUES (?, ?, ?)", batch
                )
        mark = "%s" if is_pg else "?"
        cursor.execute(
            f"UPDATE chain_head SET seq = {mark}, record_hash = {mark} WHERE id = 1", (count, last)
        )
        raw.commit()
    finally:
        raw.close()
    if is_pg:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started, last


Timings = tuple[list[float], list[float]]  # wall and this process's CPU, in ms


def timed(samples: int, make: Callable[[], Callable[[], Any]]) -> tuple[Timings, list[Any]]:
    """Wall and CPU time of each call. On a shared machine the wall time's tail is mostly
    waiting for a core; the CPU time is what the proof costs (here, and in SQLite, which runs
    in this process; PostgreSQL's own share is not in it)."""
    walls, cpus, results = [], [], []
    for _ in range(samples):
        call = make()
        cpu, started = time.process_time(), time.perf_counter()
        results.append(call())
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return (walls, cpus), results


def _pct(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 3)


def summary(timings: Timings) -> dict[str, float]:
    wall, cpu = sorted(timings[0]), sorted(timings[1])
    return {
        "median_ms": round(statistics.median(wall), 3),
        "p99_ms": _pct(wall, 0.99),
        "max_ms": round(wall[-1], 3),
        "cpu_median_ms": round(statistics.median(cpu), 3),
        "cpu_p99_ms": _pct(cpu, 0.99),
    }


def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    count = args.records
    key = LogKey(Signer.generate("bench.example/decisions"))
    with (
        tempfile.TemporaryDirectory(prefix="eligibility-logbench-") as tmp,
        database(backend, Path(tmp), args.pg_url) as url,
    ):
        if True:  # noqa: SIM108 -- keeps the steps below in one block
            upgrade(url)
            with DecisionStore(url, signer=key) as store:
                write_seconds, _ = write_log(store, count)
                signed = store.sign_checkpoint()
                assert signed is not None and signed.size == count
                size, root = key.open(signed.note)

                def inclusion() -> Callable[[], Any]:
                    seq = rng.randint(1, count)
                    return lambda: store.inclusion_proof(f"{seq:032x}")

                def older() -> Callable[[], Any]:
                    tree_size = rng.randint(2, count)
                    seq = rng.randint(1, tree_size)
                    return lambda: store.inclusion_proof(f"{seq:032x}", tree_size)

                def consistency() -> Callable[[], Any]:
                    first = rng.randint(1, count - 1)
                    return lambda: (first, store.consistency_proof(first))

                for warm in (inclusion, consistency):  # connections, caches, plans
                    timed(20, warm)
                inc_times, inc = timed(args.samples, inclusion)
                old_times, _ = timed(args.samples, older)
                con_times, con = timed(args.samples, consistency)
                for proof in inc:
                    assert merkle.verify_inclusion(
                        proof.leaf_hash, proof.leaf_index, size, proof.hashes, root
                    )
                checks = rng.sample(con, min(50, len(con)))
                for first, (second, hashes) in checks:  # the old root: from the store's tree
                    old_root = store.tree_root(first)
                    assert merkle.verify_consistency(first, second, old_root, root, hashes)
    return {
        "backend": backend,
        "records": count,
        "write_log_s": round(write_seconds, 1),
        "samples": args.samples,
        "inclusion": summary(inc_times),
        "inclusion_older_tree": summary(old_times),
        "consistency": summary(con_times),
        "proof_hashes_max": max(len(p.hashes) for p in inc),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (any database)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.records < 2 or args.samples < 1:
        parser.error("--records must be at least 2 and --samples at least 1")
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        row = run(backend, args)
        print(json.dumps(row))
        print(
            f"{backend}: {row['records']} records written in {row['write_log_s']} s;"
            f" inclusion median {row['inclusion']['median_ms']} ms,"
            f" p99 {row['inclusion']['p99_ms']} ms;"
            f" older tree p99 {row['inclusion_older_tree']['p99_ms']} ms;"
            f" consistency median {row['consistency']['median_ms']} ms,"
            f" p99 {row['consistency']['p99_ms']} ms; CPU p99: inclusion"
            f" {row['inclusion']['cpu_p99_ms']} ms, consistency"
            f" {row['consistency']['cpu_p99_ms']} ms; load {row['load_average_1m']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
