"""Several worker processes, each with its own listening socket on the port (SO_REUSEPORT).

With one listening socket shared by every worker (what ``uvicorn --workers`` does), the worker
that wakes first accepts every connection waiting at that moment: 32 connections opened
together were seen to split 31/1, 28/4 or 22/10 between two workers, which leaves one core
half idle and doubles the queue, and so the latency, on the other. With a socket per worker and
SO_REUSEPORT the kernel hands each new connection to one of them by a hash of the client's
address and port, so each worker gets about its share.

The supervisor restarts a worker that dies, gives up (exit status 3) if one could not start
(uvicorn's own exit status 3), and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

from service.api.logs import get_logger

log = get_logger("serve")

EXIT_STARTUP_FAILURE = 3  # uvicorn's own status for a server that could not start
RESTART_PAUSE_SECONDS = 1.0  # between restarts of a worker that keeps dying at once


def supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(config: dict[str, Any], host: str, port: int) -> None:
    """One worker process: its own socket on the shared port, one uvicorn server on it."""
    import uvicorn

    sock = reuseport_socket(host, port)
    uvicorn.Server(uvicorn.Config(**config)).run(sockets=[sock])


def serve(config: dict[str, Any], host: str, port: int, workers: int) -> int:
    """Runs ``workers`` uvicorn servers of ``config`` (keyword arguments of ``uvicorn.Config``)
    until SIGINT/SIGTERM; returns the exit status."""
    # Held (bound, never listening) for the supervisor's lifetime: it keeps the port ours
    # between worker restarts and turns port 0 into the one port every worker binds.
    reserved = reuseport_socket(host, port)
    port = reserved.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_worker, args=(config, host, port), daemon=False)
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
        grace = float(config.get("timeout_graceful_shutdown") or 10) + 5
        deadline = time.monotonic() + grace
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        reserved.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
