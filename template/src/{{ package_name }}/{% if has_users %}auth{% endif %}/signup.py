"""Self-serve sign-up (``SIGNUP_MODE=open``): an account, and optionally its own tenant.

**No enumeration.** A sign-up for an address that has an account answers exactly like
one that creates an account (the route's 202), after the same work on the request's
side: the password is hashed either way, and a tenant identifier is checked either way
(taken: 409 for both). Nothing is created for an existing address, and its owner is
told (``delivery.send_signup_notice``). One difference remains: creating a tenant
takes its provisioning time, which a sign-up for an existing address does not spend;
keep self-serve tenants behind the sign-up rate limit, or use ``SIGNUP_MODE=invite``.

**No half-made sign-ups.** The account is created first (its email is unique, so a
taken address is known before any tenant exists), then the tenant, through the same
``tenancy/provisioning.py`` as the admin API (identifier rules, namespace, seed,
lifecycle event), then the owner's membership. If the tenant or the membership
fails, what was made is removed again (the tenant purged, the account deleted) and
the error answered. A crash between the steps can leave an account without its
tenant (never a tenant without its owner): its owner can log in.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from ..tenancy.errors import TenantConflictError
from ..tenancy.events import RequestInfo
from ..tenancy.provisioning import create_tenant, purge_tenant
from ..tenancy.tenant import Tenant, TenantCreate
from ..tenancy.wiring import TenancyParts
from .access import AccessCache
from .errors import EmailTakenError
from .models import Role, UserRow
from .passwords import Passwords
from .store import UserStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignedUp:
    """What a sign-up did (for its event; the client is told none of it)."""

    #: The new account; ``None``: the address had one, nothing was created.
    user_id: uuid.UUID | None
    #: The tenant created for it, if one was asked for.
    tenant: Tenant | None


class Signups:
    def __init__(
        self, engine: AsyncEngine, users: UserStore, passwords: Passwords, cache: AccessCache
    ) -> None:
        self._engine = engine
        self._users = users
        self._passwords = passwords
        self._cache = cache

    async def sign_up(
        self,
        email: str,
        password: str,
        tenant: TenantCreate | None,
        parts: TenancyParts,
        info: RequestInfo,
    ) -> SignedUp:
        password_hash = await self._passwords.hash(password)  # the same work either way
        if tenant is not None and await parts.store.get_by_identifier(tenant.identifier):
            raise TenantConflictError()
        if await self._users.by_email(email) is not None:
            return SignedUp(None, None)
        try:
            user = await self._users.create_user(email, password_hash)
        except EmailTakenError:  # signed up meanwhile
            return SignedUp(None, None)
        if tenant is None:
            return SignedUp(user.id, None)
        created: Tenant | None = None
        try:
            created = await create_tenant(tenant, parts, info)
            await self._users.add_member(created.id, user.id, Role.OWNER)
        except BaseException:
            logger.exception("self-serve sign-up of %s failed; removing what it made", user.id)
            await self._undo(user.id, created, parts, info)
            raise
        return SignedUp(user.id, created)

    async def _undo(
        self, user_id: uuid.UUID, tenant: Tenant | None, parts: TenancyParts, info: RequestInfo
    ) -> None:
        """Remove the sign-up's tenant, then its account; each attempted even if the other
        fails (logged: the sign-up's own error is the one answered)."""
        try:
            if tenant is not None:
                await purge_tenant(tenant.id, parts, info)
        except Exception:
            logger.exception("could not purge tenant %s of a failed sign-up", tenant)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(UserRow).where(UserRow.id == user_id))
            await self._cache.forget_user(user_id)
        except Exception:
            logger.exception("could not delete user %s of a failed sign-up", user_id)
