"""Tenant sessions: every transaction starts by scoping itself to one tenant.

Scoping happens in a Session ``after_begin`` hook, so it runs for *every*
transaction of the session - the first one and each one after a ``commit()`` -
and it uses ``set_config(..., true)``: the setting is transaction-local and dies
with its transaction. A pooled connection therefore never carries a tenant from
one request to the next, and no engine-wide listener can leak one tenant's
setting into a concurrent request's connection.

The ``set_config`` travels in the same message as the transaction's ``BEGIN``
(``db.PreludeConnection``): a tenant transaction costs the round trips of a
plain one. Until that ``BEGIN`` is sent the statement waits on the connection,
which this session holds; it is dropped when the session's transaction ends
and again when any connection goes back to the pool, so it can never scope a
transaction of anyone else. Connections of other drivers get the statement as
a query of its own.

A session without a scope sets nothing: with row-level security that matches no
rows (fail closed); with schema isolation the default ``search_path`` holds no
tenant tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import Pool

from ..db import PreludeConnection, as_prelude_connection, quote_literal

#: The PostgreSQL setting row-level-security policies read.
TENANT_SETTING = "app.tenant_id"

_SCOPE_KEY = "tenant_scope"
_WAITING_KEY = "tenant_scope_waiting"  # connections holding a scope for their next BEGIN


@dataclass(frozen=True, slots=True)
class TransactionScope:
    """What each transaction of a session is scoped to."""

    tenant_id: uuid.UUID
    #: A quoted schema name for schema isolation; ``None`` keeps the default path.
    search_path: str | None = None
    #: An SQL expression evaluated with the scope, in the same statement (hybrid's move
    #: fence: ``hybrid.placement_guard``); it raises to refuse the transaction.
    guard: str | None = None


class ScopedSession(Session):
    """A Session whose transactions are scoped by ``info['tenant_scope']``."""


def scope_of(session: Session) -> TransactionScope | None:
    scope: TransactionScope | None = session.info.get(_SCOPE_KEY)
    return scope


def _scope_statement(scope: TransactionScope) -> str:
    settings = [f"set_config('{TENANT_SETTING}', {quote_literal(str(scope.tenant_id))}, true)"]
    if scope.search_path is not None:
        settings.append(f"set_config('search_path', {quote_literal(scope.search_path)}, true)")
    if scope.guard is not None:
        settings.append(scope.guard)
    return "SELECT " + ", ".join(settings)


def _driver(connection: Connection) -> PreludeConnection | None:
    return as_prelude_connection(connection.connection.driver_connection)


@event.listens_for(ScopedSession, "after_begin")
def _scope_transaction(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    scope = scope_of(session)
    if scope is None:
        return
    driver = _driver(connection)
    if driver is not None and not driver.is_in_transaction():
        driver.send_with_next_begin(_scope_statement(scope))
        session.info.setdefault(_WAITING_KEY, []).append(driver)
        return
    # Another driver, or a transaction already open: the same statement, a round trip of its own.
    connection.execute(text(_scope_statement(scope)))


@event.listens_for(ScopedSession, "after_transaction_end")
def _forget_scope(session: Session, transaction: SessionTransaction) -> None:
    """Drop a scope that no statement carried (a transaction that ran no SQL)."""
    if transaction.parent is not None:
        return
    for driver in session.info.pop(_WAITING_KEY, ()):
        driver.clear_begin_prelude()


@event.listens_for(Pool, "checkin")
def _forget_scope_on_checkin(dbapi_connection: Any, record: Any) -> None:
    driver = as_prelude_connection(getattr(dbapi_connection, "driver_connection", None))
    if driver is not None:
        driver.clear_begin_prelude()


class TenantSessions:
    """Makes sessions scoped to a tenant on one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._factory = async_sessionmaker(
            engine, sync_session_class=ScopedSession, expire_on_commit=False
        )

    def __call__(self, scope: TransactionScope) -> AsyncSession:
        return self._factory(info={_SCOPE_KEY: scope})

    def bound_to(self, connection: AsyncConnection, scope: TransactionScope) -> AsyncSession:
        """A scoped session on a connection you hold (a test's outer transaction, a script)."""
        return self._factory(bind=connection, info={_SCOPE_KEY: scope})
