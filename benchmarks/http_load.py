"""HTTP load: recorded decisions per second through the real service, then a check of the store.

    python benchmarks/http_load.py [--backend sqlite|postgres|both] [--duration 15]
                                   [--connections 32] [--workers 2] [--pg-url URL]

For each backend it starts ``eligibility serve`` on loopback (a fresh SQLite file in a temporary
data directory, or a fresh PostgreSQL database created on --pg-url's server and dropped at the
end), creates an intake key, and drives ``POST /v1/decisions`` from --connections keep-alive
connections for --duration seconds (a bounded run: it stops by itself). The requests are the
contract examples and synthetic households. Then it stops the service and checks the store:

- lost: answered 201 but no record with that decision_id (must be 0);
- unanswered: records that no 201 was seen for (a request cut off by the end of the run);
- the log verifies over every record (with the service's key: the latest signed checkpoint
  too; the key lives in a temporary folder beside, not in, the data folder).

It prints decisions/s (201s per second of load), p50/p99 latency of the 201s, the lost count
and the verify result. The client is a minimal HTTP/1.1 client on asyncio so that it costs the
2-core machine as little CPU as possible; it shares the machine with the service.
Exit code 0 if nothing was lost and the chain verified, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.store import DecisionStore  # noqa: E402
from service.synthetic import population  # noqa: E402

DEFAULT_PG = os.environ.get(
    "ELIGIBILITY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CLI = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request_bodies(count: int) -> list[bytes]:
    bodies = [p.read_bytes() for p in sorted((ROOT / "tests" / "examples").glob("*.json"))]
    bodies += [orjson.dumps(h) for h in population(count, seed=7)]
    return bodies


@contextmanager
def database(backend: str, data_dir: Path, pg_url: str):
    if backend == "sqlite":
        yield f"sqlite:///{data_dir / 'decisions.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from service.store.database import normalise_url

    base = normalise_url(pg_url)
    name = f"eligibility_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"eligibility {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


async def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            await writer.drain()
            data = await reader.read()
            writer.close()
            if data.startswith(b"HTTP/1.1 200"):
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("the service did not become ready in time")


class Results:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.decision_ids: list[str] = []
        self.errors: Counter[str] = Counter()


async def connection(
    port: int, key: str, bodies: list[bytes], offset: int, stop_at: float, results: Results
) -> None:
    head = (
        "POST /v1/decisions HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    ).encode()
    requests = [head + b"Content-Length: %d\r\n\r\n" % len(b) + b for b in bodies]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = offset
    try:
        while time.monotonic() < stop_at:
            payload = requests[index % len(requests)]
            index += 1
            started = time.perf_counter()
            writer.write(payload)
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            results.statuses[status] += 1
            if status == 201:
                results.latencies.append(elapsed)
                results.decision_ids.append(orjson.loads(body)["decision_id"])
    except (OSError, asyncio.IncompleteReadError) as error:
        results.errors[type(error).__name__] += 1
    finally:
        writer.close()


async def drive(port: int, key: str, bodies: list[bytes], seconds: float, conns: int) -> Results:
    results = Results()
    stop_at = time.monotonic() + seconds
    tasks = [connection(port, key, bodies, i * 97, stop_at, results) for i in range(conns)]
    await asyncio.gather(*tasks)
    return results


def cpu_seconds(session_id: int) -> tuple[float, float]:
    """User + system CPU of the service's processes (its session: master and workers), and of
    the PostgreSQL server's processes on this machine (0 when it runs elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    service = postgres = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command, _, rest = (entry / "stat").read_text().rpartition(")")
            fields = rest.split()
        except OSError:
            continue
        # After the command: state ppid pgrp session ... utime(11) stime(12), 0-based here.
        used = int(fields[11]) + int(fields[12])
        if int(fields[3]) == session_id:
            service += used
        elif command.endswith("(postgres"):
            postgres += used
    return service / ticks, postgres / ticks


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def check_store(url: str, answered: list[str], key_file: Path) -> dict[str, Any]:
    from sqlalchemy import select

    from service.api.signing import load_key
    from service.store.models import DecisionRow

    # With the service's key: verify checks the latest signed checkpoint too.
    with DecisionStore(url, signer=load_key(key_file)) as store:
        with store.engine.connect() as conn:
            stored = set(conn.execute(select(DecisionRow.id)).scalars())
        report = store.verify()
    answered_set = set(answered)
    return {
        "records": len(stored),
        "lost": len(answered_set - stored),
        "unanswered": len(stored - answered_set),
        "duplicates": len(answered) - len(answered_set),
        "verify_ok": report.ok,
        "verify_checked": report.checked,
        "verify_reason": report.reason,
    }


