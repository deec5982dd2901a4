"""Tenant lifecycle: create, update, suspend, activate, delete (soft) and purge.

The admin API and the CLI both change tenants through these functions, with the
application's parts (``wiring.TenancyParts``): the same store (so caches on every
instance hear of it), the same isolation provider, events and hooks. Each change
is recorded as an event, after it is made.

Every check here holds for the write it guards: a status change or an update
applies only to the version of the tenant that was checked (``expected_version``),
so a concurrent change makes the later one fail with 409 instead of undoing the
other. Status changes follow one table of allowed moves.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from .errors import TenancyError, TenantChangedError
from .events import RequestInfo
from .merge_patch import merge_patch
from .tenant import Tenant, TenantConfig, TenantCreate, TenantStatus, TenantUpdate
from .wiring import TenancyParts

logger = logging.getLogger(__name__)

#: target status -> statuses it may be reached from
_ALLOWED_MOVES: dict[TenantStatus, set[TenantStatus]] = {
    TenantStatus.ACTIVE: {TenantStatus.ACTIVE, TenantStatus.SUSPENDED},
    TenantStatus.SUSPENDED: {TenantStatus.ACTIVE, TenantStatus.SUSPENDED},
    TenantStatus.DELETED: {TenantStatus.ACTIVE, TenantStatus.SUSPENDED, TenantStatus.DELETED},
}
#: The event each status change is recorded as.
_ACTIONS = {
    TenantStatus.ACTIVE: "tenant.activate",
    TenantStatus.SUSPENDED: "tenant.suspend",
    TenantStatus.DELETED: "tenant.delete",
}


#: How often a configuration patch is applied again onto a tenant changed meanwhile.
_PATCH_ATTEMPTS = 3


class InvalidTransitionError(TenancyError):
    status_code = 409
    detail = "This status change is not allowed"


class StaleVersionError(TenancyError):
    """The client's ``If-Match`` names a version the tenant has moved past."""

    status_code = 412
    detail = "The tenant changed since the version you sent in If-Match: read it again"


async def create_tenant(data: TenantCreate, parts: TenancyParts, info: RequestInfo) -> Tenant:
    """Record the tenant, build its namespace, seed it, then open it for requests.

    The record is created as ``provisioning`` (requests for it get 404), so no
    request can reach a half-built namespace, and it names the namespace before
    the namespace exists, so a crash in between leaves a record of it. If
    provisioning fails, the provider removes what it created itself (never an
    object that existed before: see ``IsolationProvider.provision``); if the
    ``tenant_provisioned`` hook fails, the namespace is removed again; either way
    the record goes too.
    """
    tenant_id = uuid.uuid4()
    namespace = parts.isolation.namespace_for(tenant_id, data)
    tenant = await parts.store.create(
        data, TenantStatus.PROVISIONING, tenant_id=tenant_id, namespace=namespace
    )
    try:
        await parts.isolation.provision(tenant)
    except BaseException:
        logger.exception("provisioning tenant %s failed; rolling back", tenant.identifier)
        await parts.store.delete(tenant.id)
        raise
    try:
        async with parts.isolation.session(tenant) as session:
            await parts.hooks.tenant_provisioned(tenant, session)
            await session.commit()
    except BaseException:
        logger.exception("seeding tenant %s failed; rolling back", tenant.identifier)
        await parts.isolation.deprovision(tenant)
        await parts.store.delete(tenant.id)
        raise
    active = await parts.store.set_status(tenant.id, TenantStatus.ACTIVE)
    assert active is not None
    await parts.events.record_event(active.id, "tenant.create", info, {"tier": active.tier})
    return active


