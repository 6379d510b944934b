"""Helpers shared by the tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
