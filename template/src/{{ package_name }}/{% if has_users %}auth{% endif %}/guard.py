"""Brute-force limits on ``POST /auth/login``: failed logins per account and per client address.

Each attempt takes a slot in two sliding windows before its password is verified:
the account's (the normalized email, whether or not it has an account) and the
client address's (``request_info``'s: the peer, or the client a trusted proxy
forwarded, ``FORWARDED_ALLOW_IPS``; an IPv6 address counts as its /64, which one
client usually holds whole). Taking the slot first, atomically, is what makes the
limit exact under concurrency: of 3N simultaneous wrong guesses, N are verified.
A full window answers 429 with ``Retry-After`` (seconds until it admits one more)
before any verification, even for the right password, and alike for accounts that
do not exist: the answer tells nothing about which emails have one.

Only refused logins keep their slots. A login that succeeds gives back its address
slot, and clears the account's window: whoever logged in holds the password, so
their earlier typos no longer count against them. (The address window is not
cleared: an attacker could otherwise refill it by logging in to an account of their
own between guesses.) An attempt that fails for another reason (an outage) gives
back both slots: nothing was learnt from it.

Limits are shared by every instance through Redis. With Redis unreachable they
hold per instance (the in-process limiter), neither open nor closed: failing open
would let guessing run unbounded through an outage, failing closed would refuse
every login for a reason that is not the client's; per instance, a guesser gets at
most N per window from each instance.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..tenancy.errors import TenancyError
from ..tenancy.events import RequestInfo
from ..tenancy.limiter import (
    InProcessRateLimiter,
    RateLimitDecision,
    RateLimiter,
    RateLimiterUnavailableError,
    RedisRateLimiter,
)
from .audit import AuthEvents

logger = logging.getLogger(__name__)

#: The OpenAPI description of the answer (``responses=`` of the login route).
LOGIN_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many failed logins for this account or from this address"},
}


class LoginLimitSettings(BaseModel):
    """The login limits (``AUTH_LOGIN_*``): part of ``AuthSettings``."""

    #: Failed logins one account may take per window. 5 in 15 minutes leaves room for a
    #: person's typos and lets an online guesser try 480 passwords a day at most.
    auth_login_attempts_per_account: int = Field(default=5, ge=1, le=1000)
    #: Failed logins from one client address per window, whatever the accounts: bounds
    #: password spraying (one guess on many accounts). 50, for the people behind one
    #: office or carrier NAT sharing an address.
    auth_login_attempts_per_address: int = Field(default=50, ge=1, le=100_000)
    auth_login_window_seconds: int = Field(default=900, ge=1, le=86_400)


class LoginLimitedError(TenancyError):
    """Too many failed logins: the same answer for every account, existing or not."""

    status_code = 429
    detail = "Too many failed logins, retry later"


class _Limiter:
    """Redis's limiter, falling back to the in-process one while Redis is unreachable."""

    def __init__(self, redis: Redis | None) -> None:
        self._local = InProcessRateLimiter()
        self._shared: RateLimiter | None = (
            RedisRateLimiter(redis, fail_open=False) if redis is not None else None
        )

    async def hit(self, key: str, limit: int, window: int) -> RateLimitDecision:
        if self._shared is not None:
            try:
                return await self._shared.hit(key, limit, window)
            except RateLimiterUnavailableError as exc:
                logger.warning("login limits held per instance, Redis unreachable: %s", exc)
        return await self._local.hit(key, limit, window)

    async def release(self, key: str, hit_id: str) -> None:
        await self._local.release(key, hit_id)
        if self._shared is not None:
            await self._quietly(self._shared.release(key, hit_id))

    async def reset(self, key: str) -> None:
        await self._local.reset(key)
        if self._shared is not None:
            await self._quietly(self._shared.reset(key))

    @staticmethod
    async def _quietly(call: Any) -> None:
        try:
            await call
        except (RedisError, OSError) as exc:  # the slot expires with its window anyway
            logger.warning("login limit not updated, Redis unreachable: %s", exc)


def address_key(ip: str | None) -> str:
    """The key of a client address: the address, an IPv6 one's /64 network."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return f"login:address:{ip or 'unknown'}"
    if address.version == 6:
        return f"login:address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"login:address:{address}"


class LoginGuard:
    def __init__(
        self, settings: LoginLimitSettings, redis: Redis | None, events: AuthEvents
    ) -> None:
        self._settings = settings
        self._limiter = _Limiter(redis)
        self._events = events

    @asynccontextmanager
    async def attempt(self, email: str, origin: RequestInfo) -> AsyncIterator[None]:
        """Around one login of ``email`` (normalized): 429 first when a window is full;
        then the body's outcome decides (a ``TenancyError`` is a refused login)."""
        window = self._settings.auth_login_window_seconds
        taken: list[tuple[str, str]] = []
        checks = (
            ("address", address_key(origin.ip), self._settings.auth_login_attempts_per_address),
            ("account", f"login:account:{email}", self._settings.auth_login_attempts_per_account),
        )
        for limit, key, attempts in checks:
            decision = await self._limiter.hit(key, attempts, window)
            if not decision.allowed:
                for taken_key, hit_id in taken:
                    await self._limiter.release(taken_key, hit_id)
                details = {"limit": limit, "retry_after": decision.retry_after}
                await self._events.record(
                    "auth.login_limited", origin, email=email, details=details
                )
                raise LoginLimitedError(headers={"Retry-After": str(decision.retry_after)})
            taken.append((key, decision.hit_id))
        try:
            yield
        except TenancyError:
            raise  # a refused login: its slots stay taken
        except Exception:
            for key, hit_id in taken:
                await self._limiter.release(key, hit_id)
            raise
        (address, address_hit), (account, _) = taken
        await self._limiter.release(address, address_hit)
        await self._limiter.reset(account)
