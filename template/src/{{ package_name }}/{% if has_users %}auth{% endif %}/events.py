"""Memberships follow their tenant: a purge removes them.

Wraps the service's ``TenantEvents``: every lifecycle event is passed on, and a
``tenant.purge`` first deletes the tenant's memberships (and drops them from
every instance's access cache). With a durable tenant store the memberships'
foreign key to the tenant record has deleted them already; with tenants in memory,
this is what does.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from ..tenancy.events import RequestInfo, TenantEvents
from .store import UserStore

logger = logging.getLogger(__name__)


class MembershipEvents:
    def __init__(self, events: TenantEvents, users: UserStore) -> None:
        self._events = events
        self._users = users

    async def record_event(
        self,
        tenant_id: uuid.UUID,
        action: str,
        info: RequestInfo,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        if action == "tenant.purge":
            try:
                await self._users.remove_tenant(tenant_id)
            except Exception:  # the purge is made: never undo it by raising
                logger.exception("could not remove the memberships of purged tenant %s", tenant_id)
        await self._events.record_event(tenant_id, action, info, details)
