"""Dependencies of the service's own routes: its parts, typed, and the admin check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from ..parts import Parts, parts_of

_bearer = HTTPBearer(auto_error=False, description="ADMIN_TOKEN from the service's settings")


async def get_parts(connection: HTTPConnection) -> Parts:
    """The parts ``create_app`` was built on (settings, store, isolation provider...).

    (An ``HTTPConnection``, not a ``Request``: WebSocket routes use it too.)
    """
    return parts_of(connection.app)


async def require_admin(
    parts: Annotated[Parts, Depends(get_parts)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Constant-time comparison with ``ADMIN_TOKEN``; no token configured, no admin API."""
    token = parts.settings.admin_token
    if token is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Admin API disabled: ADMIN_TOKEN is not set"
        )
    given = credentials.credentials.encode() if credentials else b""
    if not secrets.compare_digest(given, token.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Invalid or missing admin token",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceParts = Annotated[Parts, Depends(get_parts)]
