"""Dependencies of the service's own routes: its parts, typed, and the token checks."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
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
    check_bearer(parts.settings.admin_token, credentials, "ADMIN_TOKEN", "Admin API", "admin")


def check_bearer(
    token: SecretStr | None,
    credentials: HTTPAuthorizationCredentials | None,
    setting: str,
    what: str,
    kind: str,
) -> None:
    """The bearer token against ``token`` (the ``setting``), in constant time: 503 while
    none is configured (``what`` is off), 401 for a missing or wrong one."""
    if token is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"{what} disabled: {setting} is not set"
        )
    given = credentials.credentials.encode() if credentials else b""
    if not secrets.compare_digest(given, token.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"Invalid or missing {kind} token",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceParts = Annotated[Parts, Depends(get_parts)]
