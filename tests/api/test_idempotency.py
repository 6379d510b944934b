"""``Idempotency-Key`` on ``POST /v1/decisions``: a retry never records twice.

The fault the issue saw: the decision was committed, then the answer was lost (the database
connection died before the commit's acknowledgement reached the service), and the client, told
503 "retry later", retried and recorded it again. Here the same fault is injected for real, on
each writer the service runs: on PostgreSQL a relay between the writer and the server drops the
connection at the server's acknowledgement of the COMMIT; on SQLite (and PostgreSQL's thread
writer) the database driver's commit fails after committing. Then the retry with the same key
gets the first decision back, and exactly one is stored. SQLite and PostgreSQL throughout.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from service.api import idempotency
from tests.api.conftest import Api
from tests.helpers import ROOT

BODY = (ROOT / "tests" / "examples" / "wuhan-dibao-household-eligible.json").read_bytes()
OTHER_BODY = (ROOT / "tests" / "examples" / "zhumadian-single-person-eligible.json").read_bytes()


def post(api: Api, key: str | None, body: bytes = BODY, role: str = "intake") -> httpx.Response:
    headers = {**api.headers(role), "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.client.post("/v1/decisions", content=body, headers=headers)


def stored_rows(api: Api) -> int:
    with api.store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM decisions")).scalar_one())


def refusal(response: httpx.Response, status: int, type_: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    [problem] = response.json()["errors"]
    assert problem["path"] == "Idempotency-Key" and problem["type"] == type_, problem
    assert "Idempotency-Key" in problem["reason_zh"] and "Idempotency-Key" in problem["reason_en"]
    assert not problem["reason_zh"].isascii() and problem["reason_en"].isascii()
    return problem


@pytest.fixture
def keyed_api(api_factory: Callable[..., Api], db_url: str, fast_path: bool) -> Api:
    return api_factory(db_url, fast_path=fast_path)


def test_the_same_key_and_body_give_back_the_first_answer(keyed_api: Api) -> None:
    api = keyed_api
    first = post(api, '"order-1"')
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = post(api, '"order-1"')
    assert again.status_code == 201
    assert again.content == first.content  # the same bytes, decision id included
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    # The bare form of a key is the same key.
    assert post(api, "order-1").json()["decision_id"] == first.json()["decision_id"]
    assert stored_rows(api) == 1 and api.store.verify().ok
    # Without a key, or with another, a request is a new decision.
    assert post(api, None).json()["decision_id"] != first.json()["decision_id"]
    assert post(api, '"order-2"').json()["decision_id"] != first.json()["decision_id"]
    assert stored_rows(api) == 3


def test_the_same_key_with_another_body_is_refused(keyed_api: Api) -> None:
    api = keyed_api
    assert post(api, '"order-1"').status_code == 201
    refusal(post(api, '"order-1"', OTHER_BODY), 422, "idempotency_key_reused")
    assert stored_rows(api) == 1


def test_keys_are_per_api_key(keyed_api: Api) -> None:
    api = keyed_api
    mine = post(api, '"shared-name"').json()["decision_id"]
    theirs = post(api, '"shared-name"', role="integrator")
    assert theirs.status_code == 201 and theirs.json()["decision_id"] != mine
    # Another API key's use of the key does not make this body "another request" either.
    refused = post(api, '"shared-name"', OTHER_BODY, role="integrator")
    refusal(refused, 422, "idempotency_key_reused")
    assert stored_rows(api) == 2


@pytest.mark.parametrize(
    "key",
    ["", '""', '"' + "k" * 256 + '"', '"tab\there"', '"unterminated', "two words", '"\\x"', "ключ"],
    ids=[
        "nothing",
        "empty",
        "too long",
        "control",
        "unterminated",
        "space",
        "bad escape",
        "not ascii",
    ],
)
def test_a_malformed_key_is_refused_naming_the_header(keyed_api: Api, key: str) -> None:
    api = keyed_api
    headers = {**api.headers("intake"), "Content-Type": "application/json"}
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"idempotency-key", key.encode("utf-8")))
    response = api.client.post("/v1/decisions", content=BODY, headers=raw)
    refusal(response, 422, "idempotency_key_invalid")
    assert stored_rows(api) == 0


def test_the_longest_key_and_escapes_are_keys(keyed_api: Api) -> None:
    api = keyed_api
    assert post(api, '"' + "k" * 255 + '"').status_code == 201
    assert post(api, '"a \\"quoted\\" key"').status_code == 201
    assert post(api, '"a \\"quoted\\" key"').headers["idempotent-replayed"] == "true"


def test_a_key_sent_twice_is_malformed(keyed_api: Api) -> None:
    api = keyed_api
    headers = [(k.encode(), v.encode()) for k, v in api.headers("intake").items()]
    headers += [(b"idempotency-key", b'"a"'), (b"idempotency-key", b'"b"')]
    headers.append((b"content-type", b"application/json"))
    refusal(
        api.client.post("/v1/decisions", content=BODY, headers=headers),
        422,
        "idempotency_key_invalid",
    )
    assert stored_rows(api) == 0


# --- a request in flight ------------------------------------------------------------------------


@contextmanager
def writes_held(api: Api) -> Iterator[None]:
    """Holds every append of the service: another writer holds the chain lock (PostgreSQL's
    head row) or the host's writer lock (SQLite's, that the workers of one host take turns on)."""
    url = api.settings.database_url
    if api.store.engine.dialect.name == "postgresql":
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE"))
                yield
                conn.rollback()
        finally:
            engine.dispose()
        return
    fd = os.open(f"{make_url(url).database}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def wait_in_flight(*apis: Api, timeout: float = 20) -> None:
    """Until each app is recording a keyed request (the requests were sent from threads)."""
    deadline = time.monotonic() + timeout
    while not all(idempotency._IN_FLIGHT.get(a.app.state.runtime) for a in apis):  # noqa: SLF001
        assert time.monotonic() < deadline, "the requests never reached the writer"
        time.sleep(0.01)
    time.sleep(0.1)  # past the look-up, waiting on the writer


def test_a_retry_while_the_first_is_in_flight_is_409(keyed_api: Api) -> None:
    api = keyed_api
    with ThreadPoolExecutor(1) as pool:
        with writes_held(api):
            first: Future[httpx.Response] = pool.submit(post, api, '"slow-1"')
            wait_in_flight(api)
            busy = post(api, '"slow-1"')
            refusal(busy, 409, "idempotency_key_in_flight")
            assert busy.headers["retry-after"]
            assert not first.done()  # the first is still waiting for the writer
        answered = first.result(timeout=60)
    assert answered.status_code == 201
    again = post(api, '"slow-1"')
    assert again.content == answered.content and again.headers["idempotent-replayed"] == "true"
    assert stored_rows(api) == 1


def test_two_workers_racing_with_one_key_record_once(
    api_factory: Callable[..., Api], db_url: str
) -> None:
    """Two service processes (two runtimes on one database) get the same request with the same
    key at once, past both look-ups: the database keeps one key, the loser answers the winner's
    decision."""
    one = api_factory(db_url)
    other = api_factory(db_url, keys=False)
    other.keys, other.key_ids = one.keys, one.key_ids
    with ThreadPoolExecutor(2) as pool:
        with writes_held(one):
            answers = [pool.submit(post, a, '"race-1"') for a in (one, other)]
            wait_in_flight(one, other)
        first, second = (f.result(timeout=60) for f in answers)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.content == second.content
    replayed = [r.headers.get("idempotent-replayed") for r in (first, second)]
    assert replayed.count("true") == 1 and replayed.count(None) == 1
    assert stored_rows(one) == 1 and one.store.verify().ok


# --- a fault between the commit and the answer ------------------------------------------------

COMMIT_ACK = b"C\x00\x00\x00\x0bCOMMIT\x00"  # CommandComplete "COMMIT": sent once committed


class CommitAckDropper:
    """A TCP relay to PostgreSQL that, once armed, cuts the connection where the server
    acknowledges a COMMIT: the transaction is committed, the client never learns it."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if from_server and self.armed.is_set() and COMMIT_ACK in chunk:
                    self.armed.clear()
                    self.dropped.set()
                    for end in (source, sink):
                        end.shutdown(socket.SHUT_RDWR)
                    return
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            sock.close()


