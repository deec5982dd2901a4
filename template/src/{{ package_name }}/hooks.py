"""Your extension points: edit this module, not the vendored ``tenancy/`` package.

``copier update`` never touches this file (it is created once), so what you put
here never conflicts with an update of the template. The service calls these
methods; each default (in ``tenancy/hooks.py``) does nothing. For example::

    class Hooks(TenancyHooks):
        excluded_paths = ("/webhooks/*",)

        async def tenant_provisioned(self, tenant: Tenant, session: AsyncSession) -> None:
            session.add(Note(title="Welcome", body=f"Hello, {tenant.name}!"))
"""

from __future__ import annotations

from .tenancy.hooks import TenancyHooks


class Hooks(TenancyHooks):
    """Override what you need: ``tenant_provisioned``, ``tenant_deleted``,
    ``tenant_purged``, ``excluded_paths``, ``configure_app``."""
