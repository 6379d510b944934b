"""``eligibility db upgrade | keys create|list|revoke | serve`` as an operator runs them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.cli import main
from service.store import DecisionStore, current_revision
from tests.api.conftest import EXAMPLES, ROOT, free_port
from tests.helpers import wait_ready
from tests.store.test_migrations import HEAD_REVISION

CLI = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


def serve_env(data: Path) -> dict[str, str]:
    """The environment of a service on SQLite in ``data`` (the defaults otherwise)."""
    env = {
        **os.environ,
        "ELIGIBILITY_DATA_DIR": str(data),
        "ELIGIBILITY_SECRET": "",
        "ELIGIBILITY_DB_URL": "",
        "XDG_CONFIG_HOME": str(data.parent / "config"),  # the keys folder: not the user's
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def start_serve(data: Path, port: int, output: int) -> subprocess.Popen[bytes]:
    """``eligibility serve`` with two workers on loopback, SQLite in ``data``."""
    return subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=serve_env(data),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_db_upgrade_and_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert f"revision {HEAD_REVISION}" in capsys.readouterr().out
    assert current_revision(url) == HEAD_REVISION

    assert main(["keys", "create", "--role", "auditor", "--name", "inspector", "--db", url]) == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert secret.startswith("elig_") and "\n" not in secret
    assert "shown once" in captured.err

    assert main(["keys", "list", "--db", url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["name"], k["role"], k["revoked_at"]) for k in listed] == [
        ("inspector", "auditor", None)
    ]
    assert secret not in json.dumps(listed)
    with DecisionStore(url) as store:
        assert store.authenticate(secret) is not None

    key_id = listed[0]["key_id"]
    assert main(["keys", "revoke", key_id, "--db", url]) == 0
    assert main(["keys", "revoke", key_id, "--db", url]) == 1
    with DecisionStore(url) as store:
        assert store.authenticate(secret) is None

    with pytest.raises(SystemExit):
        main(["keys", "create", "--role", "root", "--name", "x", "--db", url])


def test_serve_migrates_an_empty_database_and_answers(tmp_path: Path) -> None:
    """The real command in a subprocess: two workers, loopback, SQLite in the data directory."""
    port = free_port()
    data = tmp_path / "data"
    server = start_serve(data, port, subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(server, base)
        assert (data / "decisions.db").exists()  # the default database, migrated by serve
        key_file = data.parent / "config" / "eligibility" / "keys" / "pseudonym.key"
        assert key_file.stat().st_mode & 0o077 == 0 and not (data / "secret.key").exists()

        made = subprocess.run(
            [*CLI, "keys", "create", "--role", "intake", "--name", "desk"],
            cwd=ROOT,
            env=serve_env(data),
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip()
        headers = {"Authorization": f"Bearer {key}"}
        ids = []
        for path in EXAMPLES[:4]:
            response = httpx.post(
                f"{base}/v1/decisions", content=path.read_bytes(), headers=headers, timeout=30
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["decision_id"])
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert "eligibility_decisions_total" in metrics
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    with DecisionStore(f"sqlite:///{data / 'decisions.db'}") as store:
        assert {store.get(i).id for i in ids} == set(ids)
        assert store.verify().ok
    # Structured logs: every line the service printed is JSON; no personal data in them.
    lines = [line for line in output.decode("utf-8").splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert "level" in entry and "msg" in entry
    assert "42010619790308123X" not in output.decode("utf-8")


def _socket_count(pid: int) -> int:
    """Open sockets of a process; 0 for one that has just exited (a replaced worker)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    count = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_serve_spreads_connections_over_its_workers_and_replaces_a_dead_one(
    tmp_path: Path,
) -> None:
    port = free_port()
    server = start_serve(tmp_path / "data", port, subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def workers() -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split() if _socket_count(int(pid)) > 0]

    clients: list[httpx.Client] = []
    try:
        wait_ready(server, base)
        time.sleep(1.0)
        pids = workers()
        assert len(pids) == 2
        before = {pid: _socket_count(pid) for pid in pids}
        for _ in range(24):  # 24 keep-alive connections, all open at once
            client = httpx.Client(base_url=base, timeout=10)
            client.get("/healthz")
            clients.append(client)
        gained = sorted(_socket_count(pid) - before[pid] for pid in pids)
        assert sum(gained) == 24 and gained[0] >= 4, gained  # not all on one worker

        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while sorted(workers()) == sorted(pids) or len(workers()) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)
        wait_ready(server, base)
        assert pids[0] not in workers()
    finally:
        for client in clients:
            client.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
