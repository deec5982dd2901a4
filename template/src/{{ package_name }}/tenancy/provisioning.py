"""Tenant lifecycle: create, suspend, activate, delete (soft) and purge.

Each function takes the parts it needs (a store and an isolation provider)
instead of reaching for globals, so the admin API, the CLI and tests call the
same code. Status changes follow one table of allowed moves.
"""

from __future__ import annotations

import logging
import uuid

from .errors import TenancyError
from .isolation.base import IsolationProvider
from .models import Tenant, TenantCreate, TenantStatus
from .stores.base import TenantStore

logger = logging.getLogger(__name__)

#: target status -> statuses it may be reached from
_ALLOWED_MOVES: dict[TenantStatus, set[TenantStatus]] = {
    TenantStatus.ACTIVE: {TenantStatus.ACTIVE, TenantStatus.SUSPENDED},
    TenantStatus.SUSPENDED: {TenantStatus.ACTIVE, TenantStatus.SUSPENDED},
    TenantStatus.DELETED: {TenantStatus.ACTIVE, TenantStatus.SUSPENDED, TenantStatus.DELETED},
}


class InvalidTransitionError(TenancyError):
    status_code = 409
    detail = "This status change is not allowed"


async def create_tenant(
    data: TenantCreate, *, store: TenantStore, isolation: IsolationProvider
) -> Tenant:
    """Record the tenant, build its namespace, then open it for requests.

    The record is created as ``provisioning`` (requests for it get 404), so no
    request can reach a half-built namespace, and it names the namespace before
    the namespace exists, so a crash in between leaves a record of it. If
    provisioning fails, the provider removes what it created itself (never an
    object that existed before: see ``IsolationProvider.provision``) and the
    record is removed again.
    """
    tenant_id = uuid.uuid4()
    namespace = isolation.namespace_for(tenant_id, data)
    tenant = await store.create(
        data, TenantStatus.PROVISIONING, tenant_id=tenant_id, namespace=namespace
    )
    try:
        await isolation.provision(tenant)
    except BaseException:
        logger.exception("provisioning tenant %s failed; rolling back", tenant.identifier)
        await store.delete(tenant.id)
        raise
    active = await store.set_status(tenant.id, TenantStatus.ACTIVE)
    assert active is not None
    return active


async def change_status(
    tenant_id: uuid.UUID, status: TenantStatus, *, store: TenantStore
) -> Tenant | None:
    """Suspend, activate or soft-delete; ``None`` if there is no such tenant.

    The move is checked against the status read and applied only if the tenant
    is still at the version read: a concurrent change (a deletion racing an
    activation) makes the later one fail with 409 instead of undoing the other.
    """
    tenant = await store.get(tenant_id)
    if tenant is None:
        return None
    if tenant.status not in _ALLOWED_MOVES[status]:
        raise InvalidTransitionError(f"A {tenant.status.value} tenant cannot become {status.value}")
    if tenant.status is status:
        return tenant
    return await store.set_status(tenant_id, status, expected_version=tenant.version)


async def purge_tenant(
    tenant_id: uuid.UUID, *, store: TenantStore, isolation: IsolationProvider
) -> Tenant | None:
    """Drop the tenant's data and namespace, then its record. Irreversible.

    Requests are stopped first (the status becomes ``deleted``). Rows a stale
    instance might still write between the drop and the record's deletion cannot
    survive it: tenant tables reference the record (row-level security), or their
    namespace is gone.
    """
    tenant = await store.get(tenant_id)
    if tenant is None:
        return None
    await store.set_status(tenant_id, TenantStatus.DELETED)  # stop requests first
    await isolation.deprovision(tenant)
    await store.delete(tenant_id)
    return tenant
