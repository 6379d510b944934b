"""PostgreSQL: compress the stored request and response texts with lz4 instead of pglz.

A stored response is about 12 kB of JSON, which PostgreSQL compresses (TOAST), and the
decision is written while the chain lock is held. lz4 compresses such text at a fraction of
pglz's cost: in the load benchmark the server's CPU per recorded decision fell from 0.39 to
0.24-0.30 ms. Rows already stored keep their compression; both are read transparently.

SQLite is not concerned, and a PostgreSQL built without lz4 keeps pglz (nothing to do).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("decisions", "request_json"), ("decisions", "response_json"))


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    values = bind.exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    ).scalar()
    return bool(values) and "lz4" in values


def _set(method: str) -> None:
    if not _lz4_available():
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
