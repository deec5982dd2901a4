"""The one interface every tenant store implements.

A store keeps tenant *records* (identifier, status, tier, metadata, and the name
of the tenant's namespace, if it has one). It does not create namespaces:
building a tenant's schema, database or rows is the isolation provider's job,
and ``provisioning.py`` calls both in order.

Every change bumps the record's ``version``, and ``update`` can be made
conditional on the version the caller read: a check made on what was read (the
hybrid strategy check, a client's ``If-Match``) then holds for what is written.

Each store's module also holds ``build_store(settings, db, redis)`` and its
settings (``StoreSettings``, a part of the service's ``Settings``): the service
imports those names from the module its answers chose.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from ..tenant import Tenant, TenantCreate, TenantStatus, TenantUpdate


class TenantStore(Protocol):
    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        """The tenant with this opaque id, in any status."""
        ...

    async def get_by_identifier(self, identifier: str) -> Tenant | None:
        """The tenant with this identifier, in any status."""
        ...

    async def create(
        self,
        data: TenantCreate,
        status: TenantStatus,
        *,
        tenant_id: uuid.UUID,
        namespace: str | None,
    ) -> Tenant:
        """Insert a tenant; raises ``TenantConflictError`` if the identifier (or the
        namespace) is taken."""
        ...

    async def update(
        self, tenant_id: uuid.UUID, changes: TenantUpdate, *, expected_version: int | None = None
    ) -> Tenant | None:
        """Apply the fields set in ``changes``; ``None`` if there is no such tenant.

        With ``expected_version``, only if the tenant is still at that version:
        otherwise raises ``TenantChangedError`` and changes nothing.
        """
        ...

    async def set_status(
        self, tenant_id: uuid.UUID, status: TenantStatus, *, expected_version: int | None = None
    ) -> Tenant | None:
        """Change the status (``expected_version`` as for ``update``)."""
        ...

    async def list(
        self, *, limit: int, offset: int, status: TenantStatus | None = None
    ) -> list[Tenant]:
        """Tenants ordered by creation time (oldest first), one page at a time."""
        ...

    async def count(self, *, status: TenantStatus | None = None) -> int: ...

    async def delete(self, tenant_id: uuid.UUID) -> bool:
        """Remove the record for good (purge); ``False`` if there was none."""
        ...
