"""The one interface every tenant store implements.

A store keeps tenant *records* (identifier, status, tier, metadata). It does not
know about isolation namespaces: creating a tenant's schema, database or rows is
the isolation provider's job, and ``provisioning.py`` calls both in order.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from ..models import Tenant, TenantCreate, TenantStatus, TenantUpdate


class TenantStore(Protocol):
    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        """The tenant with this opaque id, in any status."""
        ...

    async def get_by_identifier(self, identifier: str) -> Tenant | None:
        """The tenant with this identifier, in any status."""
        ...

    async def create(self, data: TenantCreate, status: TenantStatus) -> Tenant:
        """Insert a tenant; raises ``TenantConflictError`` if the identifier is taken."""
        ...

    async def update(self, tenant_id: uuid.UUID, changes: TenantUpdate) -> Tenant | None:
        """Apply the fields set in ``changes``; ``None`` if there is no such tenant."""
        ...

    async def set_status(self, tenant_id: uuid.UUID, status: TenantStatus) -> Tenant | None: ...

    async def list(
        self, *, limit: int, offset: int, status: TenantStatus | None = None
    ) -> list[Tenant]:
        """Tenants ordered by creation time (oldest first), one page at a time."""
        ...

    async def count(self, *, status: TenantStatus | None = None) -> int: ...

    async def delete(self, tenant_id: uuid.UUID) -> bool:
        """Remove the record for good (purge); ``False`` if there was none."""
        ...
