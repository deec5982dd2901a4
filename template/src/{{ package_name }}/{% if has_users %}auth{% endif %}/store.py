"""Users and memberships in PostgreSQL: every write, and the cache told of it.

Each change is one transaction, and drops what it touched from the access cache
(here and, with Redis, on every instance) after it commits, so the very next
request sees it. A tenant always keeps an owner: demoting or removing a member
locks the tenant's owner memberships first, so of two concurrent demotions of the
last two owners, the second sees the first's result and is refused (409).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .access import AccessCache, User
from .errors import (
    AlreadyMemberError,
    EmailTakenError,
    ForbiddenError,
    LastOwnerError,
    UserNotFoundError,
)
from .models import InvitationRow, MembershipRow, RefreshTokenRow, Role, UserRow

_USER = (UserRow.id, UserRow.email, UserRow.is_active)


class UserStore:
    def __init__(self, engine: AsyncEngine, cache: AccessCache) -> None:
        self._engine = engine
        self._cache = cache

    # --- users ---------------------------------------------------------------------

    async def create_user(self, email: str, password_hash: str) -> User:
        """A new active user; ``email`` already normalized (``inputs.Email``)."""
        try:
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        insert(UserRow)
                        .values(id=uuid.uuid4(), email=email, password_hash=password_hash)
                        .returning(*_USER)
                    )
                ).one()
        except IntegrityError:
            raise EmailTakenError() from None
        await self._cache.forget_user(row.id)  # a cached "no such user" is stale now
        return User(row.id, row.email, row.is_active)

    async def get(self, user_id: uuid.UUID) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_USER).where(UserRow.id == user_id))).first()
        return User(row.id, row.email, row.is_active) if row else None

    async def credentials(self, email: str) -> tuple[User, str] | None:
        """The user with ``email`` and their password hash, for a login."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*_USER, UserRow.password_hash).where(UserRow.email == email)
                )
            ).first()
        return (User(row.id, row.email, row.is_active), row.password_hash) if row else None

    async def by_email(self, email: str) -> User | None:
        found = await self.credentials(email)
        return found[0] if found else None

    async def page(self, *, limit: int, offset: int) -> tuple[list[User], int]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(*_USER).order_by(UserRow.email).limit(limit).offset(offset)
                )
            ).all()
            total = await conn.scalar(select(func.count()).select_from(UserRow)) or 0
        return [User(row.id, row.email, row.is_active) for row in rows], total

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash)
            )

    async def set_active(self, user_id: uuid.UUID, active: bool) -> User:
        """Enable or disable; disabling also revokes every refresh token of the user."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(UserRow)
                    .where(UserRow.id == user_id)
                    .values(is_active=active, updated_at=func.now())
                    .returning(*_USER)
                )
            ).first()
            if row is None:
                raise UserNotFoundError()
            if not active:
                await revoke_user_tokens(conn, user_id)
        await self._cache.forget_user(user_id)
        return User(row.id, row.email, row.is_active)

    # --- memberships -----------------------------------------------------------------

    async def role(self, user_id: uuid.UUID, tenant_id: uuid.UUID) -> Role | None:
        async with self._engine.connect() as conn:
            role = await conn.scalar(
                select(MembershipRow.role).where(
                    MembershipRow.user_id == user_id, MembershipRow.tenant_id == tenant_id
                )
            )
        return Role(role) if role is not None else None

    async def memberships(self, user_id: uuid.UUID) -> list[tuple[uuid.UUID, Role]]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(MembershipRow.tenant_id, MembershipRow.role)
                    .where(MembershipRow.user_id == user_id)
                    .order_by(MembershipRow.created_at)
                )
            ).all()
        return [(row.tenant_id, Role(row.role)) for row in rows]

    async def add_member(self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(MembershipRow).values(tenant_id=tenant_id, user_id=user_id, role=role)
                )
        except IntegrityError as exc:
            # The primary key: already a member; a foreign key: no such user (or tenant).
            if "pk_memberships" in str(exc.orig):
                raise AlreadyMemberError() from None
            raise UserNotFoundError() from None
        await self._cache.forget_member(user_id, tenant_id)

    async def set_role(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role, *, by_owner: bool = True
    ) -> bool:
        """Change a member's role; ``False`` if not a member, 409 for the last owner.
        ``by_owner=False`` (an admin's change): 403 if the member is an owner."""
        return await self._change(tenant_id, user_id, role, by_owner)

    async def remove_member(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, *, by_owner: bool = True
    ) -> bool:
        """``False`` if not a member; 409 for the last owner; 403 as in ``set_role``."""
        return await self._change(tenant_id, user_id, None, by_owner)

    async def _change(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role | None, by_owner: bool = True
    ) -> bool:
        # The member's role is checked under the same lock as the write: an admin cannot
        # change someone who became an owner since the request read their role.
        async with self._engine.begin() as conn:
            owners = await _lock_owners(conn, tenant_id)
            current = await conn.scalar(
                select(MembershipRow.role)
                .where(MembershipRow.tenant_id == tenant_id, MembershipRow.user_id == user_id)
                .with_for_update()
            )
            if current is None:
                return False
            if current == Role.OWNER and not by_owner:
                raise ForbiddenError("Only owners can change owners")
            if current == Role.OWNER and role is not Role.OWNER and owners == [user_id]:
                raise LastOwnerError()
            member = (MembershipRow.tenant_id == tenant_id) & (MembershipRow.user_id == user_id)
            if role is None:
                await conn.execute(delete(MembershipRow).where(member))
            else:
                await conn.execute(update(MembershipRow).where(member).values(role=role))
        await self._cache.forget_member(user_id, tenant_id)
        return True

    async def remove_tenant(self, tenant_id: uuid.UUID) -> None:
        """Every membership and invitation of a purged tenant (its users stay: they are
        global)."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(InvitationRow).where(InvitationRow.tenant_id == tenant_id))
            users = (
                (
                    await conn.execute(
                        delete(MembershipRow)
                        .where(MembershipRow.tenant_id == tenant_id)
                        .returning(MembershipRow.user_id)
                    )
                )
                .scalars()
                .all()
            )
        for user_id in users:
            await self._cache.forget_member(user_id, tenant_id)


async def _lock_owners(conn: AsyncConnection, tenant_id: uuid.UUID) -> Sequence[uuid.UUID]:
    """The tenant's owners, locked until the transaction ends. A concurrent change waits
    here, then reads the owners as that transaction left them (FOR UPDATE re-checks a row
    another transaction changed): no two changes both see "another owner remains"."""
    return list(
        (
            await conn.execute(
                select(MembershipRow.user_id)
                .where(MembershipRow.tenant_id == tenant_id, MembershipRow.role == Role.OWNER)
                .order_by(MembershipRow.user_id)
                .with_for_update()
            )
        ).scalars()
    )


async def revoke_user_tokens(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    await conn.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.user_id == user_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
