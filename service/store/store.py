"""The decision store: an append-only, hash-chained log of decisions plus rule bundles and
API keys.

Chain invariant: record ``n`` (``seq`` = n, starting at 1) has ``prev_hash`` equal to the
``record_hash`` of record ``n-1`` (64 zeros for record 1), and ``record_hash`` is the SHA-256
of the canonical JSON of all its other fields. Appends are serialised by a lock taken
*before* the head is read (see :meth:`DecisionStore.record`), so concurrent writers -- threads
or processes -- can neither fork nor gap the chain; ``UNIQUE(seq)`` and ``UNIQUE(prev_hash)``
back this up at the database level.

Each record is also a leaf of the transparency log (:mod:`service.store.transparency`): the
append transaction writes the Merkle tree's new stored hashes and, with a signer, a signed
checkpoint of the new tree. :meth:`DecisionStore.verify` trusts neither the chain head nor the
stored tree, only the records and the checkpoints' signatures (:mod:`service.store.verify`).
"""

from __future__ import annotations

import base64
import binascii
import builtins
import functools
import json
import random
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, exists, func, literal_column, select, text, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from service.store import keys as keymod
from service.store.database import WRITE_OPTION, make_engine
from service.store.errors import (
    BeyondLogError,
    BundleIntegrityError,
    DamagedRecordError,
    IdempotencyKeyTaken,
    InvalidCursorError,
    LogForkedError,
    StoreBusyError,
)
from service.store.hashing import (
    canonical_json_bytes,
    is_hex64,
    log_leaf_data,
    record_hash,
    sha256_hex,
)
from service.store.models import (
    ROLES,
    ApiKeyRow,
    ChainHeadRow,
    CheckpointRow,
    DecisionProgramRow,
    DecisionRow,
    IdempotencyKeyRow,
    RuleBundleRow,
)
from service.store.records import (
    DECISION_COLUMNS,
    ApiKey,
    ChainHead,
    StoredDecision,
    VerifyReport,
)
from service.store.transparency import (
    CheckpointSigner,
    InclusionProof,
    StoredCheckpoint,
    checked_lookup,
    compact_range,
    needed_nodes,
    node_params,
    select_nodes_sql,
)
from service.store.verify import LogVerifier
from service.tlog import merkle

try:  # optional: only makes the JSON validity check cheaper
    from orjson import loads as _fast_json_loads
except ImportError:  # pragma: no cover
    _fast_json_loads = None

T = TypeVar("T")

MAX_WRITE_ATTEMPTS = 6
MAX_LIST_LIMIT = 500
# A date filter matching fewer decisions than this is read through the as_of index and its
# positions sorted; a wider one is read in seq order (see DecisionStore.list).
_NARROW_DATES = 100_000
# A page is first looked for among this many positions after the cursor (or the newest).
_WINDOW = 10_000
VERIFY_BATCH_SIZE = 1000

# PostgreSQL SQLSTATEs worth retrying: serialization_failure, deadlock_detected,
# lock_not_available.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_CHAIN_CONSTRAINTS = (
    "uq_decisions_seq",
    "uq_decisions_prev_hash",
    "decisions.seq",
    "decisions.prev_hash",
)
_PROGRAM_COLUMNS = ("decision_seq", "program", "status")
_IDEMPOTENCY_COLUMNS = ("actor", "key_hash", "request_hash", "decision_id", "created_at")


@dataclass(frozen=True, slots=True)
class SqlStep:
    """One statement of an append: SQL in the driver's style, its parameters (a list of
    parameter tuples means one executemany), and whether its rows are wanted back."""

    sql: str
    params: Any
    returns_rows: bool = False


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Validated decisions of one append, and the distinct rule bundles they use."""

    decisions: list[dict[str, Any]]
    bundles: dict[str, tuple[str, str, str]]  # sha256 -> (jurisdiction, version, text)

    @classmethod
    def join(cls, parts: Sequence[PreparedBatch]) -> PreparedBatch:
        """The batches one after the other, as one."""
        decisions = [decision for part in parts for decision in part.decisions]
        bundles = {sha: bundle for part in parts for sha, bundle in part.bundles.items()}
        return cls(decisions, bundles)


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


class AppendSql:
    """The fixed statements of an append, in the driver's parameter style."""

    def __init__(self, mark: str, *, for_update: bool):
        # PostgreSQL: FOR UPDATE on the single head row is the chain lock (SQLite's is the
        # database write lock that BEGIN IMMEDIATE took).
        self.head = "SELECT seq, record_hash FROM chain_head WHERE id = 1" + (
            " FOR UPDATE" if for_update else ""
        )
        self.move_head = f"UPDATE chain_head SET seq = {mark}, record_hash = {mark} WHERE id = 1"
        self.insert_decision = _insert_sql("decisions", DECISION_COLUMNS, mark)
        self.insert_program = _insert_sql("decision_programs", _PROGRAM_COLUMNS, mark)
        self.insert_node = _insert_sql("log_nodes", ("level", "node_index", "hash"), mark)
        # PostgreSQL: a batch's nodes as three arrays in one statement (one row each through
        # executemany cost the service more CPU than the rest of the log's work together).
        self.insert_nodes_unnest = (
            "INSERT INTO log_nodes (level, node_index, hash)"
            " SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])"
            if for_update
            else None
        )
        self.insert_checkpoint = _insert_sql(
            "log_checkpoints", ("size", "root", "note", "created_at"), mark
        )
        self.insert_idempotency = _insert_sql("idempotency_keys", _IDEMPOTENCY_COLUMNS, mark)
        self.insert_bundle = (
            "INSERT INTO rule_bundles (sha256, jurisdiction, version, canonical_json, created_at)"
            f" VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT (sha256) DO NOTHING"
        )
        self._mark = mark

    def log_nodes(self, count: int) -> str:
        return select_nodes_sql(count, self._mark)

    @functools.lru_cache(maxsize=128)  # noqa: B019 -- as known_bundles
    def log_nodes_and_checkpoint(self, count: int) -> str:
        """The ``count`` stored hashes, and the latest checkpoint as a row of level -1:
        (-1, size, root). One round trip for both."""
        latest = (
            f"SELECT {CHECKPOINT_LEVEL}, size, root FROM log_checkpoints"
            " WHERE size = (SELECT max(size) FROM log_checkpoints)"
        )
        return f"{select_nodes_sql(count, self._mark)} UNION ALL {latest}" if count else latest

    @functools.lru_cache(maxsize=256)  # noqa: B019 -- a few instances, alive as long as the process
    def known_bundles(self, count: int) -> str:
        marks = ", ".join([self._mark] * count)
        return f"SELECT sha256 FROM rule_bundles WHERE sha256 IN ({marks})"


