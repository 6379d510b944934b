"""SIGTERM to ``caseload evaluate`` stops every worker with it, and a restart resumes the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.caseload.test_pipeline import cli
from tests.helpers import ROOT

HOUSEHOLDS = 30_000

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name in brackets may hold spaces
    return fields[0], int(fields[1])


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == parent and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def test_sigterm_stops_the_workers_and_a_restart_resumes(tmp_path):
    block = tmp_path / "block.jsonl"
    assert cli("caseload", "generate", "--jurisdiction", "wuhan", "--households", 5000,
               "--out", block, "--workers", "1") == 0  # fmt: skip
    source = tmp_path / "caseload.jsonl"  # the block six times: long enough to stop midway
    source.write_bytes(block.read_bytes() * (HOUSEHOLDS // 5000))
    out = tmp_path / "results.parquet"
    parts = tmp_path / "results.parquet.parts"
    command = [
        sys.executable, "-m", "service.cli", "caseload", "evaluate", str(source),
        "--jurisdiction", "wuhan", "--as-of", "2025-07-01", "--out", str(out),
        "--workers", "2", "--chunk-size", "500", "--no-progress", "--json",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # files, not pipes: a worker left behind would hold a pipe open and hang the reader
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("wb") as out_file, stderr.open("wb") as err_file:
        main = subprocess.Popen(command, stdout=out_file, stderr=err_file, cwd=tmp_path, env=env)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and main.poll() is None:
            workers = _children(main.pid)
            if len(workers) >= 2 and len(list(parts.glob("part-*.done"))) >= 2:
                break
            time.sleep(0.02)
        assert main.poll() is None, "the run ended before it could be stopped: make it longer"
        assert len(workers) == 2
        main.send_signal(signal.SIGTERM)
        code = main.wait(timeout=30)
        err = stderr.read_text(encoding="utf-8")
        assert code == 143, err
        assert "已停止" in err and "stopped" in err and "resume" in err
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.05)
        assert [pid for pid in workers if _alive(pid)] == []
    finally:
        if main.poll() is None:
            main.kill()
            main.wait()
        for pid in workers:  # never leave a stray process behind, even when the test fails
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    done_before = len(list(parts.glob("part-*.done")))
    assert 2 <= done_before < HOUSEHOLDS // 500
    assert not out.exists()

    again = subprocess.run(command, capture_output=True, cwd=tmp_path, env=env, timeout=300)
    assert again.returncode == 0, again.stderr.decode("utf-8")
    summary = json.loads(again.stdout)
    assert summary["resumed_chunks"] >= done_before
    assert summary["households"] == HOUSEHOLDS
    lines = pq.read_table(out, columns=["line"]).column("line").to_pylist()
    assert lines == list(range(1, HOUSEHOLDS + 1))  # every row once, in order
