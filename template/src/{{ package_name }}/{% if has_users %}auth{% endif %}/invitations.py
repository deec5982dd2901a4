"""Invitations: an admin invites an email address into their tenant with a role; the
holder of the token (sent to that address) accepts it once, before it expires.

Only the token's SHA-256 is stored: the table is useless to whoever reads it.
Accepting is one transaction: the invitation's row is locked, checked (not used, not
expired, for the caller's email), the account created if there is none yet, the
membership added and the invitation marked used. Of two accepts of one token at the
same time, the second waits for the first's lock, then finds the invitation used
(409); a failure anywhere rolls all of it back, and the invitation stays usable.
The token proves its holder reads the invited address, so an invitation creates an
account whatever ``SIGNUP_MODE`` says: it is the permission.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..tenancy.errors import TenancyError
from .access import AccessCache, User
from .errors import AlreadyMemberError, ForbiddenError
from .models import InvitationRow, MembershipRow, Role, UserRow

#: Longer values are not tokens this service issued: refused before hashing.
MAX_INVITATION_TOKEN_LENGTH = 200


class InvitationNotFoundError(TenancyError):
    """No such token (never issued, or revoked), or its tenant is gone."""

    status_code = 404
    detail = "Invitation not found"


class InvitationUsedError(TenancyError):
    status_code = 409
    detail = "Invitation already used"


class InvitationExpiredError(TenancyError):
    status_code = 410
    detail = "Invitation expired"


class InvitationEmailMismatchError(ForbiddenError):
    detail = "This invitation is for another email address"


class InvitedAccountExistsError(TenancyError):
    """The invited address has an account: its owner logs in and accepts with a bearer
    token. (Only the token's holder learns it: the token was sent to that address.)"""

    status_code = 409
    detail = "An account with this email exists: log in, then accept with your access token"


@dataclass(frozen=True, slots=True)
class Invitation:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: Role
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewAccount:
    """The account an accepted invitation creates: the email given, its password hashed."""

    email: str
    password_hash: str


_COLUMNS = (
    InvitationRow.id,
    InvitationRow.tenant_id,
    InvitationRow.email,
    InvitationRow.role,
    InvitationRow.invited_by,
    InvitationRow.created_at,
    InvitationRow.expires_at,
    InvitationRow.accepted_at,
)


def _invitation(row: Any) -> Invitation:
    return Invitation(
        id=row.id,
        tenant_id=row.tenant_id,
        email=row.email,
        role=Role(row.role),
        invited_by=row.invited_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
    )


def invitation_token_hash(token: str) -> str:
    """What is stored of a token (SHA-256: the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Invitations:
    def __init__(self, engine: AsyncEngine, cache: AccessCache, *, ttl_days: int) -> None:
        self._engine = engine
        self._cache = cache
        self._ttl = timedelta(days=ttl_days)

    async def create(
        self, tenant_id: uuid.UUID, email: str, role: Role, invited_by: uuid.UUID
    ) -> tuple[Invitation, str]:
        """A new invitation and its token (returned once: only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    insert(InvitationRow)
                    .values(
                        id=uuid.uuid4(),
                        tenant_id=tenant_id,
                        email=email,
                        role=role,
                        token_hash=invitation_token_hash(token),
                        invited_by=invited_by,
                        expires_at=datetime.now(UTC) + self._ttl,
                    )
                    .returning(*_COLUMNS)
                )
            ).one()
        return _invitation(row), token

    async def page(
        self, tenant_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[Invitation], int]:
        """The tenant's invitations, newest first (used ones too, as a record)."""
        mine = InvitationRow.tenant_id == tenant_id
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(*_COLUMNS)
                    .where(mine)
                    .order_by(InvitationRow.created_at.desc(), InvitationRow.id)
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            total = await conn.scalar(select(func.count()).select_from(InvitationRow).where(mine))
        return [_invitation(row) for row in rows], total or 0

    async def get(self, tenant_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation | None:
        """The invitation, if it is ``tenant_id``'s (another tenant's is not found)."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*_COLUMNS).where(
                        InvitationRow.id == invitation_id, InvitationRow.tenant_id == tenant_id
                    )
                )
            ).first()
        return _invitation(row) if row else None

    async def revoke(self, tenant_id: uuid.UUID, invitation_id: uuid.UUID) -> bool:
        """Delete a pending invitation: ``False`` if there is none; 409 if it was used."""
        async with self._engine.begin() as conn:
            deleted = (
                await conn.execute(
                    delete(InvitationRow)
                    .where(
                        InvitationRow.id == invitation_id,
                        InvitationRow.tenant_id == tenant_id,
                        InvitationRow.accepted_at.is_(None),
                    )
                    .returning(InvitationRow.id)
                )
            ).first()
        if deleted is not None:
            return True
        if await self.get(tenant_id, invitation_id) is not None:
            raise InvitationUsedError()
        return False

    async def find(self, token: str) -> Invitation | None:
        """The invitation ``token`` names, without a lock (to look its tenant up first)."""
        if len(token) > MAX_INVITATION_TOKEN_LENGTH:
            return None
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*_COLUMNS).where(
                        InvitationRow.token_hash == invitation_token_hash(token)
                    )
                )
            ).first()
        return _invitation(row) if row else None

    async def accept(
        self, token: str, *, user: User | None = None, account: NewAccount | None = None
    ) -> tuple[Invitation, uuid.UUID]:
        """Use ``token`` for ``user`` (logged in), or for a new ``account``: the invitation
        and the member's user id. Raises (and changes nothing) if it cannot be used."""
        if len(token) > MAX_INVITATION_TOKEN_LENGTH:
            raise InvitationNotFoundError()
        try:
            async with self._engine.begin() as conn:
                invitation = await _claim(conn, invitation_token_hash(token))
                email = user.email if user is not None else account.email if account else None
                if email != invitation.email:
                    raise InvitationEmailMismatchError()
                if user is not None:
                    user_id = user.id
                else:
                    assert account is not None
                    user_id = await _insert_user(conn, account)
                await conn.execute(
                    insert(MembershipRow).values(
                        tenant_id=invitation.tenant_id, user_id=user_id, role=invitation.role
                    )
                )
        except IntegrityError as exc:
            # Nothing was written: the membership's key (already a member), the email's
            # uniqueness (an account made meanwhile), or the tenant purged meanwhile.
            raise _refusal(str(exc.orig)) from None
        await self._cache.forget_member(user_id, invitation.tenant_id)
        if user is None:
            await self._cache.forget_user(user_id)  # a cached "no such user" is stale now
        return invitation, user_id


async def _claim(conn: AsyncConnection, token_hash: str) -> Invitation:
    """Lock the invitation, check it can be used, and mark it used (in ``conn``'s
    transaction: a rollback makes it usable again). A concurrent accept waits on the
    lock, then reads the row as the first left it."""
    expired = (InvitationRow.expires_at <= func.now()).label("expired")
    row = (
        await conn.execute(
            select(*_COLUMNS, expired)
            .where(InvitationRow.token_hash == token_hash)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise InvitationNotFoundError()
    if row.accepted_at is not None:
        raise InvitationUsedError()
    if row.expired:
        raise InvitationExpiredError()
    await conn.execute(
        update(InvitationRow).where(InvitationRow.id == row.id).values(accepted_at=func.now())
    )
    return _invitation(row)


async def _insert_user(conn: AsyncConnection, account: NewAccount) -> uuid.UUID:
    user_id = uuid.uuid4()
    await conn.execute(
        insert(UserRow).values(id=user_id, email=account.email, password_hash=account.password_hash)
    )
    return user_id


def _refusal(error: str) -> TenancyError:
    if "pk_memberships" in error:
        return AlreadyMemberError()
    if "uq_users_email" in error:
        return InvitedAccountExistsError()
    return InvitationNotFoundError()
