"""The ``tenant_domains`` table: which tenant each custom domain belongs to.

The domain (canonical, ``names.py``) is the primary key, so the database decides
which of two tenants claiming one domain gets it: the first ``INSERT`` to commit,
whatever the interleaving; the other sees the row and gets 409. ``tenant_id``
references the tenant with ``ON DELETE CASCADE``: purging a tenant removes its
domains in the same statement. Every method is one short transaction of its own,
like the tenant store's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import TenancyError, TenantNotFoundError
from ..orm import SharedBase
from ..stores.sqlalchemy import TenantRow


class DomainStatus(StrEnum):
    #: Added, not yet proven: never resolves.
    PENDING = "pending"
    #: Its TXT record held the token: resolves to its tenant.
    ACTIVE = "active"


class DomainTakenError(TenancyError):
    """Another tenant has this domain (pending or active)."""

    status_code = 409
    detail = "This domain belongs to another tenant"


class DomainRow(SharedBase):
    __tablename__ = "tenant_domains"
    __table_args__ = (CheckConstraint("status IN ('pending', 'active')", name="status"),)
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declaration

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(TenantRow.id, ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    #: What the domain's TXT record must hold: proof that its owner wants it here.
    verification_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def to_domain(self) -> Domain:
        return Domain(
            domain=self.domain,
            tenant_id=self.tenant_id,
            status=DomainStatus(self.status),
            verification_token=self.verification_token,
            created_at=self.created_at,
            verified_at=self.verified_at,
        )


class Domain(BaseModel):
    domain: str
    tenant_id: uuid.UUID
    status: DomainStatus
    verification_token: str
    created_at: datetime
    verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class DomainTarget:
    """Where an active domain leads: the tenant's id, and its identifier (cached)."""

    tenant_id: uuid.UUID
    identifier: str


class DomainStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def claim(self, tenant_id: uuid.UUID, domain: str, token: str) -> tuple[Domain, bool]:
        """The tenant's domain, added as pending if nobody had it: ``(domain, added)``.

        ``DomainTakenError`` if another tenant has it; ``TenantNotFoundError`` if the
        tenant's record is gone (purged meanwhile).
        """
        statement = (
            insert(DomainRow)
            .values(
                domain=domain,
                tenant_id=tenant_id,
                status=DomainStatus.PENDING.value,
                verification_token=token,
            )
            .on_conflict_do_nothing(index_elements=[DomainRow.domain])
            .returning(DomainRow)
        )
        async with self._sessions() as session:
            try:
                added = await session.scalar(statement)
                await session.commit()
            except IntegrityError as exc:  # the foreign key: no such tenant (any more)
                raise TenantNotFoundError() from exc
            row = added or await session.get(DomainRow, domain)
        if row is None:  # removed between the insert and the read: let the caller retry
            raise DomainTakenError("The domain changed concurrently: retry")
        if row.tenant_id != tenant_id:
            raise DomainTakenError()
        return row.to_domain(), added is not None

    async def get(self, tenant_id: uuid.UUID, domain: str) -> Domain | None:
        """The domain, if it is this tenant's."""
        async with self._sessions() as session:
            row = await session.get(DomainRow, domain)
            return row.to_domain() if row is not None and row.tenant_id == tenant_id else None

    async def list(self, tenant_id: uuid.UUID) -> list[Domain]:
        query = select(DomainRow).where(DomainRow.tenant_id == tenant_id).order_by(DomainRow.domain)
        async with self._sessions() as session:
            return [row.to_domain() for row in await session.scalars(query)]

    async def activate(self, tenant_id: uuid.UUID, domain: str, token: str) -> Domain | None:
        """Mark the tenant's claim with ``token`` verified; ``None`` if there is no such claim
        (any more)."""
        statement = (
            update(DomainRow)
            .where(
                DomainRow.domain == domain,
                DomainRow.tenant_id == tenant_id,
                DomainRow.verification_token == token,
            )
            .values(
                status=DomainStatus.ACTIVE.value,
                verified_at=func.coalesce(DomainRow.verified_at, func.now()),
            )
            .returning(DomainRow)
        )
        async with self._sessions() as session:
            row = await session.scalar(statement)
            await session.commit()
            return row.to_domain() if row is not None else None

    async def remove(self, tenant_id: uuid.UUID, domain: str) -> bool:
        """Remove the tenant's domain; ``False`` if it was not the tenant's."""
        statement = (
            delete(DomainRow)
            .where(DomainRow.domain == domain, DomainRow.tenant_id == tenant_id)
            .returning(DomainRow.domain)
        )
        async with self._sessions() as session:
            removed = await session.scalar(statement)
            await session.commit()
            return removed is not None

    async def target(self, domain: str) -> DomainTarget | None:
        """Where ``domain`` leads if it is active: the request path's one query."""
        query = (
            select(TenantRow.id, TenantRow.identifier)
            .join(DomainRow, DomainRow.tenant_id == TenantRow.id)
            .where(DomainRow.domain == domain, DomainRow.status == DomainStatus.ACTIVE.value)
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
            return DomainTarget(found.id, found.identifier) if found is not None else None
