"""Who may change whom in a tenant, and the tenant's member list.

Admins and owners manage members; only owners touch owners: an admin can neither
grant the owner role nor change or remove an owner (``UserStore`` checks the latter
under the lock of its write, so a member promoted meanwhile is not missed). Anyone
may leave, except the last owner (409: a tenant always keeps one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .access import Membership
from .errors import ForbiddenError
from .models import MembershipRow, Role, UserRow


@dataclass(frozen=True, slots=True)
class Member:
    user_id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    joined_at: datetime


def check_grant(actor: Membership, role: Role) -> None:
    """403 unless ``actor`` may give ``role`` (or invite with it)."""
    if not actor.role.includes(Role.ADMIN):
        raise ForbiddenError("Requires the admin role")
    if role is Role.OWNER and actor.role is not Role.OWNER:
        raise ForbiddenError("Only owners can grant the owner role")


def check_removal(actor: Membership, user_id: uuid.UUID) -> None:
    """403 unless ``actor`` may remove ``user_id`` (themselves: anyone may leave)."""
    if user_id != actor.user_id and not actor.role.includes(Role.ADMIN):
        raise ForbiddenError("Requires the admin role")


async def members_page(
    engine: AsyncEngine, tenant_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Member], int]:
    """The tenant's members, by email."""
    mine = MembershipRow.tenant_id == tenant_id
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    MembershipRow.user_id,
                    UserRow.email,
                    MembershipRow.role,
                    UserRow.is_active,
                    MembershipRow.created_at,
                )
                .join(UserRow, UserRow.id == MembershipRow.user_id)
                .where(mine)
                .order_by(UserRow.email)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        total = await conn.scalar(select(func.count()).select_from(MembershipRow).where(mine))
    members = [
        Member(row.user_id, row.email, Role(row.role), row.is_active, row.created_at)
        for row in rows
    ]
    return members, total or 0
