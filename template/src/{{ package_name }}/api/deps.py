"""Dependencies of the admin API: the admin check and the parts it works with."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..settings import Settings
from ..tenancy.stores.base import TenantStore

_bearer = HTTPBearer(auto_error=False, description="ADMIN_TOKEN from the service's settings")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> TenantStore:
    store: TenantStore = request.app.state.store
    return store


async def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Constant-time comparison with ``ADMIN_TOKEN``; no token configured, no admin API."""
    if settings.admin_token is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Admin API disabled: ADMIN_TOKEN is not set"
        )
    expected = settings.admin_token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials else b""
    if not secrets.compare_digest(given, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Invalid or missing admin token",
            headers={"WWW-Authenticate": "Bearer"},
        )


Store = Annotated[TenantStore, Depends(get_store)]
