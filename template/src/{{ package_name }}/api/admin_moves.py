"""``POST /admin/tenants/{id}/move``: move a tenant to another isolation strategy, online.

The move itself is ``tenancy/moves.py``'s (the CLI's ``tenants move`` too). While it
runs, the tenant's own requests that reach the database get 503 with
``Retry-After``; other tenants are not affected. The call returns when the move is
done (or failed, with the tenant left where it was).
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from ..tenancy.moves import move_tenant
from ..tenancy.tenant import Tenant
from ..tenancy.validation import StrictJsonRoute
from .admin import NOT_FOUND, Admin, _found
from .deps import ServiceParts, require_admin

router = APIRouter(
    prefix="/admin/tenants",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    route_class=StrictJsonRoute,
)


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The strategy to move the tenant to.
    to: Literal["rls", "schema", "database"]


@router.post(
    "/{tenant_id}/move",
    responses={
        **NOT_FOUND,
        409: {"description": "Already there, not active or suspended, or being moved already"},
        422: {"description": "This service cannot place a tenant there"},
        503: {"description": "The tenant stayed busy: nothing moved, retry (Retry-After)"},
    },
)
async def move(
    tenant_id: uuid.UUID, body: MoveRequest, parts: ServiceParts, admin: Admin
) -> Tenant:
    """Copy the tenant's rows to ``to``, verify them, switch its record, drop the old rows."""
    return _found(await move_tenant(tenant_id, body.to, parts, admin))
