"""The durable tenant store: one ``tenants`` table.

Every method is one short transaction of its own, independent of the request's
tenant session, so a tenant lookup never holds a connection while a route runs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, String, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import TenantConflictError
from ..models import Tenant, TenantConfig, TenantCreate, TenantStatus, TenantUpdate
from ..orm import SharedBase

_STATUSES = ", ".join(f"'{status.value}'" for status in TenantStatus)


class TenantRow(SharedBase):
    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint(f"status IN ({_STATUSES})", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    identifier: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(32))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSON().with_variant(JSONB(), "postgresql")
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    def to_tenant(self) -> Tenant:
        return Tenant(
            id=self.id,
            identifier=self.identifier,
            name=self.name,
            status=TenantStatus(self.status),
            tier=self.tier,
            metadata=dict(self.metadata_),
            config=TenantConfig.model_validate(self.config),
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class SqlAlchemyTenantStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        async with self._sessions() as session:
            row = await session.get(TenantRow, tenant_id)
            return row.to_tenant() if row else None

    async def get_by_identifier(self, identifier: str) -> Tenant | None:
        async with self._sessions() as session:
            row = await session.scalar(select(TenantRow).where(TenantRow.identifier == identifier))
            return row.to_tenant() if row else None

    async def create(self, data: TenantCreate, status: TenantStatus) -> Tenant:
        row = TenantRow(
            id=uuid.uuid4(),
            identifier=data.identifier,
            name=data.name,
            status=status.value,
            tier=data.tier,
            metadata_=data.metadata,
            config=data.config.model_dump(),
        )
        async with self._sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError as exc:
                raise TenantConflictError() from exc
            await session.refresh(row)
            return row.to_tenant()

    async def update(self, tenant_id: uuid.UUID, changes: TenantUpdate) -> Tenant | None:
        values = changes.model_dump(exclude_unset=True, exclude_none=True)  # config as a dict
        async with self._sessions() as session:
            row = await session.get(TenantRow, tenant_id, with_for_update=True)
            if row is None:
                return None
            for field, value in values.items():
                setattr(row, "metadata_" if field == "metadata" else field, value)
            try:
                await session.commit()
            except IntegrityError as exc:
                raise TenantConflictError() from exc
            await session.refresh(row)
            return row.to_tenant()

    async def set_status(self, tenant_id: uuid.UUID, status: TenantStatus) -> Tenant | None:
        async with self._sessions() as session:
            row = await session.get(TenantRow, tenant_id, with_for_update=True)
            if row is None:
                return None
            row.status = status.value
            await session.commit()
            await session.refresh(row)
            return row.to_tenant()

    async def list(
        self, *, limit: int, offset: int, status: TenantStatus | None = None
    ) -> list[Tenant]:
        query = select(TenantRow).order_by(TenantRow.created_at, TenantRow.id)
        if status is not None:
            query = query.where(TenantRow.status == status.value)
        async with self._sessions() as session:
            rows = await session.scalars(query.limit(limit).offset(offset))
            return [row.to_tenant() for row in rows]

    async def count(self, *, status: TenantStatus | None = None) -> int:
        query = select(func.count()).select_from(TenantRow)
        if status is not None:
            query = query.where(TenantRow.status == status.value)
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    async def delete(self, tenant_id: uuid.UUID) -> bool:
        async with self._sessions() as session:
            row = await session.get(TenantRow, tenant_id)
            if row is None:
                return False
            await session.delete(row)
            await session.commit()
            return True