async def update_tenant(
    tenant_id: uuid.UUID,
    changes: TenantUpdate,
    parts: TenancyParts,
    info: RequestInfo,
    *,
    expected_version: int | None = None,
) -> Tenant | None:
    """Apply ``changes``, if the isolation provider allows them for this tenant.

    ``None`` if there is no such tenant. The check and the write see the same version;
    with ``expected_version`` (a client's ``If-Match``) that must be the version the
    client read, or ``StaleVersionError`` (412) and nothing changes.
    """
    current = await parts.store.get(tenant_id)
    if current is None:
        return None
    tenant = await _write(current, changes, parts, expected_version)
    if tenant is not None:
        fields = sorted(changes.model_dump(exclude_unset=True, exclude_none=True))
        await parts.events.record_event(tenant.id, "tenant.update", info, {"fields": fields})
    return tenant


async def patch_config(
    tenant_id: uuid.UUID,
    patch: dict[str, Any],
    parts: TenancyParts,
    info: RequestInfo,
    *,
    expected_version: int | None = None,
) -> Tenant | None:
    """Apply a JSON merge patch (``merge_patch.py``) to the tenant's configuration.

    The patched configuration is validated whole (``pydantic.ValidationError`` if it is
    not a valid ``TenantConfig``) and written only onto the version it was made from.
    A patch names just the keys it changes, so when the tenant changed meanwhile it is
    applied again onto the newer version; unless the client sent ``If-Match``
    (``expected_version``): then it fails with ``StaleVersionError`` (412).
    """
    attempts = 0
    while True:
        attempts += 1
        current = await parts.store.get(tenant_id)
        if current is None:
            return None
        patched = merge_patch(current.config.model_dump(mode="json"), patch)
        changes = TenantUpdate(config=TenantConfig.model_validate(patched))
        try:
            tenant = await _write(current, changes, parts, expected_version)
        except TenantChangedError:
            if attempts == _PATCH_ATTEMPTS:
                raise
            continue
        if tenant is not None:
            details = {"keys": sorted(patch)}
            await parts.events.record_event(tenant.id, "tenant.config.patch", info, details)
        return tenant


async def _write(
    current: Tenant, changes: TenantUpdate, parts: TenancyParts, expected_version: int | None
) -> Tenant | None:
    """``changes`` written onto ``current``'s version, if the isolation provider allows them.

    A tenant changed meanwhile raises ``TenantChangedError``, or ``StaleVersionError``
    when the client named the version it read (``expected_version``, its ``If-Match``).
    """
    if expected_version is not None and current.version != expected_version:
        raise StaleVersionError()
    parts.isolation.check_update(current, changes)
    try:
        return await parts.store.update(current.id, changes, expected_version=current.version)
    except TenantChangedError:
        if expected_version is not None:
            raise StaleVersionError() from None
        raise


async def change_status(
    tenant_id: uuid.UUID, status: TenantStatus, parts: TenancyParts, info: RequestInfo
) -> Tenant | None:
    """Suspend, activate or soft-delete; ``None`` if there is no such tenant."""
    tenant = await parts.store.get(tenant_id)
    if tenant is None:
        return None
    if tenant.status not in _ALLOWED_MOVES[status]:
        raise InvalidTransitionError(f"A {tenant.status.value} tenant cannot become {status.value}")
    if tenant.status is status:
        return tenant
    moved = await parts.store.set_status(tenant_id, status, expected_version=tenant.version)
    if moved is not None:
        await parts.events.record_event(moved.id, _ACTIONS[status], info)
        if status is TenantStatus.DELETED:
            await parts.hooks.tenant_deleted(moved)
    return moved


async def purge_tenant(
    tenant_id: uuid.UUID, parts: TenancyParts, info: RequestInfo
) -> Tenant | None:
    """Drop the tenant's data and namespace, then its record. Irreversible.

    Requests are stopped first (the status becomes ``deleted``). Rows a stale
    instance might still write between the drop and the record's deletion cannot
    survive it: tenant tables reference the record (row-level security), or their
    namespace is gone.
    """
    tenant = await parts.store.get(tenant_id)
    if tenant is None:
        return None
    await parts.store.set_status(tenant_id, TenantStatus.DELETED)  # stop requests first
    await parts.isolation.deprovision(tenant)
    await parts.store.delete(tenant_id)
    await parts.events.record_event(tenant.id, "tenant.purge", info)
    await parts.hooks.tenant_purged(tenant)
    return tenant
