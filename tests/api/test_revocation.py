"""A key revoked through the API (or the command line) is refused by every worker from the
moment the revocation answers, although each worker caches the keys it has verified."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from service.store import DecisionStore
from tests.api.conftest import ROOT, free_port
from tests.api.test_http_cli import CLI, serve_env
from tests.helpers import wait_ready

REQUESTS_AFTER = 300  # each on a fresh connection, so both workers get their share


def status_codes(base: str, key: str, count: int) -> list[int]:
    """``count`` requests with ``key``, 8 at a time, each on its own new connection."""

    host, port = base.removeprefix("http://").split(":")

    def one(_: int) -> int:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("GET", "/v1/rulesets", headers={"X-API-Key": key})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def test_a_revoked_key_is_refused_by_every_worker_at_once(db_url: str, tmp_path: Path) -> None:
    with DecisionStore(db_url) as store:
        admin = store.create_key("admin", "admin")[1]
        by_api_id, by_api = store.create_key("intake", "desk-1")
        by_cli_id, by_cli = store.create_key("intake", "desk-2")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **serve_env(tmp_path / "data"),
        "ELIGIBILITY_DB_URL": db_url,
        "ELIGIBILITY_KEY_CACHE_SECONDS": "60",  # far longer than the test: only revocation acts
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(server, base, log)
        # Both workers verify and cache both keys (40 fresh connections each: the kernel
        # spreads them over the two workers).
        assert set(status_codes(base, by_api, 40)) == {200}
        assert set(status_codes(base, by_cli, 40)) == {200}

        with httpx.Client(base_url=base, timeout=30) as client:
            revoked = client.delete(f"/v1/admin/keys/{by_api_id}", headers={"X-API-Key": admin})
        assert revoked.status_code == 200, revoked.text
        after = status_codes(base, by_api, REQUESTS_AFTER)
        assert after.count(200) == 0 and set(after) == {401}

        # As `eligibility keys revoke` does: straight in the database, no worker told.
        with DecisionStore(db_url) as store:
            assert store.revoke(by_cli_id)
        after = status_codes(base, by_cli, REQUESTS_AFTER)
        assert after.count(200) == 0 and set(after) == {401}

        # The other keys still work (from the cache again after one look-up).
        assert set(status_codes(base, admin, 20)) == {200}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
