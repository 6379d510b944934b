"""Transparency log: the Merkle tree's stored hashes and the signed checkpoints.

Every record already in the log becomes a leaf, in ``seq`` order (record ``seq`` n is leaf
n - 1), with its existing ``record_hash`` as leaf data: nothing already recorded changes, and
the tree commits to the hash chain as it stands. The tree's stored hashes are computed here.
No checkpoint is signed (the migration has no key): the service signs one for the whole log
when it starts (and with every commit after that).

``chain_head`` stays: appenders still lock it and read the previous record's hash from it, but
``verify`` no longer trusts it (the signed checkpoints say how long the log was).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from service.store.hashing import log_leaf_data
from service.tlog.merkle import MemoryTree, leaf_hash

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAGE = 10_000

_NODES = sa.table(
    "log_nodes",
    sa.column("level", sa.SmallInteger()),
    sa.column("node_index", sa.BigInteger()),
    sa.column("hash", sa.LargeBinary()),
)


def upgrade() -> None:
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name="pk_log_nodes"),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_log_checkpoints"),
    )
    _leaves_of_existing_records()


def _leaves_of_existing_records() -> None:
    """Reads the records page by page in ``seq`` order and writes the tree's stored hashes."""
    bind = op.get_bind()
    tree = MemoryTree()
    pending: list[dict[str, Any]] = []
    after = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT seq, record_hash FROM decisions WHERE seq > :after ORDER BY seq LIMIT :n"
            ),
            {"after": after, "n": PAGE},
        ).all()
        if not rows:
            break
        for seq, record_hash in rows:
            if seq != tree.size + 1:
                # A gap would shift every later leaf: stop, and let an operator look first.
                raise RuntimeError(
                    f"the decision log has no record with seq {tree.size + 1} (next: {seq});"
                    " the transparency log cannot be built over a broken chain"
                )
            for level, index, digest in tree.append(leaf_hash(log_leaf_data(record_hash))):
                pending.append({"level": level, "node_index": index, "hash": digest})
        after = rows[-1][0]
        bind.execute(_NODES.insert(), pending)
        pending.clear()


def downgrade() -> None:
    op.drop_table("log_checkpoints")
    op.drop_table("log_nodes")
