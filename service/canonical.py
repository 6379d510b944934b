"""Canonical JSON: the one serialisation of everything that is hashed.

Rule bundles (their SHA-256 names them) and decision records (their hash chains them) go
through :func:`canonical_json`, so the same value always gives the same text, whichever process,
package or backend made it: keys sorted, no whitespace, real UTF-8 text (no ``\\u`` escapes).
NaN and Infinity are refused: they are not JSON and would not read back.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
