"""Who is calling, and may they use this tenant: checked on every tenant request.

``Authenticator`` is the tenancy middleware's ``authenticate`` step, so every
tenant route is covered, including the ones you add later. It verifies the access
token, then reads the user and their membership of the resolved tenant from two
in-process caches (LRU + TTL): a request on a cached membership costs no query.

Every change to a user or a membership drops the entries it touches here at once
(``AccessCache.forget_*``) and, with Redis, on every other instance through the
tenant cache's invalidation channel. Without Redis, the cache TTL
(``TENANT_CACHE_TTL_SECONDS``) bounds how long another instance accepts a removed
member or a disabled user.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.types import Scope

from ..tenancy.cache import LruTtlCache
from ..tenancy.invalidation import CacheInvalidation
from ..tenancy.resolvers.base import Resolution
from ..tenancy.tenant import Tenant
from .errors import (
    InvalidTokenError,
    NotAMemberError,
    NotAuthenticatedError,
    UserDisabledError,
)
from .models import Role
from .tokens import AccessClaims, AccessTokens, claims_of

V = TypeVar("V")
_AUTHORIZATION = b"authorization"
Publish = Callable[[Iterable[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class User:
    """A user as requests see them."""

    id: uuid.UUID
    email: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class Membership:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role


class AccessCache:
    """Users by id, and roles by (user, tenant); a miss (no such user, not a member) is
    cached too, so a stream of refused requests costs no queries either."""

    USERS = "auth-users"
    MEMBERS = "auth-members"

    def __init__(self, *, max_size: int, ttl_seconds: float) -> None:
        self.users: LruTtlCache[User] = LruTtlCache(max_size=max_size, ttl_seconds=ttl_seconds)
        self.members: LruTtlCache[Role] = LruTtlCache(max_size=max_size, ttl_seconds=ttl_seconds)
        self._publish: dict[str, Publish] = {}

    def caches(self) -> dict[str, LruTtlCache[Any]]:
        """The caches by name, for ``CacheInvalidation(caches=...)``."""
        return {self.USERS: self.users, self.MEMBERS: self.members}

    def connect(self, invalidation: CacheInvalidation) -> None:
        """Publish every change to the other instances through ``invalidation``."""
        self._publish = {name: invalidation.publisher(name) for name in self.caches()}

    async def forget_user(self, user_id: uuid.UUID) -> None:
        await self._forget(self.USERS, self.users, str(user_id))

    async def forget_member(self, user_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        await self._forget(self.MEMBERS, self.members, member_key(user_id, tenant_id))

    async def _forget(self, name: str, cache: LruTtlCache[Any], key: str) -> None:
        cache.invalidate(key)
        publish = self._publish.get(name)
        if publish is not None:
            await publish([key])


def member_key(user_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
    return f"{user_id}:{tenant_id}"


async def cached(
    cache: LruTtlCache[V], key: str, load: Callable[[], Awaitable[V | None]]
) -> V | None:
    """``key`` from ``cache``, else loaded and kept, unless the cache was invalidated
    while loading (what was read may be older than the change)."""
    hit, value = cache.get(key)
    if hit:
        return value
    generation = cache.generation
    value = await load()
    if cache.generation == generation:
        cache.put(key, value)
    return value


class UserLookup:
    """Users and roles through the cache (the request path's reads)."""

    def __init__(
        self,
        cache: AccessCache,
        load_user: Callable[[uuid.UUID], Awaitable[User | None]],
        load_role: Callable[[uuid.UUID, uuid.UUID], Awaitable[Role | None]],
    ) -> None:
        self.cache = cache
        self._load_user = load_user
        self._load_role = load_role

    async def user(self, user_id: uuid.UUID) -> User | None:
        return await cached(self.cache.users, str(user_id), lambda: self._load_user(user_id))

    async def role(self, user_id: uuid.UUID, tenant_id: uuid.UUID) -> Role | None:
        key = member_key(user_id, tenant_id)
        return await cached(self.cache.members, key, lambda: self._load_role(user_id, tenant_id))

    async def active_user(self, claims: AccessClaims) -> User:
        """The token's user, if they still exist (401) and are active (403)."""
        user = await self.user(claims.user_id)
        if user is None:
            raise InvalidTokenError()
        if not user.is_active:
            raise UserDisabledError()
        return user


class Authenticator:
    """The middleware's ``authenticate``: the request's user must be an active member
    of the resolved tenant. Its result joins the request's state (``user``,
    ``membership``), which ``CurrentUser`` and ``CurrentMembership`` read, and makes the
    user's id the ``actor`` audit entries and events name, whatever named the tenant."""

    def __init__(self, tokens: AccessTokens, lookup: UserLookup, *, token_resolves: bool) -> None:
        self._tokens = tokens
        self._lookup = lookup
        #: The resolver has verified the token already (jwt resolution): use its claims.
        self._token_resolves = token_resolves

    async def __call__(
        self, scope: Scope, tenant: Tenant, resolution: Resolution
    ) -> Mapping[str, Any]:
        if self._token_resolves:
            claims = claims_of(dict(resolution.claims))
        else:
            claims = self._tokens.verify(bearer_token(scope))
            if claims.tenant is not None and claims.tenant != tenant.identifier:
                raise NotAMemberError("Token is for another tenant")
        user = await self._lookup.active_user(claims)
        role = await self._lookup.role(user.id, tenant.id)
        if role is None:
            raise NotAMemberError()
        return {
            "user": user,
            "membership": Membership(tenant.id, user.id, role),
            "actor": str(user.id),
        }


def bearer_token(scope: Scope) -> str:
    """The token of ``Authorization: Bearer <token>``: 401 if absent or malformed."""
    values: list[bytes] = [value for name, value in scope["headers"] if name == _AUTHORIZATION]
    if not values:
        raise NotAuthenticatedError()
    scheme, _, token = values[0].decode("latin-1").partition(" ")
    token = token.strip()
    if len(values) > 1 or scheme.lower() != "bearer" or not token:
        raise InvalidTokenError()
    return token
