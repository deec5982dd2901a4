"""Engines: one runtime engine for the service, an owner engine for DDL.

URLs may be written the way libpq and platforms write them
(``postgresql://user@host/db``); they are normalised to the asyncpg driver.
Every engine connects with ``PreludeConnection``, which lets tenant sessions
scope a transaction without a round trip of its own (see
``tenancy/isolation/session.py``).
"""

from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]
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


class PreludeConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that can send one statement in the same message as ``BEGIN``.

    SQLAlchemy starts a transaction with a simple-query ``BEGIN``; a statement
    set with ``send_with_next_begin`` travels in that message, so scoping a
    transaction costs the database no extra round trip (~15% of a small
    request's time). The statement is sent once, with the next top-level
    ``BEGIN`` only, and never outlives the transaction it scopes: the tenant
    session clears it when the transaction ends, and the pool on check-in.
    """

    _begin_prelude: str | None = None

    def send_with_next_begin(self, statement: str) -> None:
        self._begin_prelude = statement

    def clear_begin_prelude(self) -> None:
        self._begin_prelude = None

    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's own signature
    ) -> str:
        prelude = self._begin_prelude
        if prelude is not None and not args and query.startswith("BEGIN"):
            self._begin_prelude = None
            query = f"{query.rstrip().rstrip(';')}; {prelude}"
        result: str = await super().execute(query, *args, timeout=timeout)
        return result


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's error code of a database error (``"42P06"``), if it has one."""
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def quote_identifier(name: str) -> str:
    """An always-quoted SQL identifier, for DDL (names cannot be bind parameters)."""
    return '"' + name.replace('"', '""') + '"'


def as_prelude_connection(driver: object) -> PreludeConnection | None:
    """``driver`` if it is a ``PreludeConnection``, else ``None``.

    Not ``isinstance``: asyncpg's ``Connection`` metaclass answers ``isinstance``
    with True for *any* asyncpg connection, whatever subclass is asked about.
    """
    return driver if issubclass(type(driver), PreludeConnection) else None  # type: ignore[return-value]


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
        connect_args={"connection_class": PreludeConnection},
    )