@contextmanager
def commit_fails_after_committing(api: Api) -> Iterator[threading.Event]:
    """Arms, once, the driver's commit of the service's engine to fail after it committed a
    decision (as a connection lost at that instant does): the set event tells it struck."""
    dialect = api.store.engine.dialect
    postgres = dialect.name == "postgresql"
    struck = threading.Event()

    def commit_then_fail(dbapi_connection: Any) -> None:
        type(dialect).do_commit(dialect, dbapi_connection)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT seq FROM chain_head WHERE id = 1")
            appended = cursor.fetchone()[0] > 0
        finally:
            cursor.close()
        if postgres:
            dbapi_connection.commit()  # the look-up's own transaction
        if appended and not struck.is_set():
            struck.set()
            if postgres:
                raise psycopg.OperationalError(
                    "consuming input failed: server closed the connection"
                )
            raise sqlite3.OperationalError("disk I/O error")

    dialect.do_commit = commit_then_fail  # type: ignore[method-assign]
    try:
        yield struck
    finally:
        del dialect.do_commit


@contextmanager
def writer_connection_cut_at_commit(api: Api) -> Iterator[threading.Event]:
    """PostgreSQL's asynchronous writer: its own connection goes through the dropping relay."""
    appender = api.app.state.runtime.writer._appender  # noqa: SLF001 -- fault injection
    params = conninfo_to_dict(appender._conninfo)  # noqa: SLF001
    relay = CommitAckDropper(str(params["host"]), int(params.get("port") or 5432))
    api.client.portal.call(appender.aclose)
    appender._conninfo = make_conninfo(appender._conninfo, host="127.0.0.1", port=relay.port)  # noqa: SLF001
    relay.armed.set()
    try:
        yield relay.dropped
    finally:
        relay.close()


