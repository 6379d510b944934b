"""Several worker processes, each with its own listening socket on the port (SO_REUSEPORT).

With one listening socket shared by every worker (what ``uvicorn --workers`` does), the worker
that wakes first accepts every connection waiting at that moment: 32 connections opened
together were seen to split 31/1, 28/4 or 22/10 between two workers, which leaves one core
half idle and doubles the queue, and so the latency, on the other. With a socket per worker and
SO_REUSEPORT the kernel hands each new connection to one of them by a hash of the client's
address and port, so each worker gets about its share.

SO_REUSEPORT would also let a second ``serve`` join the same port, old and new code then
sharing the traffic. So ``serve`` first *claims* the port: it binds it without SO_REUSEPORT,
which fails while any socket listens there or another ``serve`` holds its claim, and only then
lets its own workers join (:func:`claim_port`). A worker exits when its supervisor dies, even by
``kill -9`` (:func:`_die_with_supervisor`), so no orphan keeps answering on the port.

The supervisor restarts a worker that dies, gives up (exit status 3) if one could not start
(uvicorn's own exit status 3), and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import ctypes
import errno
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

from service.api.logs import get_logger
from service.bilingual import BilingualError

log = get_logger("serve")

EXIT_STARTUP_FAILURE = 3  # uvicorn's own status for a server that could not start
RESTART_PAUSE_SECONDS = 1.0  # between restarts of a worker that keeps dying at once
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class PortTaken(BilingualError):
    """Another process listens on the port, or another ``serve`` holds it (exit 2)."""


def supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def claim_port(host: str, port: int, *, shared: bool) -> socket.socket:
    """The port for this ``serve`` alone: a socket bound to it (not listening), held for the
    supervisor's lifetime; it turns port 0 into the one port every worker binds.

    The bind is made without SO_REUSEPORT (SO_REUSEADDR only, so the TIME_WAIT connections of
    an instance just stopped do not count), so it fails while anything listens on the port or
    another ``serve`` holds its claim. With ``shared`` the socket then switches to SO_REUSEPORT
    alone: our workers can bind beside it, another claim still cannot.
    """
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno != errno.EADDRINUSE:
            raise
        where = f"{host}:{port}"
        raise PortTaken(
            f"端口 {where} 已被占用（另一个 eligibility serve 或其他程序正在使用）；本服务未启动。"
            f"请先停止占用该端口的进程，或用 --port 指定其他端口。",
            f"port {where} is already in use (another eligibility serve or another program"
            f" holds it); not started. Stop the process holding it, or choose another port"
            f" with --port.",
        ) from None
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def reuseport_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _die_with_supervisor(supervisor: int, grace_seconds: float) -> None:
    """Ends this worker when the supervisor process ends, however it ends.

    Linux: the kernel sends SIGTERM at the parent's death (``PR_SET_PDEATHSIG``). Everywhere:
    a thread waits for end-of-file on multiprocessing's pipe from the parent (its write end
    closes when the parent dies), then sends SIGTERM (uvicorn's graceful shutdown) and, if the
    worker still runs after the grace period, exits at once.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the pipe below still works
    parent = multiprocessing.parent_process()

    def watch() -> None:
        if parent is not None:
            wait([parent.sentinel])
        else:  # not started by multiprocessing: poll the parent's id
            while os.getppid() == supervisor:
                time.sleep(0.5)
        log.warning("supervisor gone; worker stopping", extra={"pid": os.getpid()})
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()
    if os.getppid() != supervisor:  # it died before the watch began
        os.kill(os.getpid(), signal.SIGTERM)


def _grace(config: dict[str, Any]) -> float:
    return float(config.get("timeout_graceful_shutdown") or 10) + 5


def _worker(config: dict[str, Any], host: str, port: int, supervisor: int) -> None:
    """One worker process: its own socket on the shared port, one uvicorn server on it."""
    import uvicorn

    _die_with_supervisor(supervisor, _grace(config))
    sock = reuseport_socket(host, port)
    server = uvicorn.Server(uvicorn.Config(**config))
    server.run(sockets=[sock])
    if not server.started:  # as uvicorn.run: the supervisor gives up rather than loop
        sys.exit(EXIT_STARTUP_FAILURE)


def serve(config: dict[str, Any], claimed: socket.socket, workers: int) -> int:
    """Runs ``workers`` uvicorn servers of ``config`` (keyword arguments of ``uvicorn.Config``)
    on the port of ``claimed`` (from :func:`claim_port`) until SIGINT/SIGTERM; returns the exit
    status. One worker runs in this process, on the claimed socket itself."""
    if workers <= 1:
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(**config))
        server.run(sockets=[claimed])
        return 0 if server.started else EXIT_STARTUP_FAILURE
    host, port = claimed.getsockname()[:2]
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    supervisor = os.getpid()

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(
            target=_worker, args=(config, host, port, supervisor), daemon=False
        )
        process.start()
        return process, time.monotonic()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    running = [start() for _ in range(workers)]
    status = 0
    try:
        while not stop.is_set():
            wait([process.sentinel for process, _ in running], timeout=0.5)
            for index, (process, started) in enumerate(running):
                if process.is_alive() or stop.is_set():
                    continue
                extra = {"pid": process.pid, "exitcode": process.exitcode}
                if process.exitcode == EXIT_STARTUP_FAILURE:
                    log.error("worker failed to start; stopping", extra=extra)
                    status = EXIT_STARTUP_FAILURE
                    stop.set()
                    break
                log.warning("worker died; starting another", extra=extra)
                if time.monotonic() - started < RESTART_PAUSE_SECONDS:
                    stop.wait(RESTART_PAUSE_SECONDS)  # no busy loop of instant deaths
                running[index] = start()
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + _grace(config)
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        claimed.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
