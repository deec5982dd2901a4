"""What routes declare to know who is calling: ``CurrentUser``, ``CurrentMembership``
and ``require_role``.

On a tenant route the middleware has already authenticated the request and
checked the membership (``access.py``): these read what it found, at no cost.
``CurrentUser`` also works on routes outside tenancy (``/auth/me``), where it
verifies the bearer token itself. A role check reads well in a signature::

    @router.delete("/{note_id}", dependencies=[RequireAdmin])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from .access import Membership, User, bearer_token
from .errors import ForbiddenError
from .models import Role
from .wiring import auth_of

#: For OpenAPI only (Swagger UI's Authorize button logs in here); the middleware and
#: ``get_current_user`` do the checking.
oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


async def get_current_user(request: Request, _: Annotated[Any, Depends(oauth2)]) -> User:
    """The authenticated user: from the middleware, or from the bearer token."""
    user = request.scope.get("state", {}).get("user")
    if isinstance(user, User):
        return user
    auth = auth_of(request)
    claims = auth.tokens.verify(bearer_token(request.scope))
    return await auth.lookup.active_user(claims)


async def get_current_membership(
    request: Request, _: Annotated[Any, Depends(oauth2)]
) -> Membership:
    """The user's membership of the request's tenant (tenant routes only)."""
    membership = request.scope.get("state", {}).get("membership")
    if not isinstance(membership, Membership):
        raise ForbiddenError("Not a tenant request")
    return membership


def require_role(role: Role) -> Callable[..., Awaitable[None]]:
    """A dependency refusing (403) members whose role does not include ``role``."""

    async def check(membership: Annotated[Membership, Depends(get_current_membership)]) -> None:
        if not membership.role.includes(role):
            raise ForbiddenError(f"Requires the {role.value} role")

    return check


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentMembership = Annotated[Membership, Depends(get_current_membership)]
#: ``dependencies=[RequireAdmin]``: admins and owners only.
RequireAdmin = Depends(require_role(Role.ADMIN))
RequireOwner = Depends(require_role(Role.OWNER))
