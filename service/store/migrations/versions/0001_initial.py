"""Initial schema: rule bundles, decision hash chain, chain head, API keys.

Revision ID: 0001
Revises:
Create Date: 2024-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "rule_bundles",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(100), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_rule_bundles"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("jurisdiction", sa.String(100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("bundle_sha256", sa.String(64), nullable=False),
        sa.Column("engine_version", sa.String(100), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("programs_summary", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.UniqueConstraint("seq", name="uq_decisions_seq"),
        sa.UniqueConstraint("prev_hash", name="uq_decisions_prev_hash"),
        sa.CheckConstraint("seq >= 1", name="ck_decisions_seq_positive"),
        sa.ForeignKeyConstraint(
            ["bundle_sha256"],
            ["rule_bundles.sha256"],
            name="fk_decisions_bundle_sha256_rule_bundles",
        ),
    )
    op.create_index("ix_decisions_jurisdiction_seq", "decisions", ["jurisdiction", "seq"])
    op.create_index("ix_decisions_as_of_seq", "decisions", ["as_of", "seq"])
    op.create_index("ix_decisions_actor_seq", "decisions", ["actor", "seq"])

    op.create_table(
        "decision_programs",
        sa.Column("decision_seq", sa.BigInteger(), nullable=False),
        sa.Column("program", sa.String(100), nullable=False),
        sa.Column("status", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("decision_seq", "program", name="pk_decision_programs"),
        sa.ForeignKeyConstraint(
            ["decision_seq"],
            ["decisions.seq"],
            name="fk_decision_programs_decision_seq_decisions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_decision_programs_program_status_decision_seq",
        "decision_programs",
        ["program", "status", "decision_seq"],
    )

    chain_head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_head"),
        sa.CheckConstraint("id = 1", name="ck_chain_head_single_row"),
    )
    # The empty chain: writers always find (and lock) this row.
    op.bulk_insert(chain_head, [{"id": 1, "seq": 0, "record_hash": GENESIS_HASH}])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.CheckConstraint(
            "role IN ('intake', 'integrator', 'auditor', 'admin')", name="ck_api_keys_role"
        ),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("chain_head")
    op.drop_index("ix_decision_programs_program_status_decision_seq", "decision_programs")
    op.drop_table("decision_programs")
    op.drop_index("ix_decisions_actor_seq", "decisions")
    op.drop_index("ix_decisions_as_of_seq", "decisions")
    op.drop_index("ix_decisions_jurisdiction_seq", "decisions")
    op.drop_table("decisions")
    op.drop_table("rule_bundles")
