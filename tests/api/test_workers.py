"""``eligibility serve --workers 2`` owns its port: its workers die with it, and a second
``serve`` on the same port refuses to start (SO_REUSEPORT would otherwise let it join)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.api.conftest import ROOT, free_port
from tests.api.test_http_cli import CLI, serve_env, start_serve
from tests.helpers import wait_ready

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads the process table in /proc"
)


def children(pid: int) -> list[int]:
    """The living processes whose parent is ``pid`` (zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def port_is_free(port: int) -> bool:
    """Nothing listens on the port and nothing holds it: a plain bind succeeds."""
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def second_serve(data: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=serve_env(data),
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_refused(result: subprocess.CompletedProcess[str], port: int) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr
    assert f"端口 127.0.0.1:{port} 已被占用" in message
    assert f"port 127.0.0.1:{port} is already in use" in message


def test_a_second_serve_refuses_and_the_workers_die_with_their_supervisor(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = start_serve(tmp_path / "data", port, output.fileno())
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, base, log)
        workers = [pid for pid in children(server.pid) if "spawn_main" in cmdline(pid)]
        assert len(workers) == 2

        # Another instance on the same port (its own data folder): refused before it starts.
        assert_refused(second_serve(tmp_path / "other", port), port)
        assert children(server.pid) and server.poll() is None  # the first one is untouched

        before = children(server.pid)
        server.send_signal(signal.SIGKILL)  # the supervisor only, not its process group
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in before):
            assert time.monotonic() < deadline, [pid for pid in before if alive(pid)]
            time.sleep(0.1)
        assert port_is_free(port)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        for pid in children(server.pid):
            os.kill(pid, signal.SIGKILL)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_serve_refuses_a_port_another_program_listens_on(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        assert_refused(second_serve(tmp_path / "data", port), port)
        assert not (tmp_path / "data").exists()  # refused before it made anything
    finally:
        holder.close()
