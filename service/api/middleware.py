"""One pure-ASGI middleware for every request: request id, body limit, metrics, access log.

It is also the last line of defence: an unexpected exception becomes a JSON 500 whose log line
has the exception's type and frames but never its message (which could quote data).
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import metrics
from service.api.errors import internal_error, response_for, too_large
from service.api.logs import AccessLog, get_logger, request_id_var

CLIENT_CLOSED = 499  # the status nginx logs for a client that closed its request
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Generated request ids: a random prefix per process and a counter (cheaper than uuid4).
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)
access_log = get_logger("http")
access_lines = AccessLog()


class BodyTooLarge(Exception):
    """The request body went past the size limit while it was being read."""


class ServiceMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        access_log_enabled: bool = True,
        fast_routes: dict[tuple[str, str], Any] | None = None,
        body_limits: dict[str, int] | None = None,
    ):
        self.app = app
        self.max_body = max_body_bytes
        self.body_limits = body_limits or {}
        self.access_log = access_log_enabled
        self.fast_routes = fast_routes or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                text = value.decode("latin-1")
                if _REQUEST_ID.fullmatch(text):
                    request_id = text
                break
        if request_id is None:
            request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"
        token = request_id_var.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        status_holder = [500]
        started_response = [False]
        rid_header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                started_response[0] = True
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        limit = self.body_limits.get(scope["path"], self.max_body)
        try:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await response_for(too_large(limit))(scope, receive, send_wrapper)
            else:
                fast = self.fast_routes.get((scope["method"], scope["path"]))
                if fast is not None:
                    state["route"] = scope["path"]
                    await fast(scope, self._limited(receive, limit), send_wrapper, state)
                else:
                    await self.app(scope, self._limited(receive, limit), send_wrapper)
        except BodyTooLarge:
            if not started_response[0]:
                await response_for(too_large(limit))(scope, receive, send_wrapper)
        except ClientDisconnect:
            # The client went away before its request was read: nobody to answer, nothing
            # recorded, and nothing wrong with the service (nginx logs it as 499).
            status_holder[0] = CLIENT_CLOSED
            access_log.info("client disconnected before its request was read")
        except Exception:
            access_log.exception("unhandled error")
            if not started_response[0]:
                await response_for(internal_error())(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or state.get("route") or "unmatched"
            method = scope["method"]
            status = status_holder[0]
            metrics.observe_request(method, template, status, elapsed)
            if self.access_log and access_lines.enabled():
                principal = state.get("principal")
                extra: dict[str, Any] = {
                    "method": method,
                    "route": template,
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                }
                if principal is not None:
                    extra["key_id"] = principal.key_id
                    extra["role"] = principal.role
                if "decision_id" in state:
                    extra["decision_id"] = state["decision_id"]
                access_lines.write(extra)
            request_id_var.reset(token)

    def _limited(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        return limited_receive


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
