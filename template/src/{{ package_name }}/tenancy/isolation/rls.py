"""Row-level security: shared tables, a ``tenant_id`` column, PostgreSQL policies.

Three independent locks, any one of which keeps tenants apart:

1. The database policy. Every tenant table has ``ENABLE`` and ``FORCE ROW LEVEL
   SECURITY`` and a policy comparing ``tenant_id`` with the transaction's
   ``app.tenant_id`` setting, for reads (``USING``) and writes (``WITH CHECK``).
   With no setting, or an empty one, the policy matches nothing: fail closed.
2. The setting is transaction-local: ``set_config('app.tenant_id', $1, true)``
   runs at the start of *every* transaction of a tenant session (a Session
   ``after_begin`` hook), so it survives ``commit()`` by being set again, and it
   dies with its transaction, so a pooled connection never carries it to the
   next request.
3. The ORM adds ``tenant_id = :tenant`` to every query on a ``TenantScoped``
   model and stamps it on inserts, so a bug in a policy is not enough either.

``verify()`` refuses to start when the runtime role could bypass all of this
(superuser, ``BYPASSRLS``, table owner) or a table lacks its policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, delete, event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria

from ..models import Tenant
from ..orm import TenantBase, TenantScoped

#: The PostgreSQL setting the policies read.
TENANT_SETTING = "app.tenant_id"
#: Where a tenant session keeps its tenant id (``Session.info``).
_TENANT_KEY = "tenant_id"


class TenantSession(Session):
    """A Session that scopes each of its transactions to ``info['tenant_id']``."""


@event.listens_for(TenantSession, "after_begin")
def _set_tenant_for_transaction(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    tenant_id = session.info.get(_TENANT_KEY)
    if tenant_id is not None:
        connection.execute(select(func.set_config(TENANT_SETTING, str(tenant_id), True)))


@event.listens_for(TenantSession, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get(_TENANT_KEY)
    if tenant_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the parent query was filtered already
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    tenant_id = session.info.get(_TENANT_KEY)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise PermissionError("refusing to write a row for another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and obj.tenant_id != tenant_id:
            raise PermissionError("refusing to move a row to another tenant")


def tenant_tables() -> list[Table]:
    """The tables that hold tenant rows, parents before children."""
    return [table for table in TenantBase.metadata.sorted_tables if "tenant_id" in table.c]


class RowLevelSecurity:
    """The RLS provider. ``engine`` connects as the runtime role."""

    def __init__(self, engine: AsyncEngine, also_protected: Iterable[Table] = ()) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(
            engine, sync_session_class=TenantSession, expire_on_commit=False
        )
        #: Shared tables under the same policy that a purge keeps (the audit log).
        self._also_protected = list(also_protected)

    @asynccontextmanager
    async def session(self, tenant: Tenant) -> AsyncIterator[AsyncSession]:
        async with self._sessions(info={_TENANT_KEY: tenant.id}) as session:
            yield session

    async def provision(self, tenant: Tenant) -> None:
        """Nothing to create: a tenant's rows live in the shared tables."""

    async def deprovision(self, tenant: Tenant) -> None:
        """Delete the tenant's rows, children first, in one transaction.

        The deletes run inside the tenant's own scope, so the policy itself stops
        them from touching any other tenant's rows.
        """
        async with self.session(tenant) as session, session.begin():
            for table in reversed(tenant_tables()):
                await session.execute(delete(table).where(table.c.tenant_id == tenant.id))

    async def verify(self) -> None:
        names = [table.name for table in [*tenant_tables(), *self._also_protected]]
        async with self._engine.connect() as conn:
            role = (
                await conn.execute(
                    text(
                        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles"
                        " WHERE rolname = current_user"
                    )
                )
            ).one()
            if role.rolsuper or role.rolbypassrls:
                raise RuntimeError(
                    f"database role {role.rolname!r} bypasses row-level security "
                    "(superuser or BYPASSRLS): connect DATABASE_URL as a plain role and "
                    "run migrations through MIGRATION_DATABASE_URL"
                )
            rows = (
                await conn.execute(
                    text(
                        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
                        " pg_get_userbyid(c.relowner) = current_user AS owned"
                        " FROM pg_class c WHERE c.relkind = 'r'"
                        " AND c.relnamespace = 'public'::regnamespace"
                        " AND c.relname = ANY(:names)"
                    ),
                    {"names": names},
                )
            ).all()
        found = {row.relname: row for row in rows}
        missing = sorted(set(names) - set(found))
        if missing:
            raise RuntimeError(f"tables {missing} do not exist: run the `migrate` command")
        for row in found.values():
            if row.owned:
                raise RuntimeError(
                    f"the runtime role owns table {row.relname!r}: use a role that owns nothing"
                )
            if not (row.relrowsecurity and row.relforcerowsecurity):
                raise RuntimeError(f"table {row.relname!r} lacks FORCE ROW LEVEL SECURITY")


_POLICY_PREDICATE = (
    f"tenant_id = (SELECT NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid)"
)


def enable_rls_statements(table: str) -> list[str]:
    """The DDL that puts ``table`` under the tenant policy (for migrations).

    ``NULLIF(..., '')`` makes a missing *and* an empty setting match no row, and
    ``(SELECT ...)`` lets PostgreSQL evaluate the setting once per query instead
    of once per row.
    """
    if not table.replace("_", "").isalnum() or not table.isascii():
        raise ValueError(f"unexpected table name {table!r}")
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY tenant_isolation ON "{table}" '
        f"USING ({_POLICY_PREDICATE}) WITH CHECK ({_POLICY_PREDICATE})",
    ]


def disable_rls_statements(table: str) -> list[str]:
    """The inverse of ``enable_rls_statements`` (for downgrades)."""
    return [
        f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]
