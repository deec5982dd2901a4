"""The one interface every isolation provider implements.

A provider answers four questions for a tenant: what namespace it gets (named
once, recorded on the tenant); give me a database session that can only reach
this tenant's data; create this tenant's namespace; remove it.

Each strategy's module also holds ``build_isolation(...)``, its settings
(``IsolationSettings``, a part of the service's ``Settings``) and
``MIGRATION_LAYOUT`` (where ``migrate`` finds its namespaces): the service imports
those names from the module its answers chose.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ..tenant import Tenant, TenantCreate, TenantUpdate


class IsolationProvider(Protocol):
    def namespace_for(self, tenant_id: uuid.UUID, data: TenantCreate) -> str | None:
        """The schema or database a new tenant gets, or ``None`` for the shared tables.

        Called once, before the tenant is recorded; the name is stored on the tenant
        and every later call reads ``tenant.namespace``.
        """
        ...

    def check_update(self, tenant: Tenant, changes: TenantUpdate) -> None:
        """Refuse (raise a ``TenancyError``) an update this strategy cannot follow."""
        ...

    def session(self, tenant: Tenant) -> AbstractAsyncContextManager[AsyncSession]:
        """A session scoped to ``tenant`` for every transaction it runs, commits included."""
        ...

    async def provision(self, tenant: Tenant) -> None:
        """Create what ``tenant`` needs before its first request.

        Never adopts what exists already: if the namespace's name is taken, raises
        ``NamespaceTakenError`` and creates nothing. If it fails part-way, it removes
        what it created itself, and nothing else, before raising.
        """
        ...

    async def deprovision(self, tenant: Tenant) -> None:
        """Remove ``tenant``'s data and namespace, and nothing of any other tenant."""
        ...

    async def verify(self) -> None:
        """Refuse to start (raise ``RuntimeError``) if isolation cannot be guaranteed."""
        ...

    async def close(self) -> None:
        """Release what the provider holds of its own (at shutdown)."""
        ...
