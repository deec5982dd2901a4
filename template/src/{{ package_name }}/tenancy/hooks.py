"""Extension points: what the service does at moments of a tenant's life, yours to fill.

Subclass ``TenancyHooks`` in the service's own ``hooks.py`` (a module ``copier
update`` never touches) instead of editing these vendored modules: seed a new
tenant's data, clean up after a purge, serve extra paths without a tenant, add
exception handlers or routers. Every method has a default that does nothing,
except ``seed_tenant``: it has no meaning until you write it.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from .tenant import Tenant


class TenancyHooks:
    #: Paths served without a tenant, beside ``TENANCY_EXCLUDED_PATHS`` (same syntax:
    #: exact paths, or "/prefix/*" for a whole segment).
    excluded_paths: tuple[str, ...] = ()

    async def tenant_provisioned(self, tenant: Tenant, session: AsyncSession) -> None:
        """A new tenant's namespace exists; add its first rows with ``session``.

        Runs before the tenant serves a request, in its own scope; the rows are
        committed when this returns. If it raises, the tenant is not created.
        """

    async def seed_tenant(self, tenant: Tenant, session: AsyncSession) -> None:
        """Add example or reference rows to a tenant, on demand (``tenants seed``).

        Runs in the tenant's scope; the rows are committed when this returns. Unlike
        ``tenant_provisioned`` it may run on a tenant that has data: make it idempotent.
        """
        raise NotImplementedError("override Hooks.seed_tenant in hooks.py")

    async def tenant_deleted(self, tenant: Tenant) -> None:
        """The tenant was soft-deleted (its requests get 404 from now on)."""

    async def tenant_purged(self, tenant: Tenant) -> None:
        """The tenant's data and record are gone: clean up what you keep elsewhere."""

    def configure_app(self, app: FastAPI) -> None:
        """Add exception handlers, routers or middleware to the application."""
