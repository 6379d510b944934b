"""Concurrent appenders must never fork, gap or break the chain (threads and processes)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from service.store import DecisionStore, StoredDecision
from service.store.models import DecisionRow, RuleBundleRow
from service.tlog.note import Signer

THREADS = 8
PER_THREAD = 200
PROCESSES = 4
PER_PROCESS = 50
WRITER_SCRIPT = Path(__file__).with_name("_writer_proc.py")


def assert_linear_chain(store: DecisionStore, expected: int) -> None:
    """seq is exactly 1..expected, every link matches and verify() agrees."""
    with store.engine.connect() as conn:
        seqs = conn.execute(select(DecisionRow.seq).order_by(DecisionRow.seq)).scalars().all()
        prev_hashes = conn.execute(select(DecisionRow.prev_hash)).scalars().all()
    assert seqs == list(range(1, expected + 1))
    assert len(set(prev_hashes)) == expected  # no two records share a predecessor: no fork
    report = store.verify()
    assert report.ok, report
    assert report.checked == expected
    assert store.head().seq == expected


def test_threads_never_fork_the_chain(
    store: DecisionStore, record_kwargs: Callable[..., dict[str, Any]]
) -> None:
    barrier = threading.Barrier(THREADS)
    results: list[list[StoredDecision]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            barrier.wait()  # maximise contention: everyone starts together
            for i in range(PER_THREAD):
                results[t].append(
                    store.record(**record_kwargs(t * PER_THREAD + i, actor=f"thread-{t}"))
                )
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = THREADS * PER_THREAD
    returned = sorted(d.seq for r in results for d in r)
    assert returned == list(range(1, total + 1))
    # What record() returned is what was stored (same hash, same link).
    last = results[0][-1]
    assert store.get(last.id) == last
    assert_linear_chain(store, total)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RuleBundleRow)).scalar_one() == 1


def test_processes_never_fork_the_chain(
    db_url: str, store: DecisionStore, log_signer: Signer
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER_SCRIPT), db_url, str(PER_PROCESS), f"proc-{p}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(PROCESSES)
    ]
    try:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(log_signer.key_text() + "\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr and proc.stderr.read()
        for proc in procs:  # release them together
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == f"done {PER_PROCESS}"

    assert_linear_chain(store, PROCESSES * PER_PROCESS)
    with store.engine.connect() as conn:
        per_actor = dict(
            conn.execute(select(DecisionRow.actor, func.count()).group_by(DecisionRow.actor)).all()
        )
    assert per_actor == {f"proc-{p}": PER_PROCESS for p in range(PROCESSES)}
