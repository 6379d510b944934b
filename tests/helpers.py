"""Helpers shared by the tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "examples"


def load_example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def steps(response: dict[str, Any], step: str, member: str | None = None) -> list[dict[str, Any]]:
    return [
        s
        for s in response["trace"]
        if s["step"] == step and (member is None or s["member"] == member)
    ]


def wait_ready(server: subprocess.Popen[bytes], base: str, log: Path | None = None) -> None:
    """Wait until a started ``eligibility serve`` answers /readyz with 200 (at most a minute);
    fail with its output (``log``) if it exits or never gets there."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        output = log.read_text(encoding="utf-8", errors="replace") if log else ""
        assert server.poll() is None, f"serve exited:\n{output}"
        assert time.monotonic() < deadline, f"serve never became ready:\n{output}"
        time.sleep(0.2)
