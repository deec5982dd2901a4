"""Telling "the tenant was purged under this request" apart from a bug.

A purge on one instance removes the tenant's record and its data at once. Another
instance may still hold the tenant in its cache (without Redis, until the entry
expires), so it can accept a request for it. Whatever that request writes fails in
the database, by design: the row's foreign key to the tenant record (row-level
security), or its schema or database, is gone. That is not a server error but a
tenant that no longer exists, so it is answered like one (404), and this
instance forgets the tenant at once.

Only these errors are considered, and only if the tenant, looked up again past the
cache, really is gone or deleted: any other failure stays an error.
"""

from __future__ import annotations

from .cache import CachedTenantStore
from .db import sqlstate
from .tenant import Tenant, TenantStatus

#: What PostgreSQL says when a tenant's record, schema or database is gone.
GONE_SQLSTATES = frozenset(
    {
        "23503",  # foreign_key_violation: the row's tenant record was deleted
        "42P01",  # undefined_table: the tenant's schema was dropped
        "3F000",  # invalid_schema_name: the same, for DDL
        "3D000",  # invalid_catalog_name: the tenant's database was dropped
    }
)


async def tenant_vanished(error: Exception, tenant: Tenant, store: CachedTenantStore) -> bool:
    """True if ``error`` happened because ``tenant`` was purged (and forget it if so)."""
    if sqlstate(error) not in GONE_SQLSTATES:
        return False
    current = await store.get(tenant.id)  # not the cache: the store itself
    if current is not None and current.status is not TenantStatus.DELETED:
        return False
    store.cache.invalidate(tenant.identifier)
    return True
