"""The example tenant-scoped model: copy this file to add your own.

``TenantScoped`` adds the ``tenant_id`` column and the tenant filter;
``TenantBase`` puts the table in the tenant migration environment. Indexes lead
with ``tenant_id`` because every query the service runs is filtered by it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.orm import TenantBase, TenantScoped


class Note(TenantScoped, TenantBase):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
