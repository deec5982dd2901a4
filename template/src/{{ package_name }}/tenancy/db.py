"""Engines: one runtime engine for the service, an owner engine for DDL.

URLs may be written the way libpq and platforms write them
(``postgresql://user@host/db``); they are normalised to the asyncpg driver.
Every engine connects with ``PreludeConnection``, which lets tenant sessions
scope a transaction without a round trip of its own (see
``tenancy/isolation/session.py``).

An unreachable or restarting database is an outage, not a bug: ``is_unavailable``
says which errors are (the service answers them with 503 and ``Retry-After``),
a failed connect is an ``OperationalError`` like any DB-API driver's, and a pooled
connection the server has closed is replaced before use instead of failing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

_ASYNC_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}
#: SQLAlchemy's own URL option for its prepared-statement cache; ``0`` also marks a URL
#: as going through a transaction-mode pooler (``through_pooler``).
_STATEMENT_CACHE_OPTION = "prepared_statement_cache_size"


class Pooler(StrEnum):
    """What sits between the service and PostgreSQL (``DATABASE_POOLER``)."""

    #: PostgreSQL itself, or a pooler in session mode: every cache is safe.
    NONE = "none"
    #: PgBouncer in transaction mode: a server connection serves another client after
    #: each transaction, so nothing may live on it longer than one transaction.
    PGBOUNCER = "pgbouncer"


def async_url(url: str | URL) -> URL:
    """Return ``url`` with the asyncpg driver, whatever driver it named."""
    parsed = make_url(url)
    if parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def through_pooler(url: str, pooler: Pooler) -> str:
    """``url`` as engines must use it behind ``pooler``: unchanged without one.

    Behind PgBouncer in transaction mode the URL carries SQLAlchemy's own option
    ``prepared_statement_cache_size=0``; every URL derived from it (a tenant's
    database, a worker's engine) keeps it, and ``create_engine`` reads it to turn
    off asyncpg's statement cache too.
    """
    if pooler is Pooler.NONE:
        return url
    parsed = async_url(url).update_query_dict({_STATEMENT_CACHE_OPTION: "0"})
    return parsed.render_as_string(hide_password=False)


def is_pooled(url: str | URL) -> bool:
    """Whether ``url`` goes through a transaction-mode pooler (``through_pooler``)."""
    return make_url(url).query.get(_STATEMENT_CACHE_OPTION) == "0"


@dataclass(frozen=True, slots=True)
class Connections:
    """The service's database, as the parts built on it need it."""

    #: The runtime role's engine: every request's session comes from it.
    engine: AsyncEngine
    runtime_url: str
    #: The owner's URL: migrations and provisioning DDL.
    owner_url: str
    #: How long a request waits for a connection before it gets 503.
    pool_timeout: float


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
    transaction costs the database no extra round trip. The statement is sent
    once, with the next top-level ``BEGIN`` only, and never outlives the
    transaction it scopes: the tenant
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
        if prelude is None or args or not query.startswith("BEGIN"):
            result: str = await super().execute(query, *args, timeout=timeout)
            return result
        self._begin_prelude = None
        try:
            scoped: str = await super().execute(
                f"{query.rstrip().rstrip(';')}; {prelude}", timeout=timeout
            )
        except Exception:  # not a cancellation: no query can run while the cancelled one is
            # The BEGIN ran and the prelude failed (a fenced tenant: ``hybrid.placement_guard``).
            # The caller sees a failed BEGIN: no transaction may stay open behind it, on the
            # server or in asyncpg, which otherwise takes the next BEGIN for a nested one.
            if not self.is_closed() and self.is_in_transaction():
                await super().execute("ROLLBACK")
            self._top_xact = None
            raise
        return scoped


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's error code of a database error (``"42P06"``), if it has one."""
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def quote_identifier(name: str) -> str:
    """An always-quoted SQL identifier, for DDL (names cannot be bind parameters)."""
    return '"' + name.replace('"', '""') + '"'


async def execute_script(conn: AsyncConnection, script: str) -> None:
    """Run ``script`` with PostgreSQL's simple protocol: one round trip, where SQLAlchemy's
    asyncpg cursor prepares every statement first (two). For long statements run once
    (a ``DO`` block), on a connection the caller holds; no parameters.

    Errors come as SQLAlchemy's: ``DBAPIError`` with the driver's error (and SQLSTATE) as
    ``orig``; a lost connection as ``OperationalError``, the connection invalidated.
    """
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # a connection checked out of the pool has its driver's
    try:
        await driver.execute(script)
    except asyncpg.PostgresError as error:  # the server refused it: its SQLSTATE says why
        raise DBAPIError(script, None, error) from error
    except (OSError, asyncpg.InterfaceError) as error:  # the connection is gone
        await conn.invalidate()
        raise OperationalError(script, None, error, connection_invalidated=True) from error


def quote_literal(value: str) -> str:
    """A SQL string literal, for SQL that takes no bind parameters (a ``DO`` block, the
    statement sent with ``BEGIN``). Values here are UUIDs, revision ids and validated
    names: anything that could change a literal's meaning is refused, not escaped."""
    if "\\" in value or "\x00" in value:
        raise ValueError(f"refusing {value!r} as a SQL literal")
    return "'" + value.replace("'", "''") + "'"


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
    hide_parameters: bool = True,
) -> AsyncEngine:
    """Create an engine without connecting (SQLAlchemy connects lazily).

    ``hide_parameters`` keeps bound values (tenant content) out of error messages,
    and so out of logged tracebacks; ``create_app`` shows them in development only.

    No ``pool_pre_ping``: it costs a round trip per checkout. A connection that
    the server closed while it sat in the pool (a restart, ``pg_terminate_backend``)
    is noticed without one: asyncpg sees the socket close, and the checkout hook
    below swaps the connection for a fresh one before any statement is sent.

    A URL marked by ``through_pooler`` gets engines that keep no statement on a
    server connection past a transaction: SQLAlchemy's statement cache off (the URL
    option) and asyncpg's (``statement_cache_size=0``), which also makes every
    statement unnamed: it is parsed again with each execution, in the same
    transaction, and nothing named is left on the server connection. (Unique names,
    ``prepared_statement_name_func``, would avoid clashes too, but each named
    statement then stays prepared on the server connection it ran on.)
    """
    connect_args: dict[str, Any] = {"connection_class": PreludeConnection}
    if is_pooled(url):
        connect_args["statement_cache_size"] = 0
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        hide_parameters=hide_parameters,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine.pool, "checkout", _replace_if_closed)
    return engine


