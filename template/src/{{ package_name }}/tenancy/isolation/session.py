"""Tenant sessions: every transaction starts by scoping itself to one tenant.

Scoping happens in a Session ``after_begin`` hook, so it runs for *every*
transaction of the session - the first one and each one after a ``commit()`` -
and it uses ``set_config(..., true)``: the setting is transaction-local and dies
with its transaction. A pooled connection therefore never carries a tenant from
one request to the next, and no engine-wide listener can leak one tenant's
setting into a concurrent request's connection.

A session without a scope sets nothing: with row-level security that matches no
rows (fail closed); with schema isolation the default ``search_path`` holds no
tenant tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

#: The PostgreSQL setting row-level-security policies read.
TENANT_SETTING = "app.tenant_id"

_SCOPE_KEY = "tenant_scope"


@dataclass(frozen=True, slots=True)
class TransactionScope:
    """What each transaction of a session is scoped to."""

    tenant_id: uuid.UUID
    #: A quoted schema name for schema isolation; ``None`` keeps the default path.
    search_path: str | None = None


class TenantSession(Session):
    """A Session whose transactions are scoped by ``info['tenant_scope']``."""


def scope_of(session: Session) -> TransactionScope | None:
    scope: TransactionScope | None = session.info.get(_SCOPE_KEY)
    return scope


@event.listens_for(TenantSession, "after_begin")
def _scope_transaction(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    scope = scope_of(session)
    if scope is None:
        return
    settings = [func.set_config(TENANT_SETTING, str(scope.tenant_id), True)]
    if scope.search_path is not None:
        settings.append(func.set_config("search_path", scope.search_path, True))
    connection.execute(select(*settings))  # one round trip, bound parameters


class TenantSessions:
    """Makes sessions scoped to a tenant on one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._factory = async_sessionmaker(
            engine, sync_session_class=TenantSession, expire_on_commit=False
        )

    def __call__(self, scope: TransactionScope) -> AsyncSession:
        return self._factory(info={_SCOPE_KEY: scope})
