"""``RequestIdMiddleware``: one id per request, in logs, traces, audit entries and the response.

A well-formed incoming ``X-Request-ID`` (8 to 64 of ``A-Za-z0-9._-``, from a proxy)
is kept so ids line up across services; anything else is replaced, so a client
cannot inject text into logs through it. The id is on ``request.state.request_id``
and, for code that has no request (log processors, span processors), on
``current_request_id()``.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_KEY = HEADER.lower().encode("latin-1")
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served here, if any."""
    return _current.get()


def request_id_of(scope: Scope) -> str:
    """The id of the HTTP request ``scope``, decided on first sight and kept in its state
    (a tracing hook may ask before the middleware runs)."""
    state = scope.setdefault("state", {})
    request_id: str | None = state.get("request_id")
    if request_id is None:
        incoming = next((value for key, value in scope["headers"] if key == _KEY), b"")
        request_id = (
            incoming.decode("ascii") if _WELL_FORMED.fullmatch(incoming) else uuid.uuid4().hex
        )
        state["request_id"] = request_id
    return request_id


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
