"""The tenant admin API (``/admin/tenants``), behind the ``ADMIN_TOKEN`` bearer token.

Tenants are addressed by their opaque ``id``; look one up by identifier with
``GET /admin/tenants?identifier=acme``. Every change goes through
``tenancy/provisioning.py`` (the CLI's commands too) and is recorded as a
lifecycle event with actor ``admin``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel

from ..tenancy.dependencies import request_info
from ..tenancy.events import RequestInfo
from ..tenancy.identifiers import is_valid_identifier
from ..tenancy.provisioning import change_status, create_tenant, purge_tenant, update_tenant
from ..tenancy.tenant import Tenant, TenantCreate, TenantStatus, TenantUpdate
from ..tenancy.validation import StrictJsonRoute
from .deps import ServiceParts, require_admin

router = APIRouter(
    prefix="/admin/tenants",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    route_class=StrictJsonRoute,
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such tenant"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed for this tenant now, or it changed meanwhile: read it again"}
}
#: Pages beyond this are refused (422) before they reach PostgreSQL's bigint.
MAX_OFFSET = 10_000_000


async def admin_info(info: Annotated[RequestInfo, Depends(request_info)]) -> RequestInfo:
    """Who made the change, for its lifecycle event: the admin, from this request."""
    return RequestInfo(
        actor="admin", ip=info.ip, user_agent=info.user_agent, request_id=info.request_id
    )


Admin = Annotated[RequestInfo, Depends(admin_info)]


class TenantPage(BaseModel):
    items: list[Tenant]
    total: int
    limit: int
    offset: int


def _found(tenant: Tenant | None) -> Tenant:
    if tenant is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Tenant not found")
    return tenant


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Identifier or namespace taken"}},
)
async def create(data: TenantCreate, parts: ServiceParts, admin: Admin) -> Tenant:
    return await create_tenant(data, parts, admin)


@router.get("")
async def list_tenants(
    parts: ServiceParts,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status_filter: Annotated[TenantStatus | None, Query(alias="status")] = None,
    identifier: Annotated[str | None, Query(max_length=63)] = None,
) -> TenantPage:
    if identifier is not None:
        # A malformed identifier cannot exist: answer without a lookup.
        valid = is_valid_identifier(identifier)
        found = await parts.store.get_by_identifier(identifier) if valid else None
        items = [found] if found and status_filter in (None, found.status) else []
        return TenantPage(items=items, total=len(items), limit=limit, offset=0)
    items = await parts.store.list(limit=limit, offset=offset, status=status_filter)
    total = await parts.store.count(status=status_filter)
    return TenantPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{tenant_id}", responses=NOT_FOUND)
async def get(tenant_id: uuid.UUID, parts: ServiceParts) -> Tenant:
    return _found(await parts.store.get(tenant_id))


@router.patch("/{tenant_id}", responses={**NOT_FOUND, **CONFLICT})
async def update(
    tenant_id: uuid.UUID, changes: TenantUpdate, parts: ServiceParts, admin: Admin
) -> Tenant:
    return _found(await update_tenant(tenant_id, changes, parts, admin))


@router.post("/{tenant_id}/suspend", responses={**NOT_FOUND, **CONFLICT})
async def suspend(tenant_id: uuid.UUID, parts: ServiceParts, admin: Admin) -> Tenant:
    return _found(await change_status(tenant_id, TenantStatus.SUSPENDED, parts, admin))


@router.post("/{tenant_id}/activate", responses={**NOT_FOUND, **CONFLICT})
async def activate(tenant_id: uuid.UUID, parts: ServiceParts, admin: Admin) -> Tenant:
    return _found(await change_status(tenant_id, TenantStatus.ACTIVE, parts, admin))


@router.delete("/{tenant_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete(
    tenant_id: uuid.UUID,
    parts: ServiceParts,
    admin: Admin,
    purge: Annotated[bool, Query(description="Also drop the tenant's data, irreversibly")] = False,
) -> Response:
    if purge:
        _found(await purge_tenant(tenant_id, parts, admin))
    else:
        _found(await change_status(tenant_id, TenantStatus.DELETED, parts, admin))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
