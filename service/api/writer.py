"""Group commit: each worker process appends queued decisions in batches.

Each ``POST /v1/decisions`` hands its record to the writer and awaits a future, which completes
only once the transaction holding it has committed. While one batch is being written the next
requests queue up, so under load one commit (one fsync, one chain-lock round) covers many
decisions; with a single request in flight a batch is just that request. Three writers
(``ELIGIBILITY_WRITER``, chosen in :mod:`service.api.runtime`) share one interface,
:class:`DecisionWriter`:

- :class:`InlineGroupCommit` (``inline`` on SQLite): on the event loop, no thread hand-offs;
- :class:`AsyncGroupCommit` (``inline`` on PostgreSQL): on the event loop too, but over an
  asynchronous connection, so the waits for the server leave the loop free;
- :class:`ThreadGroupCommit` (``thread``): a writer thread per process.

Whatever is done once per committed transaction (the batch-size metric today) is a hook given
to the writer (``after_commit``), called from one place, :meth:`DecisionWriter._committed`.

The transparency log's checkpoint is not such a hook: the store signs it inside the append
transaction itself (:meth:`DecisionStore.append_plan`), so a batch's checkpoint is committed
exactly when its records are, before any of them is answered, on every writer alike, and a
crash between the commit and a hook can never leave answered decisions outside the latest
checkpoint. It also costs no second transaction (no second fsync) per batch.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from service.api.logs import get_logger
from service.store import DecisionStore, StoredDecision
from service.store.async_pg import AsyncAppender
from service.store.store import PreparedBatch

_STOP = object()
log = get_logger("writer")

CommitHook = Callable[[Sequence[StoredDecision]], None]
"""Called after each committed transaction with the decisions it appended, in chain order, on
the thread that committed it (the event loop's, or the thread writer's)."""


class DecisionWriter:
    """Appends decisions to the log in group commits: what the service holds and calls."""

    def __init__(
        self, store: DecisionStore, *, max_batch: int = 256, after_commit: Iterable[CommitHook] = ()
    ):
        self._store = store
        self._max_batch = max(1, max_batch)
        self._after_commit = tuple(after_commit)

    async def write(self, item: Mapping[str, Any]) -> StoredDecision:
        """Record one decision (the keyword arguments of ``DecisionStore.record``, its JSON
        texts already serialised); returns once the transaction holding it has committed."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop and release what the writer holds (on the event loop that served)."""
        raise NotImplementedError

    def _committed(self, decisions: Sequence[StoredDecision]) -> None:
        """Runs the hooks of one committed transaction, before its requests are answered. A
        hook that fails is logged; the decisions stay committed and are answered."""
        for hook in self._after_commit:
            try:
                hook(decisions)
            except Exception:
                log.exception("a hook after a committed batch failed")


def record_batch(
    store: DecisionStore,
    live: Sequence[tuple[Mapping[str, Any], Any]],
    committed: CommitHook,
    lock: Callable[[], AbstractContextManager[Any]],
    catch: type[BaseException],
) -> None:
    """Appends one batch in one transaction and settles each waiting future (the inline and
    the thread writers'); ``committed`` is the writer's :meth:`DecisionWriter._committed`.

    The items' JSON texts were serialised by :func:`service.api.actions.decisions.record`
    (orjson), so the store does not parse them again. If the batch is refused for a malformed
    item, the items are written one by one so that one bad record does not sink the others; any
    other failure goes to every waiting request.
    """
    try:
        with lock():
            stored = store.record_many([item for item, _ in live], json_serialised_by_caller=True)
    except catch as error:
        if len(live) > 1 and isinstance(error, ValueError | TypeError):
            for item, fut in live:
                try:
                    with lock():
                        decision = store.record_many([item], json_serialised_by_caller=True)[0]
                except catch as single:
                    fut.set_exception(single)
                else:
                    committed([decision])
                    fut.set_result(decision)
            return
        for _, fut in live:
            if not fut.done():
                fut.set_exception(error)
        return
    committed(stored)
    for (_, fut), decision in zip(live, stored, strict=True):
        if not fut.done():
            fut.set_result(decision)


class ThreadGroupCommit(DecisionWriter):
    """Group commit in a writer thread of its own (``ELIGIBILITY_WRITER=thread``)."""

    def __init__(
        self,
        store: DecisionStore,
        *,
        max_batch: int = 256,
        lock_file: Path | None = None,
        after_commit: Iterable[CommitHook] = (),
    ):
        super().__init__(store, max_batch=max_batch, after_commit=after_commit)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._lock_file = lock_file
        self._closed = False
        self._lock_fd: int | None = None

    async def write(self, item: Mapping[str, Any]) -> StoredDecision:
        return await asyncio.wrap_future(self.submit(item))

    def submit(self, item: Mapping[str, Any]) -> Future[StoredDecision]:
        """Queue one record (the keyword arguments of ``DecisionStore.record``)."""
        if self._closed:
            raise RuntimeError("the decision writer is closed")
        self._ensure_started()
        future: Future[StoredDecision] = Future()
        self._queue.put((item, future))
        return future

    async def close(self) -> None:
        await asyncio.to_thread(self.stop)

    def stop(self, timeout: float = 10.0) -> None:
        """Lets the thread write what is queued, then ends it (off the event loop)."""
        self._closed = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join(timeout)
        if self._lock_fd is not None and (thread is None or not thread.is_alive()):
            os.close(self._lock_fd)
            self._lock_fd = None

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is _STOP:
                    stop = True
                    break
                batch.append(entry)
            try:
                self._write(batch)
            except BaseException as error:  # never let the thread die: requests would hang
                log.exception("decision writer failed a batch")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(error)
            if stop:
                return

    def _write(self, batch: list[tuple[Mapping[str, Any], Future[StoredDecision]]]) -> None:
        live = [(item, fut) for item, fut in batch if fut.set_running_or_notify_cancel()]
        if live:
            # Everything, even an interrupt, is handed to the waiting requests.
            record_batch(self._store, live, self._committed, self._process_lock, BaseException)

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """SQLite: writers of several processes queue on a file lock, not by polling.

        SQLite's busy handler sleeps and retries (1, 2, 5, 10 ms ...) while another process
        holds the write lock; a blocking ``flock`` instead wakes the next writer the moment
        the lock is released. The database's own lock still guarantees correctness.
        """
        if self._lock_file is None:
            yield
            return
        if self._lock_fd is None:  # only the writer thread gets here
            self._lock_fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


