"""Logging in, refreshing and logging out: what ``/auth/*`` and the CLI do.

A login answers the same way, after the same work, whether the email is unknown
or the password wrong (``LoginFailedError``, a password verified either way), so
neither the answer nor its timing says whether an address has an account.
A token may name the tenant the user works in (``tenant``): only a tenant the
user is a member of, answered 403 alike for unknown tenants and other ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..tenancy.cache import CachedTenantStore
from ..tenancy.identifiers import is_valid_identifier
from ..tenancy.tenant import Tenant, TenantStatus
from .access import User, UserLookup
from .errors import LoginFailedError, NotAMemberError, UserDisabledError
from .passwords import Passwords
from .refresh import RefreshTokens
from .store import UserStore
from .tokens import AccessTokens


@dataclass(frozen=True, slots=True)
class TokenPair:
    user_id: uuid.UUID
    access_token: str
    refresh_token: str
    #: Seconds the access token is valid for.
    expires_in: int
    tenant: str | None


class Logins:
    def __init__(
        self,
        users: UserStore,
        lookup: UserLookup,
        passwords: Passwords,
        tokens: AccessTokens,
        refresh: RefreshTokens,
        tenants: CachedTenantStore,
    ) -> None:
        self._users = users
        self._lookup = lookup
        self._passwords = passwords
        self._tokens = tokens
        self._refresh = refresh
        self._tenants = tenants

    async def login(self, email: str, password: str, tenant: str | None = None) -> TokenPair:
        found = await self._users.credentials(email)
        matches, new_hash = await self._passwords.verify(password, found[1] if found else None)
        if found is None or not matches:
            raise LoginFailedError()
        user = found[0]
        if not user.is_active:
            raise UserDisabledError()
        if new_hash is not None:  # hashed with older parameters: store the current ones
            await self._users.set_password_hash(user.id, new_hash)
        if tenant is not None:
            await self.member_tenant(user, tenant)
        return self._pair(user.id, tenant, await self._refresh.issue(user.id, tenant))

    async def refresh(self, token: str, tenant: str | None = None) -> TokenPair:
        """A new pair for a refresh token (which is used up); ``tenant``: switch to it."""

        async def check(user_id: uuid.UUID, current: str | None) -> str | None:
            user = await self._lookup.user(user_id)
            if user is None or not user.is_active:
                raise UserDisabledError()
            if tenant is not None:
                await self.member_tenant(user, tenant)
                return tenant
            return current

        rotated = await self._refresh.rotate(token, check)
        return self._pair(rotated.user_id, rotated.tenant, rotated.token)

    async def logout(self, token: str) -> uuid.UUID | None:
        """Revoke ``token``'s login; the user it was issued to, if it was one."""
        return await self._refresh.revoke(token)

    async def member_tenant(self, user: User, identifier: str) -> Tenant:
        """The tenant ``identifier`` names, if ``user`` is a member (else 403)."""
        tenant = (
            await self._tenants.get_by_identifier(identifier)
            if is_valid_identifier(identifier)
            else None
        )
        if tenant is None or tenant.status in (TenantStatus.DELETED, TenantStatus.PROVISIONING):
            raise NotAMemberError()
        if await self._lookup.role(user.id, tenant.id) is None:
            raise NotAMemberError()
        return tenant

    def _pair(self, user_id: uuid.UUID, tenant: str | None, refresh: str) -> TokenPair:
        return TokenPair(
            user_id=user_id,
            access_token=self._tokens.issue(user_id, tenant),
            refresh_token=refresh,
            expires_in=self._tokens.ttl_seconds,
            tenant=tenant,
        )
