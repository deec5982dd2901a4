"""Lifecycle events: what happened to a tenant, and who did it.

The admin API and the CLI change tenants through ``provisioning.py``, which
records each change as an event (``tenant.create``, ``tenant.suspend``,
``tenant.purge``...). Where events go is the service's choice: the audit log when
it has one (``audit.AuditTrail``), otherwise a log line (``LoggedEvents``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

logger = logging.getLogger("tenancy.events")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Who and where a change came from."""

    actor: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


class TenantEvents(Protocol):
    async def record_event(
        self,
        tenant_id: uuid.UUID,
        action: str,
        info: RequestInfo,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``action`` happened to the tenant. Never raises: the change is made."""
        ...


class LoggedEvents:
    """Events as log records on the ``tenancy.events`` logger (no audit log): a JSON
    object (``audit``) in the JSON log."""

    async def record_event(
        self,
        tenant_id: uuid.UUID,
        action: str,
        info: RequestInfo,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        event = {"action": action, **asdict(info), "details": dict(details or {})}
        logger.info("audit", extra={"tenant_id": str(tenant_id), "audit": event})
