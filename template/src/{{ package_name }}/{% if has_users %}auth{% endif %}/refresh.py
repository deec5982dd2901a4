"""Refresh tokens: stored hashed, replaced on every use, revoked by family.

A login starts a family; each refresh marks the token used (``replaced_by``) and
issues the next one in the same family, in one transaction. A token presented
again after it was replaced was copied: whoever holds the family's newest token
may be the thief or the user, so the whole family is revoked and both must log
in again. Logout revokes the family; disabling a user revokes all of theirs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .errors import InvalidTokenError, RefreshTokenReusedError
from .models import RefreshTokenRow
from .tokens import new_refresh_token, refresh_token_hash

logger = logging.getLogger(__name__)
#: Longer values are not tokens this service issued: refused before hashing.
MAX_REFRESH_TOKEN_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Rotated:
    user_id: uuid.UUID
    #: The tenant the new token's access tokens name.
    tenant: str | None
    #: The token that replaces it.
    token: str


class RefreshTokens:
    def __init__(self, engine: AsyncEngine, *, ttl_days: int) -> None:
        self._engine = engine
        self._ttl = timedelta(days=ttl_days)

    async def issue(self, user_id: uuid.UUID, tenant: str | None) -> str:
        """The first token of a new family (a login)."""
        async with self._engine.begin() as conn:
            return await self._insert(conn, user_id, tenant, uuid.uuid4(), uuid.uuid4())

    async def rotate(
        self,
        token: str,
        check: Callable[[uuid.UUID, str | None], Awaitable[str | None]],
    ) -> Rotated:
        """Replace ``token`` by a new one of its family; 401 for an unknown, expired or
        revoked token, and a replaced one revokes its family. ``check(user_id, tenant)``
        runs before the new token is stored and returns the tenant it names: if it
        raises (the user was disabled, or is no member of a tenant asked for), the old
        token stays valid."""
        if len(token) > MAX_REFRESH_TOKEN_LENGTH:
            raise InvalidTokenError("Invalid refresh token")
        digest = refresh_token_hash(token)
        new_id = uuid.uuid4()
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(RefreshTokenRow)
                    .where(
                        RefreshTokenRow.token_hash == digest,
                        RefreshTokenRow.revoked_at.is_(None),
                        RefreshTokenRow.expires_at > func.now(),
                    )
                    .values(revoked_at=func.now(), replaced_by=new_id)
                    .returning(
                        RefreshTokenRow.user_id, RefreshTokenRow.family_id, RefreshTokenRow.tenant
                    )
                )
            ).first()
            if row is not None:
                tenant = await check(row.user_id, row.tenant)
                new = await self._insert(conn, row.user_id, tenant, row.family_id, new_id)
                return Rotated(row.user_id, tenant, new)
            replaced = (
                await conn.execute(
                    select(RefreshTokenRow.family_id, RefreshTokenRow.user_id).where(
                        RefreshTokenRow.token_hash == digest,
                        RefreshTokenRow.replaced_by.is_not(None),
                    )
                )
            ).first()
            if replaced is not None:
                logger.warning("refresh token reused: revoking its family %s", replaced.family_id)
                await revoke_family(conn, replaced.family_id)
        if replaced is not None:
            raise RefreshTokenReusedError(replaced.user_id)
        raise InvalidTokenError("Invalid refresh token")

    async def revoke(self, token: str) -> uuid.UUID | None:
        """Revoke ``token``'s family (a logout); its user, ``None`` for an unknown token."""
        if len(token) > MAX_REFRESH_TOKEN_LENGTH:
            return None
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(RefreshTokenRow.family_id, RefreshTokenRow.user_id).where(
                        RefreshTokenRow.token_hash == refresh_token_hash(token)
                    )
                )
            ).first()
            if row is None:
                return None
            await revoke_family(conn, row.family_id)
        user_id: uuid.UUID = row.user_id
        return user_id

    async def _insert(
        self,
        conn: AsyncConnection,
        user_id: uuid.UUID,
        tenant: str | None,
        family_id: uuid.UUID,
        token_id: uuid.UUID,
    ) -> str:
        token = new_refresh_token()
        await conn.execute(
            insert(RefreshTokenRow).values(
                id=token_id,
                token_hash=refresh_token_hash(token),
                family_id=family_id,
                user_id=user_id,
                tenant=tenant,
                expires_at=datetime.now(UTC) + self._ttl,
            )
        )
        return token


async def revoke_family(conn: AsyncConnection, family_id: uuid.UUID) -> None:
    await conn.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