class InlineGroupCommit(DecisionWriter):
    """Group commit on the event loop itself: no writer thread, no GIL hand-offs.

    A request queues its record and awaits a future; the first one schedules a flush with
    ``call_soon``, so every request that reaches the same point in this turn of the loop joins
    the batch. The flush writes the batch synchronously and resolves the futures; the requests
    arriving meanwhile queue up for the next batch. Meant for several single-threaded worker
    processes sharing the CPUs (``--workers``); the service uses it on SQLite, whose appends
    do not wait on a server (PostgreSQL gets :class:`AsyncGroupCommit`).

    The worker processes of one host take turns through a file lock, without ever blocking
    the loop on it: when another process is writing, the flush is retried a moment later and
    the loop goes on evaluating requests (which makes the next batch bigger). So the chain
    lock in the database (SQLite's write lock) is rarely waited for.
    """

    RETRY_SECONDS = 0.0005

    def __init__(
        self,
        store: DecisionStore,
        *,
        max_batch: int = 256,
        lock_file: Path | None = None,
        after_commit: Iterable[CommitHook] = (),
    ):
        super().__init__(store, max_batch=max_batch, after_commit=after_commit)
        self._lock_file = lock_file
        self._lock_fd: int | None = None
        self._pending: list[tuple[Mapping[str, Any], asyncio.Future[StoredDecision]]] = []
        self._scheduled = False

    async def write(self, item: Mapping[str, Any]) -> StoredDecision:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoredDecision] = loop.create_future()
        self._pending.append((item, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _try_lock(self) -> bool:
        if self._lock_file is None:
            return True
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        self._pending = [(item, fut) for item, fut in self._pending if not fut.done()]
        if not self._pending:
            self._scheduled = False
            return
        if not self._try_lock():
            loop.call_later(self.RETRY_SECONDS, self._flush)  # another worker is writing
            return
        try:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            self._write(batch)
        finally:
            self._unlock()
        if self._pending:
            # Not at once: a worker waiting for the lock gets its turn first (fairness).
            loop.call_later(self.RETRY_SECONDS, self._flush)
        else:
            self._scheduled = False

    def _write(self, live: list[tuple[Mapping[str, Any], asyncio.Future[StoredDecision]]]) -> None:
        record_batch(self._store, live, self._committed, nullcontext, Exception)

    async def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class AsyncGroupCommit(DecisionWriter):
    """PostgreSQL: group commit on the event loop, on an asynchronous connection.

    Like :class:`InlineGroupCommit`, requests queue their records and await a future, and one
    transaction commits a whole batch; but the transaction's waits for the server are awaits,
    so the loop goes on evaluating requests meanwhile, and those queue up for the next batch.
    One batch is in flight per process; the chain lock in the database (``FOR UPDATE`` on the
    head row) orders the processes and hosts.
    """

    def __init__(
        self,
        store: DecisionStore,
        appender: AsyncAppender,
        *,
        max_batch: int = 256,
        after_commit: Iterable[CommitHook] = (),
    ):
        super().__init__(store, max_batch=max_batch, after_commit=after_commit)
        self._appender = appender
        self._pending: list[tuple[Mapping[str, Any], asyncio.Future[StoredDecision]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def write(self, item: Mapping[str, Any]) -> StoredDecision:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoredDecision] = loop.create_future()
        self._pending.append((item, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                try:
                    await self._append(batch)
                except BaseException as error:  # never leave a request waiting forever
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    raise
        finally:
            self._draining = None

    async def _append(
        self, batch: list[tuple[Mapping[str, Any], asyncio.Future[StoredDecision]]]
    ) -> None:
        # Validate each record on its own: one malformed record fails its request only.
        parts: list[PreparedBatch] = []
        waiting: list[asyncio.Future[StoredDecision]] = []
        for item, future in batch:
            if future.done():  # the request went away
                continue
            try:
                parts.append(self._store.prepare_batch([item], json_serialised_by_caller=True))
            except Exception as error:  # malformed, or a bundle text that fails its hash
                future.set_exception(error)
                continue
            waiting.append(future)
        if not parts:
            return
        try:
            stored = await self._appender.record_many(PreparedBatch.join(parts))
        except Exception as error:  # every waiting request gets it (503 for the database's)
            for future in waiting:
                if not future.done():
                    future.set_exception(error)
            return
        self._committed(stored)
        for future, decision in zip(waiting, stored, strict=True):
            if not future.done():
                future.set_result(decision)

    async def close(self) -> None:
        if self._draining is not None:
            await asyncio.wait([self._draining], timeout=10)
        await self._appender.aclose()
