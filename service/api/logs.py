"""Structured logs: one JSON object per line on stderr, each with the request id.

Nothing here ever logs a request or response body; the access line names the route, the status,
the key id and the decision id only. Names and ID numbers are pseudonymised before anything
else sees them (see :mod:`service.api.privacy`).
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from typing import Any

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

LOGGER_NAME = "eligibility"
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


def _timestamp(created: float) -> str:
    seconds = int(created)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int((created - seconds) * 1000):03d}Z"
    )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            # Type and frames only: an exception's message may quote data (SQL parameters).
            entry["error"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["traceback"] = self._frames(record.exc_info[2])
        return orjson.dumps(entry, default=str).decode()

    @staticmethod
    def _frames(tb: Any) -> list[str]:
        frames = []
        while tb is not None:
            code = tb.tb_frame.f_code
            frames.append(f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}")
            tb = tb.tb_next
        return frames[-12:]


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route our loggers (and uvicorn's) through the JSON formatter, once per process."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in (LOGGER_NAME, "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # uvicorn's own access log would duplicate ours (and is not JSON).
    logging.getLogger("uvicorn.access").disabled = True


class AccessLog:
    """One JSON line per request, written straight to the log handler's stream.

    The same line format as :class:`JsonFormatter` at a fifth of the cost of going through
    ``logging`` (it is written for every request). Honours the ``eligibility.http`` level.
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger(f"{LOGGER_NAME}.http")

    def enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.INFO)

    def write(self, fields: dict[str, Any]) -> None:
        entry = {
            "ts": _timestamp(time.time()),
            "level": "info",
            "logger": self._logger.name,
            "msg": "request",
            "request_id": request_id_var.get(),
            **fields,
        }
        line = orjson.dumps(entry, default=str).decode() + "\n"
        for handler in logging.getLogger(LOGGER_NAME).handlers:
            stream = getattr(handler, "stream", None)
            if stream is not None:
                handler.acquire()
                try:
                    stream.write(line)
                    stream.flush()
                finally:
                    handler.release()


def get_logger(suffix: str | None = None) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{suffix}" if suffix else LOGGER_NAME)
