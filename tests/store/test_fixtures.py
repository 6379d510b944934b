"""The PostgreSQL gate of the shared fixtures: skip locally, fail under CI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL, make_url

UNREACHABLE = make_url("postgresql+psycopg://postgres@127.0.0.1:1/eligibility_test")


def test_unreachable_postgres_skips_without_ci(
    postgres_gate: Callable[[URL | None], URL], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not reachable at"):
        postgres_gate(UNREACHABLE)


def test_unreachable_postgres_fails_under_ci(
    postgres_gate: Callable[[URL | None], URL], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL not reachable at"):
        postgres_gate(UNREACHABLE)