def _connect(
    dialect: Dialect, record: ConnectionPoolEntry, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """Connect; a network failure becomes the DB-API ``OperationalError`` (asyncpg raises
    ``OSError`` itself), which SQLAlchemy wraps like every other database error."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as exc:  # refused, no such socket or host, timed out
        raise dialect.loaded_dbapi.OperationalError(f"cannot connect: {exc!r}") from exc


def _replace_if_closed(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """Refuse a pooled connection whose socket is closed: the pool reconnects (no round trip)."""
    driver = proxy.driver_connection
    if driver is not None and driver.is_closed():
        raise DisconnectionError("connection closed by the server while idle in the pool")


#: SQLSTATE classes meaning "the database cannot serve now": connection exceptions
#: (08; not 08P01, a protocol violation), insufficient resources (53: too many
#: connections, out of memory, disk full), operator intervention (57: shutdown,
#: restart, statement timeout) and system errors (58).
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is a database outage (answered 503) rather than a bug (500).

    Constraint violations and bad data (``IntegrityError``, ``DataError``) are not:
    retrying them cannot help.
    """
    if isinstance(exc, PoolTimeoutError | OperationalError):  # pool exhausted / cannot connect
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return sqlstate[:2] in _UNAVAILABLE_CLASSES and sqlstate != "08P01"


def describe(exc: BaseException) -> str:
    """A one-line cause for logs: the driver's message, without the SQL or its parameters."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(cause).__name__}: {cause}"
