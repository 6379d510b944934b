"""The decision store: an append-only, hash-chained log of decisions plus rule bundles and
API keys.

Chain invariant: record ``n`` (``seq`` = n, starting at 1) has ``prev_hash`` equal to the
``record_hash`` of record ``n-1`` (64 zeros for record 1), and ``record_hash`` is the SHA-256
of the canonical JSON of all its other fields. Appends are serialised by a lock taken
*before* the head is read (see :meth:`DecisionStore.record`), so concurrent writers -- threads
or processes -- can neither fork nor gap the chain; ``UNIQUE(seq)`` and ``UNIQUE(prev_hash)``
back this up at the database level.
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

from sqlalchemy import Engine, exists, select, text, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from service.store import keys as keymod
from service.store.database import WRITE_OPTION, make_engine
from service.store.errors import (
    BundleIntegrityError,
    DamagedRecordError,
    IdempotencyKeyTaken,
    InvalidCursorError,
    StoreBusyError,
)
from service.store.hashing import (
    GENESIS_HASH,
    canonical_json_bytes,
    is_hex64,
    record_hash,
    sha256_hex,
)
from service.store.models import (
    ROLES,
    ApiKeyRow,
    ChainHeadRow,
    DecisionProgramRow,
    DecisionRow,
    IdempotencyKeyRow,
    RuleBundleRow,
)
from service.store.records import ApiKey, ChainHead, StoredDecision, VerifyReport

try:  # optional: only makes the JSON validity check cheaper
    from orjson import loads as _fast_json_loads
except ImportError:  # pragma: no cover
    _fast_json_loads = None

T = TypeVar("T")

MAX_WRITE_ATTEMPTS = 6
MAX_LIST_LIMIT = 500
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
# The columns written by a batch insert, in statement order.
_DECISION_COLUMNS = (
    "seq",
    "id",
    "created_at",
    "jurisdiction",
    "as_of",
    "bundle_sha256",
    "engine_version",
    "request_json",
    "response_json",
    "actor",
    "programs_summary",
    "prev_hash",
    "record_hash",
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
        self.insert_decision = _insert_sql("decisions", _DECISION_COLUMNS, mark)
        self.insert_program = _insert_sql("decision_programs", _PROGRAM_COLUMNS, mark)
        self.insert_idempotency = _insert_sql("idempotency_keys", _IDEMPOTENCY_COLUMNS, mark)
        self.insert_bundle = (
            "INSERT INTO rule_bundles (sha256, jurisdiction, version, canonical_json, created_at)"
            f" VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT (sha256) DO NOTHING"
        )
        self._mark = mark

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


def _row_hash(row: DecisionRow) -> str:
    return record_hash(
        decision_hash_fields(
            seq=row.seq,
            id=row.id,
            created_at=row.created_at,
            jurisdiction=row.jurisdiction,
            as_of=row.as_of,
            bundle_sha256=row.bundle_sha256,
            engine_version=row.engine_version,
            request_json=row.request_json,
            response_json=row.response_json,
            actor=row.actor,
            programs_summary=row.programs_summary,
            prev_hash=row.prev_hash,
        )
    )


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


def _damage(row: DecisionRow | _Unreadable) -> str | None:
    """Why ``row`` cannot be checked at all, or ``None``."""
    if isinstance(row, _Unreadable):
        return "record damaged: its created_at or as_of cannot be read (changed outside the store)"
    return None


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

    def __init__(self, engine_or_url: Engine | str | URL) -> None:
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
        self._append_sql = AppendSql("%s" if self._is_pg else "?", for_update=self._is_pg)

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
            [tuple(convert(name, row[name]) for name in _DECISION_COLUMNS) for row in rows],
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
        now = utcnow()
        created_at = self._convert("created_at", now)
        for sha256, (jurisdiction, version, bundle_text) in bundles.items():
            if sha256 not in stored_bundles:
                # ON CONFLICT DO NOTHING: two first uses of the same bundle may race.
                params = (sha256, jurisdiction, version, bundle_text, created_at)
                yield SqlStep(sql.insert_bundle, params)
        rows: builtins.list[dict[str, Any]] = []
        program_rows: builtins.list[dict[str, Any]] = []
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
        if keys:  # a key taken meanwhile fails the transaction: see IdempotencyKeyTaken
            yield SqlStep(sql.insert_idempotency, keys)
        yield SqlStep(sql.move_head, (seq, prev_hash))
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

        stmt = select(DecisionRow)
        if jurisdiction is not None:
            stmt = stmt.where(DecisionRow.jurisdiction == jurisdiction)
        if date_from is not None:
            stmt = stmt.where(DecisionRow.as_of >= date_from)
        if date_to is not None:
            stmt = stmt.where(DecisionRow.as_of <= date_to)
        if actor is not None:
            stmt = stmt.where(DecisionRow.actor == actor)
        if program is not None or status is not None:
            match = exists().where(DecisionProgramRow.decision_seq == DecisionRow.seq)
            if program is not None:
                match = match.where(DecisionProgramRow.program == program)
            if status is not None:
                match = match.where(DecisionProgramRow.status == status)
            stmt = stmt.where(match)
        if cursor is not None:
            after = _decode_cursor(cursor, newest_first)
            stmt = stmt.where(DecisionRow.seq < after if newest_first else DecisionRow.seq > after)
        order = DecisionRow.seq.desc() if newest_first else DecisionRow.seq.asc()
        # One extra row tells whether another page exists without a COUNT.
        stmt = stmt.order_by(order).limit(limit + 1)

        page: builtins.list[StoredDecision] = []
        with self._read() as session:
            try:
                rows: Sequence[DecisionRow | _Unreadable] = session.execute(stmt).scalars().all()
            except _UNREADABLE:
                # A damaged row in the page: read the page row by row, by position.
                seqs = session.execute(stmt.with_only_columns(DecisionRow.seq)).scalars().all()
                rows = [self._row_or_damage(session, seq) for seq in seqs]
        for row in rows[:limit]:
            try:
                page.append(_to_stored(row))
            except DamagedRecordError as error:  # skipped, and told to the caller
                if damaged is not None:
                    damaged.append(error)
        last_seq = rows[limit - 1].seq if len(rows) > limit else None
        next_cursor = _encode_cursor(last_seq, newest_first) if last_seq is not None else None
        return page, next_cursor

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
        """Recompute and check the chain over ``[seq_from, seq_to]`` (default: all of it).

        Checks, in ``seq`` order, that no position is missing, that each record hashes to
        its ``record_hash`` and that its ``prev_hash`` is the previous record's
        ``record_hash`` (the genesis hash for seq 1). When checking up to the end it also
        checks the chain head: records deleted from the tail or inserted past the head
        are reported. Rows are read ``batch_size`` at a time inside one snapshot, so
        concurrent appends neither disturb nor get half-checked.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        lo = 1 if seq_from is None else max(1, seq_from)
        conn_options: dict[str, Any] = {}
        if self._is_pg:
            # One snapshot for the head and every batch.
            conn_options["isolation_level"] = "REPEATABLE READ"
            conn_options["postgresql_readonly"] = True
        engine = self._engine.execution_options(**conn_options) if conn_options else self._engine
        with Session(engine) as session, session.begin():
            head = session.get(ChainHeadRow, 1)
            if head is None:
                return VerifyReport(0, None, None, "chain_head row missing")
            hi = head.seq if seq_to is None else min(seq_to, head.seq)
            to_end = hi == head.seq
            if lo > hi:
                return VerifyReport(0, None, None, None)

            if lo == 1:
                expected_prev = GENESIS_HASH
            else:
                anchor = session.execute(
                    select(DecisionRow.record_hash).where(DecisionRow.seq == lo - 1)
                ).scalar_one_or_none()
                if anchor is None:
                    return VerifyReport(
                        0, lo - 1, None, f"missing link: no record with seq {lo - 1}"
                    )
                expected_prev = anchor

            checked = 0
            expected_seq = lo
            last_id: str | None = None
            while expected_seq <= hi:
                batch = (
                    select(DecisionRow)
                    .where(DecisionRow.seq >= expected_seq, DecisionRow.seq <= hi)
                    .order_by(DecisionRow.seq)
                    .limit(batch_size)
                )
                try:
                    rows: Sequence[DecisionRow | _Unreadable] = (
                        session.execute(batch).scalars().all()
                    )
                except _UNREADABLE:  # a damaged row in the batch: read it row by row
                    seqs = session.execute(batch.with_only_columns(DecisionRow.seq)).scalars()
                    rows = [self._row_or_damage(session, seq) for seq in seqs.all()]
                if not rows:
                    break
                for row in rows:
                    damage = _damage(row)
                    if damage is not None:
                        return VerifyReport(checked, row.seq, row.id, damage)
                    assert isinstance(row, DecisionRow)
                    if row.seq != expected_seq:
                        return VerifyReport(
                            checked,
                            expected_seq,
                            None,
                            f"missing link: no record with seq {expected_seq}"
                            f" (next is seq {row.seq}, id {row.id})",
                        )
                    if _row_hash(row) != row.record_hash:
                        return VerifyReport(
                            checked,
                            row.seq,
                            row.id,
                            "record_hash mismatch: the record's content was altered",
                        )
                    if row.prev_hash != expected_prev:
                        return VerifyReport(
                            checked,
                            row.seq,
                            row.id,
                            f"prev_hash does not match the record_hash of seq {row.seq - 1}",
                        )
                    checked += 1
                    expected_prev = row.record_hash
                    expected_seq += 1
                    last_id = row.id
                # Release the batch from the identity map: memory stays flat.
                session.expunge_all()

            if expected_seq <= hi:
                return VerifyReport(
                    checked,
                    expected_seq,
                    None,
                    f"missing link: no record with seq {expected_seq}"
                    f" (chain head is at seq {head.seq})",
                )
            if to_end:
                if expected_prev != head.record_hash:
                    return VerifyReport(
                        checked,
                        hi,
                        last_id,
                        "chain head hash does not match the last record",
                    )
                rogue = session.execute(
                    select(DecisionRow.seq, DecisionRow.id)
                    .where(DecisionRow.seq > head.seq)
                    .order_by(DecisionRow.seq)
                    .limit(1)
                ).first()
                if rogue is not None:
                    return VerifyReport(
                        checked,
                        rogue.seq,
                        rogue.id,
                        f"record beyond the chain head (seq {head.seq}): not appended by the store",
                    )
            return VerifyReport(checked, None, None, None)

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
