"""The console's style sheet and script, read once from ``static/``, each with the hash of its
content in its address (a changed file is fetched anew, an unchanged one kept a day)."""

from __future__ import annotations

import hashlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _load() -> dict[str, tuple[bytes, str, str]]:
    found = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix in TYPES:
            body = path.read_bytes()
            found[path.name] = (body, TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:16])
    return found


ASSETS: dict[str, tuple[bytes, str, str]] = _load()


def asset_url(name: str) -> str:
    return f"/console/static/{name}?v={ASSETS[name][2]}"
