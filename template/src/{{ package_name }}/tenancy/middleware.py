"""``TenancyMiddleware``: the one place a request becomes a tenant request.

Raw ASGI on purpose: ``BaseHTTPMiddleware`` runs the app in another task, which
breaks ContextVar propagation and buffers streaming responses. Here the route
runs inside this call, so the tenant set below is the tenant the route sees.

Order of checks, each answering with ``{"detail": ...}`` JSON:

1. resolve: the resolver reads the claimed identifier (400, or 401 for a missing
   or bad credential); a caller (``actor``) named with unprintable characters is
   refused like a bad credential (401);
2. identifier format (400);
3. lookup (404: deleted and provisioning tenants are indistinguishable from
   unknown ones; 429 once a client has looked up too many unknown identifiers);
4. a credential issued before the tenant took its identifier (401);
5. status (403 when suspended);
6. authenticate, if configured (who is calling, and may they use this tenant: 401 or
   403); what it returns joins the request's state (e.g. ``user``);
7. admission, if configured (the rate limit: 429 with ``Retry-After``);
8. the route, inside ``tenant_scope(tenant)``.

A database outage during any of these is a 503 with ``Retry-After``. Only the
tenancy layer's own errors (and outages) are answered here: anything a route
raises, ``HTTPException`` and validation errors included, passes through untouched.

A WebSocket goes through the same steps when it connects, and its route runs in
its tenant's scope for the connection's whole life. A refusal answers the client's
``websocket.connect`` with a close before the connection is accepted: 1008 (policy
violation) for every 4xx above, 1013 (try again later) for an outage, with the
detail as the reason. (A server turns that close into an HTTP 403 on the wire; a
browser sees the connection fail, an ASGI client the code.) Other scopes
(``lifespan``) pass through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .cache import TenantLookup
from .context import tenant_scope
from .db import describe, is_unavailable
from .errors import (
    DatabaseUnavailableError,
    InvalidCredentialsError,
    TenancyError,
    TenantNotFoundError,
    TenantResolutionError,
    TenantSuspendedError,
)
from .identifiers import is_valid_identifier
from .resolvers.base import Resolution, TenantResolver, client_of
from .tenant import Tenant, TenantStatus
from .validation import is_clean_label

logger = logging.getLogger(__name__)

#: Decides whether a resolved tenant's request may go on (e.g. its rate limit): returns
#: headers for the response, or raises a ``TenancyError``.
Admission = Callable[[Tenant], Awaitable[Mapping[str, str]]]
#: Decides who is calling and whether they may use the resolved tenant: returns what the
#: request's state gains (e.g. the user), or raises a ``TenancyError`` (401, 403). Runs in
#: the pipeline, so a route added later is covered without anyone remembering it.
Authenticate = Callable[[Scope, Tenant, Resolution], Awaitable[Mapping[str, Any]]]
#: Told of every refusal: its status, the tenant if it was resolved by then, and what was
#: raised (e.g. for metrics). Must not raise.
OnRefusal = Callable[[int, Tenant | None, Exception], None]


class PathMatcher:
    """Exact paths, or ``/prefix/*`` for a whole path segment and what is below it.

    ``/admin/*`` matches ``/admin`` and ``/admin/tenants`` but not ``/administrator``;
    ``/health`` matches ``/health`` only (not ``/healthcheck-admin``).
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self._exact: set[str] = set()
        self._prefixes: list[str] = []
        for pattern in patterns:
            if pattern.endswith("/*"):
                self._exact.add(pattern[:-2] or "/")
                self._prefixes.append(pattern[:-1])
            else:
                self._exact.add(pattern)

    def __call__(self, path: str) -> bool:
        return path in self._exact or any(path.startswith(p) for p in self._prefixes)


class TenancyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        resolver: TenantResolver,
        lookup: TenantLookup,
        excluded_paths: Iterable[str] = (),
        admission: Admission | None = None,
        authenticate: Authenticate | None = None,
        on_refusal: OnRefusal | None = None,
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.lookup = lookup
        self.is_excluded = PathMatcher(excluded_paths)
        self.admission = admission
        self.authenticate = authenticate
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if (kind != "http" and kind != "websocket") or self.is_excluded(scope["path"]):
            await self.app(scope, receive, send)
            return
        tenant: Tenant | None = None
        try:
            resolution = await self.resolver.resolve(scope)
            if resolution.actor is not None and not is_clean_label(resolution.actor):
                raise InvalidCredentialsError()  # the actor is written to logs and audit entries
            tenant = await self._tenant_for(resolution, scope)
            found = await self.authenticate(scope, tenant, resolution) if self.authenticate else {}
            headers = await self.admission(tenant) if self.admission else {}
        except Exception as exc:
            error = _answerable(exc)
            scope.setdefault("state", {})["refused"] = error.status_code
            if self.on_refusal is not None:
                self.on_refusal(error.status_code, tenant, exc)
            if kind == "http":
                await error.response()(scope, receive, send)
            else:
                await _refuse_websocket(error, receive, send)
            return
        if headers:
            # The rate limit's headers go on the response (a WebSocket's accept carries none).
            send = _with_headers(send, headers)
        state = scope.setdefault("state", {})
        state["tenant"] = tenant
        state["actor"] = resolution.actor
        state["claims"] = resolution.claims
        state.update(found)
        if resolution.mount:
            # The tenant's prefix joins the mount point: routes match what follows it,
            # while request.url and url_for() keep the full URL.
            scope = {**scope, "root_path": scope.get("root_path", "") + resolution.mount}
        with tenant_scope(tenant, actor=state["actor"]):
            await self.app(scope, receive, send)

    async def _tenant_for(self, resolution: Resolution, scope: Scope) -> Tenant:
        if not is_valid_identifier(resolution.identifier):
            raise TenantResolutionError("Invalid tenant identifier")
        tenant = await self.lookup.find(resolution.identifier, client_of(scope))
        if tenant is None or tenant.status in (TenantStatus.DELETED, TenantStatus.PROVISIONING):
            raise TenantNotFoundError()
        if resolution.tenant_id is not None and resolution.tenant_id != tenant.id:
            raise TenantNotFoundError()  # the identifier has changed hands since
        if resolution.issued_at is not None and resolution.issued_at < int(
            tenant.identifier_since.timestamp()
        ):
            # Issued to whoever had the identifier then: a purged tenant whose identifier
            # was taken again, or (with renames) another tenant. Whole seconds, like iat.
            raise InvalidCredentialsError()
        if tenant.status is TenantStatus.SUSPENDED:
            raise TenantSuspendedError()
        return tenant


def _answerable(exc: Exception) -> TenancyError:
    """The error to answer with: the tenancy layer's own, or 503 for a database outage.

    Anything else is a bug and propagates (500).
    """
    if isinstance(exc, TenancyError):
        return exc
    if is_unavailable(exc):
        logger.warning("database unavailable while resolving a tenant: %s", describe(exc))
        return DatabaseUnavailableError()
    raise exc


async def _refuse_websocket(error: TenancyError, receive: Receive, send: Send) -> None:
    """Answer the client's ``websocket.connect`` with ``error``'s close, never an accept."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send(error.close())
    # Anything else is a client that left (websocket.disconnect): nothing to answer.


def _with_headers(send: Send, headers: Mapping[str, str]) -> Send:
    """Wrap ``send`` so the response carries ``headers`` (the rate-limit headers)."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableHeaders(scope=message)
            for name, value in headers.items():
                response_headers.setdefault(name, value)
        await send(message)

    return send_with_headers
