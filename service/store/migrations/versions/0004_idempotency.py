"""Idempotency keys: a retried ``POST /v1/decisions`` gets its decision back, not a second one.

One row per (API key, ``Idempotency-Key``), written in the transaction that appends the decision
it names, so a key is never stored without its decision nor a decision without its key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key_hash", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_idempotency_keys_decision_id_decisions"
        ),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