FAULTS = pytest.mark.parametrize(
    ("backend", "writer"),
    [("sqlite", "inline"), ("sqlite", "thread"), ("postgres", "inline"), ("postgres", "thread")],
    indirect=["backend"],
)


@FAULTS
def test_an_answer_lost_after_the_commit_is_retried_into_the_same_decision(
    api_factory: Callable[..., Api], db_url: str, writer: str
) -> None:
    api = api_factory(db_url, writer=writer, retry_after_seconds=2)
    asynchronous = api.store.engine.dialect.name == "postgresql" and writer == "inline"
    fault = writer_connection_cut_at_commit if asynchronous else commit_fails_after_committing
    with fault(api) as struck:
        lost = post(api, '"payment-7"')
    assert struck.is_set()
    # The client is told to retry later, although the decision was committed.
    assert lost.status_code == 503, lost.text
    assert lost.json()["errors"][0]["type"] == "database_unavailable"
    assert stored_rows(api) == 1
    retried = post(api, '"payment-7"')
    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    [only_id] = [d.id for d in api.store.list()[0]]
    assert retried.json()["decision_id"] == only_id
    assert stored_rows(api) == 1 and api.store.verify().ok
    # And after the fault the service records as before.
    assert post(api, '"payment-8"').status_code == 201 and stored_rows(api) == 2


@FAULTS
def test_without_a_key_the_same_fault_records_twice(
    api_factory: Callable[..., Api], db_url: str, writer: str
) -> None:
    """Why the key matters: the same fault and retry without one store the decision twice."""
    api = api_factory(db_url, writer=writer)
    asynchronous = api.store.engine.dialect.name == "postgresql" and writer == "inline"
    fault = writer_connection_cut_at_commit if asynchronous else commit_fails_after_committing
    with fault(api):
        assert post(api, None).status_code == 503
    assert post(api, None).status_code == 201
    assert stored_rows(api) == 2