def _bind_converters(engine: Engine, model: type[DecisionRow]) -> Callable[[str, Any], Any]:
    """``convert(column, value)``: the value as SQLAlchemy's column type hands it to the driver."""
    dialect = engine.dialect
    processors = {}
    for column in model.__table__.columns:
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[column.name] = processor

    def convert(name: str, value: Any) -> Any:
        processor = processors.get(name)
        return value if processor is None or value is None else processor(value)

    return convert


_MAX_TEXT = {"jurisdiction": 100, "engine_version": 100, "actor": 100, "program": 100}


CHECKPOINT_LEVEL = -1
"""The ``level`` under which an append's node query returns the latest checkpoint."""


def _check_signed_tree(
    tree: merkle.Appender, latest: Sequence[Sequence[Any]], *, signing: bool
) -> None:
    """Refuse to extend a tree that is not the one the log signed last.

    With one checkpoint per append, the latest checkpoint's size is the tree's: its root must
    be the root of the compact range just read, or the records (and their stored hashes) were
    rewritten behind the store's back and the next checkpoint would sign the rewritten
    history. A log shorter than its latest checkpoint lost records. A log longer than its
    latest checkpoint holds records no checkpoint covers: appended without the key, or the
    checkpoints that covered them were removed (after a rewrite, say); a signing store does not
    sign them either. (A log with no checkpoint at all -- migrated from the hash chain -- gets
    its first one.)
    """
    if not latest:
        return
    signed_size, signed_root = int(latest[0][1]), bytes(latest[0][2])
    if signed_size > tree.size:
        raise LogForkedError(
            f"the latest checkpoint covers {signed_size} records, the log has {tree.size}:"
            " records were removed; nothing is appended until the log is verified"
        )
    if signed_size == tree.size and tree.root() != signed_root:
        raise LogForkedError(
            f"the log's tree of {tree.size} records is not the one its latest checkpoint"
            " signed: the log was rewritten; nothing is appended until it is verified"
        )
    if signing and signed_size < tree.size:
        raise LogForkedError(_uncovered(signed_size, tree.size))


