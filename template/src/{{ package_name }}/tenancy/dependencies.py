"""FastAPI dependencies: the current tenant, a session scoped to it, who is asking.

Routes declare what they need with the ``Annotated`` aliases at the bottom::

    @router.get("/things")
    async def list_things(session: TenantSession) -> list[Thing]: ...

The isolation provider comes from the application's parts (``wiring.py``), so
these functions hold no globals and tests can build as many apps as they like.
They are ``async def`` although none of them awaits: FastAPI runs a plain ``def``
dependency in a thread pool, a hop every request would pay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from .context import current_tenant
from .events import RequestInfo
from .tenant import Tenant, TenantConfig
from .wiring import tenancy_parts


async def get_current_tenant() -> Tenant:
    """The tenant the middleware resolved; raises if the route is excluded from it."""
    return current_tenant()


async def get_tenant_config(
    tenant: Annotated[Tenant, Depends(get_current_tenant)],
) -> TenantConfig:
    """The current tenant's configuration (plan limits, feature flags, ...)."""
    return tenant.config


async def get_tenant_session(connection: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """A session that can only see the current tenant's data.

    Commit explicitly in the route; whatever is not committed is rolled back
    when the request ends. (It reads the tenant and the provider itself rather
    than through sub-dependencies: this runs on every request that touches the
    database, and each dependency FastAPI resolves costs time.)
    """
    async with tenancy_parts(connection).isolation.session(current_tenant()) as session:
        yield session


async def get_claims(connection: HTTPConnection) -> Mapping[str, Any]:
    """The claims of the request's (or WebSocket's) verified credential (a token's:
    ``sub``, the tenant claim, yours); empty where the resolver verifies no token."""
    claims: Mapping[str, Any] = connection.scope.get("state", {}).get("claims", {})
    return claims


async def request_info(connection: HTTPConnection) -> RequestInfo:
    """Who and where the request (or WebSocket) came from, for audit entries and lifecycle
    events. The address is the peer's, or the client's that a trusted proxy forwarded
    (``FORWARDED_ALLOW_IPS``)."""
    state = connection.scope.get("state", {})
    client = connection.client
    return RequestInfo(
        actor=state.get("actor"),
        ip=client.host if client else None,
        user_agent=connection.headers.get("user-agent"),
        request_id=state.get("request_id"),
    )


CurrentTenant = Annotated[Tenant, Depends(get_current_tenant)]
CurrentTenantConfig = Annotated[TenantConfig, Depends(get_tenant_config)]
TenantSession = Annotated[AsyncSession, Depends(get_tenant_session)]
Claims = Annotated[Mapping[str, Any], Depends(get_claims)]