def run_backend(backend: str, args: argparse.Namespace, bodies: list[bytes]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="eligibility-bench-") as tmp:
        data_dir = Path(tmp)
        with database(backend, data_dir, args.pg_url) as url:
            key_file = data_dir.parent / f"{data_dir.name}-keys" / "signing.key"
            env = {
                **os.environ,
                "ELIGIBILITY_SIGNING_KEY_FILE": str(key_file),
                "ELIGIBILITY_DATA_DIR": str(data_dir),
                "ELIGIBILITY_DB_URL": url,
                "ELIGIBILITY_LOG_LEVEL": "INFO",
            }
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            run_cli(["db", "upgrade"], env)
            key = run_cli(["keys", "create", "--role", "intake", "--name", "bench"], env).strip()
            port = args.port or free_port()
            log_path = data_dir / "service.log"
            with open(log_path, "wb") as log:
                server = subprocess.Popen(
                    [*CLI, "serve", "--port", str(port), "--workers", str(args.workers)],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    asyncio.run(wait_ready(port))
                    if args.warmup > 0:
                        warm = asyncio.run(drive(port, key, bodies, args.warmup, args.connections))
                    else:
                        warm = Results()
                    server_cpu, db_cpu = cpu_seconds(server.pid)
                    client_cpu = time.process_time()
                    started = time.perf_counter()
                    results = asyncio.run(drive(port, key, bodies, args.duration, args.connections))
                    elapsed = time.perf_counter() - started
                    client_cpu = time.process_time() - client_cpu
                    server_after, db_after = cpu_seconds(server.pid)
                    server_cpu, db_cpu = server_after - server_cpu, db_after - db_cpu
                    load = os.getloadavg()[0]
                finally:
                    os.killpg(server.pid, signal.SIGTERM)
                    try:
                        server.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.killpg(server.pid, signal.SIGKILL)
                        server.wait()
            store = check_store(url, warm.decision_ids + results.decision_ids, key_file)
            shutil.rmtree(key_file.parent, ignore_errors=True)
            latencies = sorted(results.latencies)
            created = results.statuses.get(201, 0)
            return {
                "backend": backend,
                "workers": args.workers,
                "connections": args.connections,
                "seconds": round(elapsed, 2),
                "decisions_per_s": round(created / elapsed, 1),
                "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
                "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
                "answered_201": created,
                "other_statuses": {
                    str(k): v for k, v in sorted(results.statuses.items()) if k != 201
                },
                "client_errors": dict(results.errors),
                "warmup_201": warm.statuses.get(201, 0),
                # CPU per answered decision: what the service and this client cost. With other
                # work on the machine (load average), the throughput is lower than the CPU
                # figures allow: 2 cores / (server + client) is the ceiling on an idle machine.
                "server_cpu_ms_per_decision": round(server_cpu * 1000 / max(created, 1), 3),
                "client_cpu_ms_per_decision": round(client_cpu * 1000 / max(created, 1), 3),
                "postgres_cpu_ms_per_decision": round(db_cpu * 1000 / max(created, 1), 3),
                "load_average_1m": round(load, 2),
                **store,
            }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of measured load")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="service worker processes")
    parser.add_argument("--households", type=int, default=2000, help="distinct request bodies")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (any database)")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    if not 0 < args.duration <= 600:
        parser.error("--duration must be in (0, 600] seconds")

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    bodies = request_bodies(args.households)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    failed = False
    for backend in backends:
        row = run_backend(backend, args, bodies)
        print(json.dumps(row, ensure_ascii=False))
        print(
            f"{backend}: {row['decisions_per_s']} recorded decisions/s, p50 {row['p50_ms']} ms,"
            f" p99 {row['p99_ms']} ms, lost {row['lost']},"
            f" chain {'verified' if row['verify_ok'] else 'BROKEN'} ({row['verify_checked']} records);"
            f" CPU/decision: service {row['server_cpu_ms_per_decision']} ms,"
            f" client {row['client_cpu_ms_per_decision']} ms,"
            f" PostgreSQL server {row['postgres_cpu_ms_per_decision']} ms;"
            f" load {row['load_average_1m']}",
            flush=True,
        )
        failed |= row["lost"] != 0 or not row["verify_ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
