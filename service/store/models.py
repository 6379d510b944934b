"""SQLAlchemy 2 ORM models of the decision store.

The schema is owned by the Alembic migrations in ``migrations/versions``; these models
mirror it (a test compares the two) and are used for typed queries.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, identical on SQLite and PostgreSQL, so that errors can be
# recognised by name and migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES: tuple[str, ...] = ("intake", "integrator", "auditor", "admin")

HASH_LEN = 64
"""Length of a hex SHA-256 digest."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RuleBundleRow(Base):
    """A rule bundle, content-addressed by the SHA-256 of its canonical JSON."""

    __tablename__ = "rule_bundles"

    sha256: Mapped[str] = mapped_column(String(HASH_LEN), primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(Text)
    canonical_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DecisionRow(Base):
    """One link of the append-only decision hash chain."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("seq >= 1", name="seq_positive"),
        # The list's filters: each index has seq after its own column and carries the other
        # filter columns, so a page's positions are found from an index alone (migration 0006).
        Index(None, "jurisdiction", "seq", "as_of", "actor"),
        Index(None, "as_of", "seq", "jurisdiction", "actor"),
        Index(None, "actor", "seq", "jurisdiction", "as_of"),
        Index(None, "seq", "jurisdiction", "as_of", "actor"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Chain position; unique so two writers can never claim the same slot.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    jurisdiction: Mapped[str] = mapped_column(String(100))
    as_of: Mapped[date] = mapped_column(Date)
    bundle_sha256: Mapped[str] = mapped_column(String(HASH_LEN), ForeignKey("rule_bundles.sha256"))
    engine_version: Mapped[str] = mapped_column(String(100))
    request_json: Mapped[str] = mapped_column(Text)
    response_json: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    programs_summary: Mapped[str] = mapped_column(Text)
    # Unique: a second record pointing at the same predecessor (a fork) is impossible.
    prev_hash: Mapped[str] = mapped_column(String(HASH_LEN), unique=True)
    record_hash: Mapped[str] = mapped_column(String(HASH_LEN))


class DecisionProgramRow(Base):
    """Derived index of ``decisions.programs_summary`` for portable program/status filters.

    Not part of the hash: it is rebuilt from the (hashed) summary and only used for search.
    """

    __tablename__ = "decision_programs"
    __table_args__ = (
        Index(None, "program", "status", "decision_seq"),
        Index(None, "decision_seq", "status", "program"),
    )

    decision_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("decisions.seq", ondelete="CASCADE"), primary_key=True
    )
    program: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(100))


class ChainHeadRow(Base):
    """The single row naming the last record of the chain.

    Writers lock it (``FOR UPDATE`` on PostgreSQL) before appending, which serialises
    appends, and ``verify`` uses it to detect records deleted from the tail.
    """

    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    record_hash: Mapped[str] = mapped_column(String(HASH_LEN))


class LogNodeRow(Base):
    """A stored hash of the transparency log's Merkle tree (RFC 9162; Go's sumdb layout).

    ``(level, node_index)`` names the complete subtree of ``2**level`` leaves starting at leaf
    ``node_index * 2**level``; leaf ``i`` is the record of ``seq`` i + 1. Written in the
    transaction that appends the records, never changed afterwards.
    """

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class CheckpointRow(Base):
    """A signed checkpoint (tree size and root; Go's signed-note text, C2SP tlog-checkpoint).

    A convenience copy: what protects the log are the copies auditors keep outside it.
    """

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """An API key; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('intake', 'integrator', 'auditor', 'admin')", name="role"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleSessionRow(Base):
    """A sign-in session of the web console: the hash of its token and the key it was opened
    with (never the key itself, nor the token)."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index(None, "key_id"), Index(None, "last_seen_at"))

    token_hash: Mapped[str] = mapped_column(String(HASH_LEN), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), ForeignKey("api_keys.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyKeyRow(Base):
    """A request's ``Idempotency-Key``, bound to the decision it recorded (written in the same
    transaction): a retry with the same key gets that decision back instead of a second one.

    Keys are per API key (``actor``); the key itself is stored as its SHA-256 and the request
    as a keyed fingerprint of its body (the body held personal data). Not part of the hash
    chain: it only says which request a decision answered.
    """

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(HASH_LEN), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    decision_id: Mapped[str] = mapped_column(String(32), ForeignKey("decisions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