def _uncovered(signed_size: int, size: int) -> str:
    return (
        f"records {signed_size + 1} to {size} are not covered by the latest checkpoint (of size"
        f" {signed_size}): appended without the key, or the checkpoints that covered them were"
        " removed; the key does not sign them, and nothing is appended until the log is verified"
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; everything the store writes is UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso_utc(value: datetime) -> str:
    """The form ``created_at`` takes inside the hash: fixed microsecond precision, +00:00."""
    return _as_utc(value).isoformat(timespec="microseconds")


def decision_hash_fields(
    *,
    seq: int,
    id: str,
    created_at: datetime,
    jurisdiction: str,
    as_of: date,
    bundle_sha256: str,
    engine_version: str,
    request_json: str,
    response_json: str,
    actor: str,
    programs_summary: str,
    prev_hash: str,
) -> dict[str, Any]:
    """The exact field set hashed into ``record_hash`` (``programs_summary`` as stored text)."""
    return {
        "seq": seq,
        "id": id,
        "created_at": _iso_utc(created_at),
        "jurisdiction": jurisdiction,
        "as_of": as_of.isoformat(),
        "bundle_sha256": bundle_sha256,
        "engine_version": engine_version,
        "request_json": request_json,
        "response_json": response_json,
        "actor": actor,
        "programs_summary": programs_summary,
        "prev_hash": prev_hash,
    }


def _fields_hash(row: Mapping[str, Any]) -> str:
    """The record hash of a record's typed values (``verify``)."""
    return record_hash(decision_hash_fields(**{k: v for k, v in row.items() if k != "record_hash"}))


def _result_converters(engine: Engine, model: type[DecisionRow]) -> Callable[[str, Any], Any]:
    """``convert(column, value)``: a raw driver value as the column's SQLAlchemy type reads it
    (on SQLite, timestamps and dates from their text); a value it cannot read raises."""
    dialect = engine.dialect
    processors = {}
    for column in model.__table__.columns:
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            processors[column.name] = processor

    def convert(name: str, value: Any) -> Any:
        processor = processors.get(name)
        return value if processor is None or value is None else processor(value)

    return convert


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A row that could not be fetched (a date or timestamp that does not parse): only its
    position and id, which still read."""

    seq: int
    id: str


def _to_stored(row: DecisionRow | _Unreadable) -> StoredDecision:
    """The row as a record; :class:`DamagedRecordError` naming it if a field does not read as
    the store wrote it (the row was changed outside the store)."""
    if isinstance(row, _Unreadable):
        raise DamagedRecordError(row.seq, row.id, "created_at/as_of")
    try:
        summary = json.loads(row.programs_summary)
    except (TypeError, ValueError):
        summary = None
    if not isinstance(summary, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in summary.items()
    ):
        raise DamagedRecordError(row.seq, row.id, "programs_summary")
    if not isinstance(row.created_at, datetime):
        raise DamagedRecordError(row.seq, row.id, "created_at")
    if not isinstance(row.as_of, date) or isinstance(row.as_of, datetime):
        raise DamagedRecordError(row.seq, row.id, "as_of")
    return StoredDecision(
        seq=row.seq,
        id=row.id,
        created_at=_as_utc(row.created_at),
        jurisdiction=row.jurisdiction,
        as_of=row.as_of,
        bundle_sha256=row.bundle_sha256,
        engine_version=row.engine_version,
        request_json=row.request_json,
        response_json=row.response_json,
        actor=row.actor,
        programs_summary=summary,
        prev_hash=row.prev_hash,
        record_hash=row.record_hash,
    )


# What reading a damaged row raises: SQLite keeps any text in a date or timestamp column, and
# SQLAlchemy's parsing of it fails while the row is fetched (PostgreSQL's types refuse it).
_UNREADABLE = (ValueError, TypeError, OverflowError)


def _to_api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=_as_utc(row.created_at),
        revoked_at=_as_utc(row.revoked_at) if row.revoked_at is not None else None,
    )


def _is_transient(exc: DBAPIError) -> bool:
    """Lock/serialisation failures that a fresh attempt can succeed after."""
    return is_transient_driver_error(exc.orig)


def is_transient_driver_error(error: BaseException | None) -> bool:
    """The same test on the driver's own exception (sqlite3 or psycopg, sync or async)."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return "locked" in message or "busy" in message
    if isinstance(error, sqlite3.IntegrityError) or sqlstate == "23505":
        # Someone appended at our position without holding the chain lock (should be
        # impossible through this class); re-reading the head resolves it.
        return any(name in str(error) for name in _CHAIN_CONSTRAINTS)
    return False


def is_idempotency_conflict(error: BaseException | None) -> bool:
    """The driver's error for a second record under an idempotency key already stored (another
    request with that key committed first)."""
    if isinstance(error, sqlite3.IntegrityError):
        return "idempotency_keys." in str(error)
    diag = getattr(error, "diag", None)
    return getattr(error, "sqlstate", None) == "23505" and (
        getattr(diag, "constraint_name", None) == "pk_idempotency_keys"
    )


def _check_text(name: str, value: object, *, max_len: int | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    limit = max_len if max_len is not None else _MAX_TEXT.get(name)
    if limit is not None and len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value


def _check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__}")


def _check_json_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a JSON string")
    if _fast_json_loads is not None:
        # orjson accepts only strict JSON, a subset of what json.loads accepts, at a quarter
        # of the cost (this runs for every record); anything it refuses gets json's verdict.
        try:
            _fast_json_loads(value)
            return value
        except ValueError:
            pass
    try:
        json.loads(value)
    except ValueError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from exc
    return value


def _check_date(name: str, value: object) -> date:
    # datetime is a subclass of date; a timestamp here would hash differently than intended.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime.date")
    return value


def verify_bundle_text(sha256: str, canonical_json: str) -> None:
    """Raise :class:`BundleIntegrityError` unless ``canonical_json`` hashes to ``sha256``."""
    if not isinstance(sha256, str) or not is_hex64(sha256):
        raise BundleIntegrityError(f"bundle sha256 must be 64 lower-case hex digits: {sha256!r}")
    actual = sha256_hex(canonical_json)
    if actual != sha256:
        raise BundleIntegrityError(
            f"bundle content hashes to {actual}, not to the sha256 it is stored under ({sha256})"
        )


# --- cursors -------------------------------------------------------------------------------

_CURSOR_VERSION = "c1"


def _encode_cursor(seq: int, newest_first: bool) -> str:
    raw = f"{_CURSOR_VERSION}:{'d' if newest_first else 'a'}:{seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_MAX_SEQ = 2**63 - 1  # BIGINT: a larger number is no position, and the database refuses it
_SEQ_TEXT = re.compile(r"0|[1-9][0-9]{0,18}")


def _decode_cursor(cursor: str, newest_first: bool) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, direction, seq_text = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursorError("malformed cursor") from exc
    # Digits only (int() would take "+1", " 1" or "1_0"), and a position a BIGINT can hold.
    if version != _CURSOR_VERSION or not _SEQ_TEXT.fullmatch(seq_text):
        raise InvalidCursorError("malformed cursor")
    seq = int(seq_text)
    if seq > _MAX_SEQ:
        raise InvalidCursorError("cursor out of range")
    if direction != ("d" if newest_first else "a"):
        raise InvalidCursorError("cursor belongs to the other sort order")
    return seq


class DecisionStore:
    """Persistence for decisions, rule bundles and API keys (SQLite or PostgreSQL).

    Build it from an :class:`~sqlalchemy.Engine` made by :func:`make_engine` (shared, not
    disposed by :meth:`close`) or from a URL (own engine, disposed by :meth:`close`). The
    schema must exist: call :func:`service.store.upgrade` first. Thread-safe.
    """

    def __init__(
        self, engine_or_url: Engine | str | URL, *, signer: CheckpointSigner | None = None
    ) -> None:
        if isinstance(engine_or_url, Engine):
            self._engine = engine_or_url
            self._owns_engine = False
        else:
            self._engine = make_engine(engine_or_url)
            self._owns_engine = True
        # Same pool; transactions begun through it are writes (BEGIN IMMEDIATE on SQLite).
        self._write_engine = self._engine.execution_options(**{WRITE_OPTION: True})
        self._is_pg = self._engine.dialect.name == "postgresql"
        # Bundle texts already hashed and found right, by sha256: a service hands the same
        # (immutable) text object for every decision under a bundle; hashing it once is enough.
        self._verified_bundles: dict[str, str] = {}
        self._convert = _bind_converters(self._engine, DecisionRow)
        self._read_value = _result_converters(self._engine, DecisionRow)
        self._append_sql = AppendSql("%s" if self._is_pg else "?", for_update=self._is_pg)
        # Proofs read immutable rows: no transaction on PostgreSQL (no BEGIN and ROLLBACK
        # round trips around their two queries).
        self._proof_engine = (
            self._engine.execution_options(isolation_level="AUTOCOMMIT")
            if self._is_pg
            else self._engine
        )
        # Signs a checkpoint in every append transaction; None: appends leave the log unsigned
        # (a library use without the key; the service always has one).
        self._signer = signer

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> DecisionStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _decode_record(self, raw: Sequence[Any]) -> dict[str, Any]:
        """A raw ``decisions`` row (``verify``'s column order) as typed values; raises
        ValueError naming the column it cannot read (a value written behind the store's back)."""
        row: dict[str, Any] = {}
        for name, value in zip(DECISION_COLUMNS, raw, strict=True):
            try:
                typed = self._read_value(name, value)
                if name == "created_at" and not isinstance(typed, datetime):
                    raise TypeError(name)
                if name == "as_of" and (not isinstance(typed, date) or isinstance(typed, datetime)):
                    raise TypeError(name)
            except (ValueError, TypeError, OverflowError):
                raise ValueError(f"its {name} cannot be read") from None
            row[name] = typed
        return row

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run a write transaction, retrying transient lock/serialisation failures."""
        for number in range(1, MAX_WRITE_ATTEMPTS + 1):
            try:
                return attempt()
            except DBAPIError as exc:
                if not _is_transient(exc):
                    raise
                if number == MAX_WRITE_ATTEMPTS:
                    raise StoreBusyError(
                        f"database still busy after {MAX_WRITE_ATTEMPTS} attempts: {exc.orig}"
                    ) from exc
                # Jittered exponential back-off so retrying writers do not collide again.
                time.sleep(random.uniform(0, 0.02 * 2**number))
        raise AssertionError("unreachable")

    def _insert_steps(
        self, rows: Sequence[Mapping[str, Any]], program_rows: Sequence[Mapping[str, Any]]
    ) -> Iterator[SqlStep]:
        """The inserts of a batch's decisions and program index rows: one executemany each.

        Plain SQL strings, not SQLAlchemy constructs: this runs under the chain lock, and
        compiling and binding constructs per row cost more than the inserts themselves. The
        drivers batch an executemany themselves (psycopg pipelines its rows: no round trip
        per row). Each value is converted by its column's SQLAlchemy type, exactly as an ORM
        insert stores it (on SQLite, dates and timestamps in SQLAlchemy's text forms).
        """
        sql, convert = self._append_sql, self._convert
        yield SqlStep(
            sql.insert_decision,
            [tuple(convert(name, row[name]) for name in DECISION_COLUMNS) for row in rows],
        )
        if program_rows:
            yield SqlStep(
                sql.insert_program,
                [tuple(row[name] for name in _PROGRAM_COLUMNS) for row in program_rows],
            )

    def _verify_bundle(self, sha256: str, text: str) -> None:
        if self._verified_bundles.get(sha256) is text:
            return
        verify_bundle_text(sha256, text)
        if len(self._verified_bundles) >= 1024:
            self._verified_bundles.clear()
        self._verified_bundles[sha256] = text

    # --- decisions --------------------------------------------------------------------------

    def record(
        self,
        *,
        jurisdiction: str,
        as_of: date,
        bundle_sha256: str,
        bundle_version: str,
        bundle_canonical_json: str,
        engine_version: str,
        request_json: str,
        response_json: str,
        actor: str,
        programs_summary: Mapping[str, str],
    ) -> StoredDecision:
        """Append one decision to the chain (storing its rule bundle if new) and commit.

        Everything happens in one transaction: on any error nothing is left behind.
        """
        return self.record_many(
            [
                {
                    "jurisdiction": jurisdiction,
                    "as_of": as_of,
                    "bundle_sha256": bundle_sha256,
                    "bundle_version": bundle_version,
                    "bundle_canonical_json": bundle_canonical_json,
                    "engine_version": engine_version,
                    "request_json": request_json,
                    "response_json": response_json,
                    "actor": actor,
                    "programs_summary": programs_summary,
                }
            ]
        )[0]

    def record_many(
        self, items: Sequence[Mapping[str, Any]], *, json_serialised_by_caller: bool = False
    ) -> builtins.list[StoredDecision]:
        """Append several decisions, in order, in one transaction (group commit).

        Each item takes the keyword arguments of :meth:`record`. All are validated before
        the transaction starts; then they get consecutive ``seq`` numbers and are committed
        together, or -- on any error -- none of them is. One commit (one fsync) for many
        decisions is what lets a busy service keep up on a durable database.

        ``json_serialised_by_caller``: the caller made ``request_json`` and ``response_json``
        with a JSON serialiser a moment ago (the service does), so they are not parsed again
        to prove they are JSON; every other check still runs.
        """
        batch = self.prepare_batch(items, json_serialised_by_caller=json_serialised_by_caller)
        if not batch.decisions:
            return []

        def attempt() -> builtins.list[StoredDecision]:
            with self._write_engine.begin() as conn:
                plan = self.append_plan(batch)
                step = next(plan)
                while True:
                    rows = conn.exec_driver_sql(step.sql, step.params)
                    result = rows.all() if step.returns_rows else None
                    try:
                        step = plan.send(result)
                    except StopIteration as done:
                        stored: builtins.list[StoredDecision] = done.value
                        break
            # Committed: the results are exactly what was written.
            return stored

        try:
            return self._retrying(attempt)
        except DBAPIError as error:
            if is_idempotency_conflict(error.orig):
                raise IdempotencyKeyTaken() from None
            raise

    def prepare_batch(
        self, items: Sequence[Mapping[str, Any]], *, json_serialised_by_caller: bool = False
    ) -> PreparedBatch:
        """Validates the items of :meth:`record_many`; raises ValueError/TypeError naming the
        field. Nothing here needs the database."""
        prepared: builtins.list[dict[str, Any]] = []
        bundles: dict[str, tuple[str, str, str]] = {}
        for item in items:
            jurisdiction = _check_text("jurisdiction", item["jurisdiction"])
            _check_date("as_of", item["as_of"])
            bundle_version = _check_text("bundle_version", item["bundle_version"])
            bundle_sha256 = item["bundle_sha256"]
            bundle_text = item["bundle_canonical_json"]
            known = bundles.get(bundle_sha256)
            if known is None or known[2] is not bundle_text:
                self._verify_bundle(bundle_sha256, bundle_text)
                bundles[bundle_sha256] = (jurisdiction, bundle_version, bundle_text)
            _check_text("engine_version", item["engine_version"])
            if json_serialised_by_caller:
                _check_type("request_json", item["request_json"], str)
                _check_type("response_json", item["response_json"], str)
            else:
                _check_json_text("request_json", item["request_json"])
                _check_json_text("response_json", item["response_json"])
            _check_text("actor", item["actor"])
            idempotency = item.get("idempotency")
            if idempotency is not None and not (
                isinstance(idempotency, tuple)
                and len(idempotency) == 2
                and all(isinstance(h, str) and is_hex64(h) for h in idempotency)
            ):
                raise ValueError("idempotency must be (key_hash, request_hash), hex SHA-256 each")
            programs_summary = item["programs_summary"]
            if not isinstance(programs_summary, Mapping):
                raise TypeError("programs_summary must be a mapping of program -> status")
            summary = {
                _check_text("program", program): _check_text("status", status, max_len=100)
                for program, status in programs_summary.items()
            }
            prepared.append(
                {
                    "jurisdiction": jurisdiction,
                    "as_of": item["as_of"],
                    "bundle_sha256": bundle_sha256,
                    "engine_version": item["engine_version"],
                    "request_json": item["request_json"],
                    "response_json": item["response_json"],
                    "actor": item["actor"],
                    "summary": summary,
                    "programs_summary": canonical_json_bytes(summary).decode(),
                    "idempotency": idempotency,
                }
            )
        return PreparedBatch(prepared, bundles)

    def append_plan(
        self, batch: PreparedBatch
    ) -> Generator[SqlStep, builtins.list[Any] | None, builtins.list[StoredDecision]]:
        """The statements of one append, in order, without doing any I/O (sans-I/O).

        It yields each :class:`SqlStep`, is sent back the rows of those that return rows,
        and returns the stored decisions. :meth:`record_many` runs it on a SQLAlchemy
        connection; the service's PostgreSQL writer runs the same plan on an asynchronous
        connection (:mod:`service.store.async_pg`), so there is one append logic. The caller
        runs it inside one transaction and commits after the last step.
        """
        sql = self._append_sql
        # One look-up for every bundle of the batch; only new ones are written. Before the
        # chain lock: bundles are only ever added, so what is found stays true.
        bundles = batch.bundles
        known = yield SqlStep(sql.known_bundles(len(bundles)), tuple(bundles), returns_rows=True)
        stored_bundles = {row[0] for row in known or ()}
        # The chain lock. SQLite: BEGIN IMMEDIATE already holds the database write lock.
        # PostgreSQL: FOR UPDATE on the single head row blocks other appenders until we
        # commit, and then hands them the head *we* wrote. From here on nothing waits for
        # an answer until the commit (the asynchronous writer sends it all at once).
        head_rows = yield SqlStep(sql.head, (), returns_rows=True)
        if not head_rows:
            raise RuntimeError("chain_head row missing: run service.store.upgrade()")
        seq, prev_hash = head_rows[0][0], head_rows[0][1]
        # The transparency log: the tree has one leaf per record, so ``seq`` is its size. The
        # subtrees of its compact range are all an append needs from before (one query).
        # The latest checkpoint comes with them, so that the tree is checked before it grows.
        wanted = compact_range(seq)
        found = yield SqlStep(
            sql.log_nodes_and_checkpoint(len(wanted)), node_params(wanted), returns_rows=True
        )
        node_rows = [row for row in found or () if row[0] != CHECKPOINT_LEVEL]
        tree = merkle.Appender(seq, checked_lookup(node_rows, wanted))
        _check_signed_tree(
            tree,
            [row for row in found or () if row[0] == CHECKPOINT_LEVEL],
            signing=self._signer is not None,
        )
        now = utcnow()
        created_at = self._convert("created_at", now)
        for sha256, (jurisdiction, version, bundle_text) in bundles.items():
            if sha256 not in stored_bundles:
                # ON CONFLICT DO NOTHING: two first uses of the same bundle may race.
                params = (sha256, jurisdiction, version, bundle_text, created_at)
                yield SqlStep(sql.insert_bundle, params)
        rows: builtins.list[dict[str, Any]] = []
        program_rows: builtins.list[dict[str, Any]] = []
        nodes: builtins.list[merkle.StoredHash] = []
        stored: builtins.list[StoredDecision] = []
        keys: builtins.list[tuple[Any, ...]] = []  # idempotency keys, with their decisions
        for entry in batch.decisions:
            seq += 1
            fields: dict[str, Any] = {
                "seq": seq,
                "id": uuid.uuid4().hex,
                "created_at": now,
                "jurisdiction": entry["jurisdiction"],
                "as_of": entry["as_of"],
                "bundle_sha256": entry["bundle_sha256"],
                "engine_version": entry["engine_version"],
                "request_json": entry["request_json"],
                "response_json": entry["response_json"],
                "actor": entry["actor"],
                "programs_summary": entry["programs_summary"],
                "prev_hash": prev_hash,
            }
            prev_hash = record_hash(decision_hash_fields(**fields))
            rows.append({**fields, "record_hash": prev_hash})
            nodes.extend(tree.append(merkle.leaf_hash(log_leaf_data(prev_hash))))
            if entry.get("idempotency") is not None:
                keys.append((entry["actor"], *entry["idempotency"], fields["id"], created_at))
            program_rows.extend(
                {"decision_seq": seq, "program": p, "status": s}
                for p, s in entry["summary"].items()
            )
            stored.append(
                StoredDecision(
                    **{**fields, "programs_summary": dict(entry["summary"])},
                    record_hash=prev_hash,
                )
            )
        yield from self._insert_steps(rows, program_rows)
        if sql.insert_nodes_unnest is not None:
            levels, indexes, hashes = zip(*nodes, strict=True)
            yield SqlStep(sql.insert_nodes_unnest, (list(levels), list(indexes), list(hashes)))
        else:
            yield SqlStep(sql.insert_node, nodes)
        if keys:  # a key taken meanwhile fails the transaction: see IdempotencyKeyTaken
            yield SqlStep(sql.insert_idempotency, keys)
        yield SqlStep(sql.move_head, (seq, prev_hash))
        if self._signer is not None:
            # Signed in the same transaction (about 50 us under the chain lock): the checkpoint
            # exists exactly when the records it covers do, so no answered decision is ever
            # outside the latest checkpoint, and no extra commit is needed.
            root = tree.root()
            note = self._signer.sign(seq, root)
            yield SqlStep(sql.insert_checkpoint, (seq, root, note, created_at))
        return stored

    def get(self, decision_id: str) -> StoredDecision | None:
        """The record with this id, ``None`` if there is none; :class:`DamagedRecordError` if
        its row no longer reads as a record."""
        return self._read_one(DecisionRow.id == decision_id)

    def get_by_seq(self, seq: int) -> StoredDecision | None:
        return self._read_one(DecisionRow.seq == seq)

    def _read_one(self, where: Any) -> StoredDecision | None:
        with self._read() as session:
            try:
                row = session.execute(select(DecisionRow).where(where)).scalar_one_or_none()
            except _UNREADABLE:
                # Name the record from the columns that still read (integers and text).
                found = session.execute(select(DecisionRow.seq, DecisionRow.id).where(where)).one()
                raise DamagedRecordError(found.seq, found.id, "created_at/as_of") from None
            return _to_stored(row) if row is not None else None

    def find_idempotency(self, actor: str, key_hash: str) -> tuple[str, str] | None:
        """``(request_hash, decision_id)`` recorded under this API key's idempotency key."""
        with self._read() as session:
            row = session.get(IdempotencyKeyRow, (actor, key_hash))
            return (row.request_hash, row.decision_id) if row is not None else None

    def head(self) -> ChainHead:
        """Position and hash of the last record (seq 0 / genesis hash when empty)."""
        with self._read() as session:
            row = session.get(ChainHeadRow, 1)
            if row is None:
                raise RuntimeError("chain_head row missing: run service.store.upgrade()")
            return ChainHead(seq=row.seq, record_hash=row.record_hash)

    def list(
        self,
        *,
        jurisdiction: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        program: str | None = None,
        status: str | None = None,
        actor: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        newest_first: bool = True,
        damaged: builtins.list[DamagedRecordError] | None = None,
    ) -> tuple[builtins.list[StoredDecision], str | None]:
        """One page of decisions matching every given filter, plus the cursor of the next.

        ``date_from``/``date_to`` are inclusive bounds on ``as_of`` (the date the rules were
        applied for), not on ``created_at``. ``program``/``status`` match the programs
        summary: both given means "this program had this status"; only ``status`` means
        "any program had it". Pages are keyset-paginated on ``seq`` (newest first by
        default); ``next_cursor`` is ``None`` on the last page. Pages are full unless last,
        or unless a damaged row (changed outside the store, no longer readable) was skipped:
        each skipped one is appended to ``damaged`` when it is given.
        """
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_LIST_LIMIT
        ):
            raise ValueError(f"limit must be an integer between 1 and {MAX_LIST_LIMIT}")
        if date_from is not None:
            _check_date("date_from", date_from)
        if date_to is not None:
            _check_date("date_to", date_to)

        # Two steps: first the page's positions, from the indexes alone (each index on the
        # decisions has seq after its own column and carries the other filter columns, so the
        # plans are index-only: no decision of kilobytes is read to be rejected), then those
        # rows only.
        after = _decode_cursor(cursor, newest_first) if cursor is not None else None

        page: builtins.list[StoredDecision] = []
        with self._read() as session:

            def positions(*, narrow: bool = False, window: tuple[int, int] | None = None) -> Any:
                # narrow: the other columns' indexes and the seq order are kept out of the plan
                # (SQLite's unary +, an expression for seq), leaving the as_of index; window:
                # the seq order over those positions only, the as_of index kept out.
                def column(col: Any, off: bool) -> Any:
                    return UnaryExpression(col, operator=custom_op("+")) if off else col

                others_off = narrow and not self._is_pg
                dates_off = window is not None and not self._is_pg
                stmt = select(DecisionRow.seq)
                if date_from is not None:
                    stmt = stmt.where(column(DecisionRow.as_of, dates_off) >= date_from)
                if date_to is not None:
                    stmt = stmt.where(column(DecisionRow.as_of, dates_off) <= date_to)
                if jurisdiction is not None:
                    stmt = stmt.where(column(DecisionRow.jurisdiction, others_off) == jurisdiction)
                if actor is not None:
                    stmt = stmt.where(column(DecisionRow.actor, others_off) == actor)
                if program is not None or status is not None:
                    own = DecisionProgramRow.decision_seq
                    match = exists().where(own == DecisionRow.seq)
                    if program is not None:
                        # SQLite: not the primary key (decision_seq, program), which reads each
                        # row for its status, but (decision_seq, status, program), index-only
                        own_program = column(DecisionProgramRow.program, not self._is_pg)
                        match = match.where(own_program == program)
                    if status is not None:
                        match = match.where(DecisionProgramRow.status == status)
                    if after is not None:
                        # the same bound: a merge join starts at the cursor, not at the end
                        match = match.where(own < after if newest_first else own > after)
                    if window is not None:
                        match = match.where(own.between(*window))
                    stmt = stmt.where(match)
                if after is not None:
                    seq = column(DecisionRow.seq, others_off)
                    stmt = stmt.where(seq < after if newest_first else seq > after)
                if window is not None:
                    stmt = stmt.where(DecisionRow.seq.between(*window))
                key = DecisionRow.seq + literal_column("0") if narrow else DecisionRow.seq
                # One extra position tells whether another page exists without a COUNT.
                stmt = stmt.order_by(key.desc() if newest_first else key.asc()).limit(limit + 1)
                return session.execute(stmt).scalars().all()

            # First the next _WINDOW positions in seq order (the order of recording): where
            # the filters match recent decisions, as most pages do, that is the page at once.
            if newest_first:
                head = session.get(ChainHeadRow, 1)
                top = (after if after is not None else (head.seq if head else 0) + 1) - 1
                seqs = positions(window=(max(1, top - _WINDOW + 1), top))
            else:
                bottom = (after or 0) + 1
                seqs = positions(window=(bottom, bottom + _WINDOW - 1))
            if len(seqs) <= limit:
                # Not a page there. The whole seq order then, except for a date range matching
                # few decisions: those may all lie far down the order (an old range), so they
                # are read from the as_of index and sorted; a bounded count tells which.
                narrow = False
                if date_from is not None or date_to is not None:
                    narrow = self._dated_decisions(session, date_from, date_to) < _NARROW_DATES
                seqs = positions(narrow=narrow)
            order = DecisionRow.seq.desc() if newest_first else DecisionRow.seq.asc()
            chosen = select(DecisionRow).where(DecisionRow.seq.in_(seqs[:limit])).order_by(order)
            rows: Sequence[DecisionRow | _Unreadable] = []
            if seqs:
                try:
                    rows = session.execute(chosen).scalars().all()
                except _UNREADABLE:
                    # A damaged row in the page: read the page row by row, by position.
                    rows = [self._row_or_damage(session, seq) for seq in seqs[:limit]]
        for row in rows:
            try:
                page.append(_to_stored(row))
            except DamagedRecordError as error:  # skipped, and told to the caller
                if damaged is not None:
                    damaged.append(error)
        last_seq = seqs[limit - 1] if len(seqs) > limit else None
        next_cursor = _encode_cursor(last_seq, newest_first) if last_seq is not None else None
        return page, next_cursor

    def _dated_decisions(
        self, session: Session, date_from: date | None, date_to: date | None
    ) -> int:
        """How many decisions the date range matches, as far as choosing a plan needs: on
        PostgreSQL the planner's estimate from its statistics (counting costs as much as the
        plan it chooses), on SQLite a count that stops at _NARROW_DATES."""
        where = []
        params: dict[str, Any] = {}
        if date_from is not None:
            where.append("as_of >= :date_from")
            params["date_from"] = date_from
        if date_to is not None:
            where.append("as_of <= :date_to")
            params["date_to"] = date_to
        condition = " AND ".join(where)
        if self._is_pg:
            plan = session.execute(
                text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM decisions WHERE {condition}"), params
            ).scalar_one()
            return int(plan[0]["Plan"]["Plan Rows"])
        return int(
            session.execute(
                text(
                    f"SELECT count(*) FROM (SELECT 1 FROM decisions WHERE {condition} "
                    "LIMIT :bound) AS dated"
                ),
                {**params, "bound": _NARROW_DATES},
            ).scalar_one()
        )

    @staticmethod
    def _row_or_damage(session: Session, seq: int) -> DecisionRow | _Unreadable:
        """The row at ``seq``, or, if it cannot even be fetched, its position and id."""
        try:
            return session.execute(select(DecisionRow).where(DecisionRow.seq == seq)).scalar_one()
        except _UNREADABLE:
            decision_id = session.execute(
                select(DecisionRow.id).where(DecisionRow.seq == seq)
            ).scalar_one()
            return _Unreadable(seq, decision_id)

    def verify(
        self,
        *,
        seq_from: int | None = None,
        seq_to: int | None = None,
        batch_size: int = VERIFY_BATCH_SIZE,
    ) -> VerifyReport:
        """Recompute and check the log over ``[seq_from, seq_to]`` (default: all of it).

        Checks, in ``seq`` order, that no position is missing, that each record hashes to its
        ``record_hash``, that its ``prev_hash`` is the previous record's ``record_hash`` (the
        genesis hash for seq 1), that its per-program index rows say what it says and that the
        log's stored leaf is its own. Over the whole log it also rebuilds the Merkle tree and
        requires the stored tree to be that one, and the latest checkpoint to be signed by the
        log's key (the store's signer) over exactly that tree's root at its size: records
        rewritten, or deleted from the end, are reported even when every plain hash and the
        chain head were recomputed. ``chain_head`` is not trusted. Rows are read
        ``batch_size`` at a time inside one snapshot, so concurrent appends neither disturb
        nor get half-checked. See :mod:`service.store.verify`.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        lo = 1 if seq_from is None else max(1, seq_from)
        conn_options: dict[str, Any] = {}
        if self._is_pg:
            # One snapshot for every batch, the tree and the checkpoints.
            conn_options["isolation_level"] = "REPEATABLE READ"
            conn_options["postgresql_readonly"] = True
        engine = self._engine.execution_options(**conn_options) if conn_options else self._engine
        with engine.connect() as conn, conn.begin():
            verifier = LogVerifier(
                conn,
                signer=self._signer,
                decode=self._decode_record,
                hash_record=_fields_hash,
                batch_size=batch_size,
            )
            return verifier.run(lo, seq_to)

    # --- transparency log ---------------------------------------------------------------------

    @property
    def signer(self) -> CheckpointSigner | None:
        return self._signer

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The signed checkpoint of the largest tree (``None`` before the first)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(CheckpointRow.size, CheckpointRow.root, CheckpointRow.note)
                .order_by(CheckpointRow.size.desc())
                .limit(1)
            ).first()
        return None if row is None else StoredCheckpoint(int(row[0]), bytes(row[1]), row[2])

    def checkpoints(self, *, page: int = 1000) -> Iterator[StoredCheckpoint]:
        """Every stored checkpoint, smallest tree first (read page by page)."""
        after = -1
        while True:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    select(CheckpointRow.size, CheckpointRow.root, CheckpointRow.note)
                    .where(CheckpointRow.size > after)
                    .order_by(CheckpointRow.size)
                    .limit(page)
                ).all()
            if not rows:
                return
            for size, root, note in rows:
                yield StoredCheckpoint(int(size), bytes(root), note)
            after = int(rows[-1][0])

    def sign_checkpoint(self) -> StoredCheckpoint | None:
        """Sign the whole log if it has no checkpoint yet (a log migrated from the hash chain);
        the latest checkpoint either way.

        A log *longer* than its latest checkpoint is not signed: its uncovered records were
        appended without the key, or the checkpoints that covered them were removed (to hide
        a rewrite), and signing would lend the key to them. :class:`LogForkedError` says so;
        appends are refused alike, and ``verify`` names the first uncovered record."""
        signer = self._signer
        if signer is None:
            raise RuntimeError("this store has no signing key")

        def attempt() -> StoredCheckpoint | None:
            with self._write_engine.begin() as conn:
                # The chain lock, as an append takes it: the size cannot move under us.
                head = conn.exec_driver_sql(self._append_sql.head).first()
                size = int(head[0]) if head is not None else 0
                latest = conn.execute(
                    select(CheckpointRow.size).order_by(CheckpointRow.size.desc()).limit(1)
                ).scalar()
                if size == 0 or (latest is not None and latest >= size):
                    return None
                if latest is not None:
                    raise LogForkedError(_uncovered(int(latest), size))
                root = merkle.tree_hash(
                    size, self._nodes_for(conn, lambda get: merkle.tree_hash(size, get))
                )
                note = signer.sign(size, root)
                conn.execute(
                    CheckpointRow.__table__.insert().values(
                        size=size, root=root, note=note, created_at=utcnow()
                    )
                )
                return StoredCheckpoint(size, root, note)

        self._retrying(attempt)
        return self.latest_checkpoint()

    def _nodes_for(self, conn: Any, compute: Callable[[merkle.GetNode], object]) -> merkle.GetNode:
        """The stored hashes ``compute`` reads, fetched in one query."""
        wanted = needed_nodes(compute)
        if not wanted:
            return checked_lookup((), wanted)
        rows = conn.exec_driver_sql(
            self._append_sql.log_nodes(len(wanted)), node_params(wanted)
        ).all()
        return checked_lookup(rows, wanted)

    @staticmethod
    def _signed_size(conn: Any) -> int | None:
        return conn.execute(select(func.max(CheckpointRow.size))).scalar()  # type: ignore[no-any-return]

    @staticmethod
    def _proof_size(latest: int | None, tree_size: int | None) -> int:
        signed = int(latest or 0)
        if tree_size is None:
            tree_size = signed
        if not 1 <= tree_size <= signed:
            raise BeyondLogError(
                f"tree size {tree_size} is not between 1 and the latest checkpoint's {signed}"
            )
        return tree_size

    def inclusion_proof(self, decision_id: str, tree_size: int | None = None) -> InclusionProof:
        """The RFC 9162 inclusion proof of a decision in the tree of ``tree_size`` leaves (by
        default the latest checkpoint's). Raises ``LookupError`` for an unknown decision,
        :class:`BeyondLogError` for a size the signed log does not have or does not hold it."""
        latest = select(func.max(CheckpointRow.size)).scalar_subquery()
        with self._proof_engine.connect() as conn:
            # The record and the signed size in one round trip.
            row = conn.execute(
                select(DecisionRow.seq, DecisionRow.record_hash, latest).where(
                    DecisionRow.id == decision_id
                )
            ).first()
            if row is None:
                raise LookupError(decision_id)
            size = self._proof_size(row[2], tree_size)
            index = int(row[0]) - 1
            if index >= size:
                raise BeyondLogError(f"decision seq {index + 1} is not in the tree of size {size}")
            get = self._nodes_for(conn, lambda g: merkle.inclusion_proof(index, size, g))
        # The leaf as anyone holding the record computes it (not as stored).
        leaf = merkle.leaf_hash(log_leaf_data(row[1]))
        return InclusionProof(
            seq=index + 1,
            decision_id=decision_id,
            leaf_index=index,
            tree_size=size,
            leaf_hash=leaf,
            hashes=merkle.inclusion_proof(index, size, get),
        )

    def consistency_proof(self, first: int, second: int | None = None) -> tuple[int, list[bytes]]:
        """``(second, proof)``: the RFC 9162 proof that the tree of ``second`` leaves (by default
        the latest checkpoint's) extends the one of ``first``. :class:`BeyondLogError` for sizes
        the signed log does not have, or ``first`` larger than ``second``."""
        with self._proof_engine.connect() as conn:
            size = self._proof_size(self._signed_size(conn), second)
            if not 1 <= first <= size:
                raise BeyondLogError(f"first size {first} is not between 1 and {size}")
            get = self._nodes_for(conn, lambda g: merkle.consistency_proof(first, size, g))
        return size, merkle.consistency_proof(first, size, get)

    def tree_root(self, size: int) -> bytes:
        """The root of the first ``size`` leaves, from the stored tree."""
        with self._proof_engine.connect() as conn:
            get = self._nodes_for(conn, lambda g: merkle.tree_hash(size, g))
        return merkle.tree_hash(size, get)

    def log_entries(self, *, page: int = 1000) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
        """Every record in ``seq`` order, for the export: ``(seq, id, record_hash, fields)``,
        ``fields`` being exactly what ``record_hash`` hashes (JSON-ready). A row that cannot be
        read as its types is given as the database has it: the offline check names it."""
        after = 0
        select_page = text(
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions WHERE seq > :after"
            " ORDER BY seq LIMIT :n"
        )
        while True:
            with self._engine.connect() as conn:
                rows = conn.execute(select_page, {"after": after, "n": page}).all()
            if not rows:
                return
            for raw in rows:
                try:
                    typed = self._decode_record(raw)
                    fields = decision_hash_fields(
                        **{k: v for k, v in typed.items() if k != "record_hash"}
                    )
                except ValueError:
                    fields = {
                        name: str(value)
                        for name, value in zip(DECISION_COLUMNS, raw, strict=True)
                        if name != "record_hash"
                    }
                    fields["seq"] = int(raw[0])
                yield int(raw[0]), str(raw[1]), str(raw[-1]), fields
            after = int(rows[-1][0])

    # --- rule bundles -----------------------------------------------------------------------

    def put_bundle(self, sha256: str, jurisdiction: str, version: str, canonical_json: str) -> None:
        """Store a rule bundle under its content hash (no-op if already stored)."""
        verify_bundle_text(sha256, canonical_json)
        _check_text("jurisdiction", jurisdiction)
        _check_text("version", version)

        params = (
            sha256,
            jurisdiction,
            version,
            canonical_json,
            self._convert("created_at", utcnow()),
        )

        def attempt() -> None:
            with self._write_engine.begin() as conn:
                # The append's own statement: ON CONFLICT DO NOTHING, so racing first uses agree.
                conn.exec_driver_sql(self._append_sql.insert_bundle, params)

        self._retrying(attempt)

    def get_bundle(self, sha256: str) -> str | None:
        """The bundle's canonical JSON, re-verified against ``sha256``; ``None`` if unknown."""
        with self._read() as session:
            text_value = session.execute(
                select(RuleBundleRow.canonical_json).where(RuleBundleRow.sha256 == sha256)
            ).scalar_one_or_none()
        if text_value is None:
            return None
        verify_bundle_text(sha256, text_value)
        return text_value

    # --- health -----------------------------------------------------------------------------

    def ping(self) -> bool:
        """True if the database answers a trivial query."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except (SQLAlchemyError, OSError):
            return False

    # --- API keys ---------------------------------------------------------------------------

    def create_key(self, role: str, name: str) -> tuple[str, str]:
        """Create a key; returns ``(key_id, secret)``. The secret is never stored or shown again."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        _check_text("name", name, max_len=200)
        key_id = keymod.new_key_id()
        secret = keymod.new_secret(key_id)

        def attempt() -> None:
            with self._write() as session:
                session.add(
                    ApiKeyRow(
                        id=key_id,
                        name=name,
                        role=role,
                        key_hash=keymod.hash_secret(secret),
                        created_at=utcnow(),
                        revoked_at=None,
                    )
                )

        self._retrying(attempt)
        return key_id, secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key whose secret this is, else ``None`` (unknown, wrong or revoked)."""
        if not isinstance(secret, str):
            return None
        key_id = keymod.parse_key_id(secret)
        row: ApiKeyRow | None = None
        if key_id is not None:
            with self._read() as session:
                row = session.get(ApiKeyRow, key_id)
        if not keymod.secret_matches(secret, row.key_hash if row is not None else None):
            return None
        if row is None or row.revoked_at is not None:
            return None
        return _to_api_key(row)

    def get_key(self, key_id: str) -> ApiKey | None:
        with self._read() as session:
            row = session.get(ApiKeyRow, key_id)
            return _to_api_key(row) if row is not None else None

    def list_keys(self) -> builtins.list[ApiKey]:
        with self._read() as session:
            rows = session.execute(
                select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
            ).scalars()
            return [_to_api_key(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke an active key. False if the key is unknown or was already revoked."""

        def attempt() -> bool:
            with self._write_engine.begin() as conn:
                result = conn.execute(
                    update(ApiKeyRow)
                    .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
                return result.rowcount == 1

        return self._retrying(attempt)
