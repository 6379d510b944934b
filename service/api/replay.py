"""Field-by-field comparison of a stored response with a re-evaluated one."""

from __future__ import annotations

from typing import Any

_MISSING = None  # a field present on one side only is reported against null

IGNORED = frozenset({"decision_id"})
# What a newer engine may say differently about the same decision: the wording of its trace and
# its own version. A replay that differs only there decided the same (``decision_identical``).
WORDING = frozenset({"message_zh", "message_en", "engine_version"})


def diff_documents(stored: Any, replayed: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs, as ``{path, stored, replayed}`` (paths like ``trace[3].outcome``)."""
    out: list[dict[str, Any]] = []
    _walk(stored, replayed, path, out)
    return out


def decision_changes(diff: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of ``diff`` that are not wording: statuses, amounts, steps, values."""
    return [entry for entry in diff if entry["path"].rpartition(".")[2] not in WORDING]


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if not path and key in IGNORED:
                continue
            child = f"{path}.{key}" if path else str(key)
            _walk(a.get(key, _MISSING), b.get(key, _MISSING), child, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            _walk(
                a[index] if index < len(a) else _MISSING,
                b[index] if index < len(b) else _MISSING,
                f"{path}[{index}]",
                out,
            )
        return
    if a != b or type(a) is not type(b):
        out.append({"path": path, "stored": a, "replayed": b})
