"""Indexes that let the decisions list find a page's positions without reading a decision.

The console's list (and GET /v1/decisions) filters on jurisdiction, decision date (as_of) and
key (actor), and orders by seq. Each index on the decisions now has seq after its own
column and carries the other filter columns, so whichever index the planner starts from, it
rejects non-matching decisions inside the index instead of reading each rejected row (3 to
18 kB of JSON): over 1,000,000 decisions a month of 2022 in Wuhan took 1.1 s on SQLite, a key
of another city 0.8 s (benchmarks/console_list.py). A fourth index, in seq order, serves the
walk from the newest decision whatever the filters. decision_programs gets (decision_seq, status, program), so the
program/status test of a candidate is index-only too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = (
    ("ix_decisions_jurisdiction_seq", "decisions", ["jurisdiction", "seq"]),
    ("ix_decisions_as_of_seq", "decisions", ["as_of", "seq"]),
    ("ix_decisions_actor_seq", "decisions", ["actor", "seq"]),
)
NEW = (
    (
        "ix_decisions_jurisdiction_seq_as_of_actor",
        "decisions",
        ["jurisdiction", "seq", "as_of", "actor"],
    ),
    (
        "ix_decisions_as_of_seq_jurisdiction_actor",
        "decisions",
        ["as_of", "seq", "jurisdiction", "actor"],
    ),
    (
        "ix_decisions_actor_seq_jurisdiction_as_of",
        "decisions",
        ["actor", "seq", "jurisdiction", "as_of"],
    ),
    (
        "ix_decisions_seq_jurisdiction_as_of_actor",
        "decisions",
        ["seq", "jurisdiction", "as_of", "actor"],
    ),
    (
        "ix_decision_programs_decision_seq_status_program",
        "decision_programs",
        ["decision_seq", "status", "program"],
    ),
)


def upgrade() -> None:
    for name, table, columns in NEW:
        op.create_index(name, table, columns)
    for name, table, _ in OLD:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in OLD:
        op.create_index(name, table, columns)
    for name, table, _ in NEW:
        op.drop_index(name, table_name=table)
