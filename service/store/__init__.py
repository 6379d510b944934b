"""Decision store: the decision log (hash-chained records, the leaves of a transparency log with
signed checkpoints), content-addressed rule bundles, API keys.

Standalone persistence layer (SQLAlchemy 2 + Alembic) for SQLite files and PostgreSQL.
It stores JSON documents it is given and never evaluates anything; in particular it does
not import the rule engine, the contract models or the HTTP layer.

Typical use::

    from service.store import DecisionStore, upgrade

    upgrade("sqlite:///data/decisions.db")          # create / migrate the schema
    store = DecisionStore("sqlite:///data/decisions.db")
    stored = store.record(...)                       # append to the hash chain
    assert store.verify().ok
"""

from service.store.database import (
    create_database,
    database_exists,
    describe_database,
    make_engine,
    make_private_dir,
    sqlite_file,
)
from service.store.errors import (
    BundleIntegrityError,
    InvalidCursorError,
    StoreBusyError,
    StoreError,
)
from service.store.hashing import GENESIS_HASH, canonical_json, sha256_hex
from service.store.migrate import alembic_config, current_revision, upgrade
from service.store.models import ROLES
from service.store.records import ApiKey, ChainHead, StoredDecision, VerifyReport
from service.store.store import MAX_LIST_LIMIT, DecisionStore

__all__ = [
    "GENESIS_HASH",
    "MAX_LIST_LIMIT",
    "ROLES",
    "ApiKey",
    "BundleIntegrityError",
    "ChainHead",
    "DecisionStore",
    "InvalidCursorError",
    "StoreBusyError",
    "StoreError",
    "StoredDecision",
    "VerifyReport",
    "alembic_config",
    "canonical_json",
    "create_database",
    "current_revision",
    "database_exists",
    "describe_database",
    "make_engine",
    "make_private_dir",
    "sha256_hex",
    "sqlite_file",
    "upgrade",
]
