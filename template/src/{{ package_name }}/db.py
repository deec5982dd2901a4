"""Engines: one runtime engine for the service, an owner engine for DDL.

URLs may be written the way libpq and platforms write them
(``postgresql://user@host/db``); they are normalised to the asyncpg driver.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


def async_url(url: str | URL) -> URL:
    """Return ``url`` with the asyncpg driver, whatever driver it named."""
    parsed = make_url(url)
    if parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def runtime_grantee(runtime_url: str | None, owner_url: str | None) -> str | None:
    """The role migrations grant DML to: the runtime role, unless it is the owner."""
    if not runtime_url:
        return None
    runtime = make_url(runtime_url).username
    owner = make_url(owner_url).username if owner_url else None
    return runtime if runtime and runtime != owner else None


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
    pool_timeout: float = 10.0,
) -> AsyncEngine:
    """Create an engine without connecting (SQLAlchemy connects lazily).

    No ``pool_pre_ping``: it costs a round trip per checkout; a dead connection
    is detected on use and replaced by the pool instead.
    """
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
    )
