"""Authentication events: logins, failed logins, sign-ups, invitations, role changes...

Each event is one JSON line on the ``audit`` logger and one row of the shared
``auth_events`` table, written in a transaction of its own after the change (the
change has happened: a failed write never undoes it; it is logged at ERROR with
the whole event and counted in ``AuthEvents.failures``). Events name users and
tenants by id, and an email only where there is no user to name (a failed login
or a sign-up attempt); never a password, token or hash: ``details`` is for what a
reviewer needs (a role, an invitation's id), and callers keep secrets out of it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..tenancy.events import RequestInfo
from .models import AuthEventRow

logger = logging.getLogger("audit")


class AuthEvents:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        #: Events that could not be written since start-up.
        self.failures = 0

    async def record(
        self,
        action: str,
        info: RequestInfo,
        *,
        user_id: uuid.UUID | None = None,
        tenant_id: uuid.UUID | None = None,
        email: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``action`` happened (``auth.login``, ``auth.login_failed``...).
        Never raises."""
        row = {
            "action": action,
            "user_id": user_id,
            "tenant_id": tenant_id,
            "email": email,
            "ip": info.ip,
            "user_agent": (info.user_agent or "")[:512] or None,
            "request_id": info.request_id,
            "details": dict(details or {}),
        }
        # A structured record (a JSON object in the JSON log), whether or not the row is written.
        fields = {"audit": {**row, "actor": info.actor}}
        logger.info("audit", extra=fields)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(AuthEventRow).values(**row))
        except (SQLAlchemyError, OSError):
            self.failures += 1
            logger.exception("auth event NOT WRITTEN", extra=fields)

    async def entries(
        self,
        *,
        user_id: uuid.UUID | None = None,
        tenant_id: uuid.UUID | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The newest events of a user and/or a tenant (both ``None``: every event)."""
        query = select(AuthEventRow).order_by(AuthEventRow.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(AuthEventRow.user_id == user_id)
        if tenant_id is not None:
            query = query.where(AuthEventRow.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [dict(row) for row in rows]
