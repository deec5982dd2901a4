"""The authentication parts, built once, and how routes reach them.

``build_auth`` makes them from the ``AUTH_*`` settings; ``parts.py`` keeps them on
``Parts.auth`` and gives the middleware ``Auth.authenticate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fastapi import Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ..tenancy.cache import CachedTenantStore
from .access import AccessCache, Authenticator, UserLookup
from .audit import AuthEvents
from .guard import LoginGuard
from .invitations import Invitations
from .mail import Postman, build_mailer
from .passwords import Passwords
from .recovery import Recovery
from .refresh import RefreshTokens
from .service import Logins
from .settings import AuthSettings
from .signup import Signups
from .store import UserStore
from .token_cache import CachedAccessTokens
from .tokens import AccessTokens


@dataclass(frozen=True, slots=True)
class Auth:
    tokens: AccessTokens
    passwords: Passwords
    users: UserStore
    #: Users and roles through the access cache (the request path's reads).
    lookup: UserLookup
    refresh: RefreshTokens
    logins: Logins
    #: The tenancy middleware's ``authenticate`` step.
    authenticate: Authenticator
    #: Logins, failed logins, sign-ups, member changes: the ``auth_events`` table.
    events: AuthEvents
    #: Invitations to tenants (``POST /api/invitations``, ``/auth/invitations/accept``).
    invitations: Invitations
    #: Self-serve sign-up (``POST /auth/signup``).
    signups: Signups
    #: Sends mail (``MAIL_BACKEND``) without raising: from background tasks.
    mail: Postman
    #: Password resets and email verification.
    recovery: Recovery
    #: Failed-login limits per account and per client address (``/auth/login``).
    guard: LoginGuard


def build_auth(
    settings: AuthSettings,
    engine: AsyncEngine,
    tenants: CachedTenantStore,
    cache: AccessCache,
    *,
    token_resolves: bool,
    production: bool = False,
    redis: Redis | None = None,
) -> Auth:
    """``token_resolves``: the resolver verifies the access token (jwt resolution);
    ``production``: no mail text in logs (``MAIL_BACKEND=log``); ``redis``: login limits
    shared by every instance."""
    tokens = CachedAccessTokens(settings)  # verified once, then remembered until expiry
    passwords = Passwords()
    users = UserStore(engine, cache)
    lookup = UserLookup(cache, users.get, users.role)
    refresh = RefreshTokens(engine, ttl_days=settings.auth_refresh_token_days)
    events = AuthEvents(engine)
    mail = Postman(build_mailer(settings, production=production))
    return Auth(
        tokens=tokens,
        passwords=passwords,
        users=users,
        lookup=lookup,
        refresh=refresh,
        logins=Logins(users, lookup, passwords, tokens, refresh, tenants),
        authenticate=Authenticator(tokens, lookup, token_resolves=token_resolves),
        events=events,
        invitations=Invitations(engine, cache, ttl_days=settings.auth_invitation_days),
        signups=Signups(engine, users, passwords, cache),
        mail=mail,
        recovery=Recovery(engine, passwords, cache, events, mail, settings),
        guard=LoginGuard(settings, redis, events),
    )


class _HasAuth(Protocol):
    @property
    def auth(self) -> Auth: ...


def auth_of(request: Request) -> Auth:
    """The application's authentication parts (``app.state.parts.auth``)."""
    parts: _HasAuth = request.app.state.parts
    return parts.auth
