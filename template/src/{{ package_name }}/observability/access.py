"""``AccessMiddleware``: one log line and one set of metrics per request.

Raw ASGI (like the tenancy middleware) and outside it, so refusals (400, 401, 404,
429, 503) are counted and logged too; the request id is already set. The route is
the matched route's template (``/api/notes/{note_id}``), never the raw path: a path
holds identifiers and ids, which would make every request a new metric series and
put tenant data in logs. The router leaves its route in the request's scope; where the
tenancy middleware hands the router a copy of the scope (a tenant's path prefix mounted),
``RouteCapture``, innermost, copies the template into the request's state. A request
the tenancy middleware refused never reached the router:
its route is ``refused`` (``tenancy_resolution_failures_total`` says why); a request no
route serves is ``unmatched``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import RequestMetrics

logger = logging.getLogger("access")
UNMATCHED = "unmatched"
REFUSED = "refused"


def _template(scope: Scope) -> str | None:
    """The template of the route the router matched in ``scope``, if it did."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else None


class RouteCapture:
    """Innermost: after the router ran, keep its route's template in the request's state,
    which every copy of the scope shares."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            path = _template(scope)
            if path is not None:
                scope.setdefault("state", {})["route"] = path


class AccessMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers: an exception is Starlette's 500

        async def send_and_see(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            duration = time.perf_counter() - started
            state: dict[str, Any] = scope.get("state", {})
            route = _template(scope) or state.get("route")
            if route is None:
                route = REFUSED if "refused" in state else UNMATCHED
            tenant = state.get("tenant")
            method = scope["method"]
            self.metrics.observe(method, route, status, duration, tenant)
            client = scope.get("client")
            fields: dict[str, Any] = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 3),
                # The peer, or with proxy headers believed (FORWARDED_ALLOW_IPS) the client.
                "client": client[0] if client else None,
            }
            if tenant is not None:  # the line is written after the tenant's scope ended
                fields |= {"tenant_id": str(tenant.id), "tenant": tenant.identifier}
                if state.get("actor") is not None:
                    fields["user_id"] = state["actor"]
            if logger.isEnabledFor(logging.INFO):
                # ``handle(makeRecord())`` is ``info()`` without the lookup of the calling
                # frame, which this line (written for every request) does not show.
                record = logger.makeRecord(
                    logger.name, logging.INFO, __file__, 0, "request", (), None, extra=fields
                )
                logger.handle(record)
