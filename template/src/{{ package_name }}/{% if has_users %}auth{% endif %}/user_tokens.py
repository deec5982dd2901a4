"""Single-use tokens mailed to users: a password reset, an email verification.

A token is 32 random bytes; only its SHA-256 is stored (``user_tokens``), so the
table is useless to whoever reads it. Using a token is one conditional ``UPDATE``
(unused, unexpired, of this purpose: mark it used), so of two requests with the
same token exactly one gets its user: the other waits for the row, then finds
it used. A user holds at most ``MAX_LIVE_TOKENS`` live tokens per purpose; more
requests mail nothing, so a stranger cannot fill someone's mailbox.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tenancy.errors import TenancyError
from .models import UserTokenRow

#: Longer values are not tokens this service issued: refused (422) before hashing.
MAX_TOKEN_LENGTH = 200
#: Unused, unexpired tokens of one purpose a user may hold.
MAX_LIVE_TOKENS = 3


class Purpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
    VERIFY_EMAIL = "verify_email"


class InvalidUserTokenError(TenancyError):
    """Unknown, used, expired or void: one answer for all."""

    status_code = 400
    detail = "Invalid or expired token"


def new_token() -> tuple[str, str]:
    """A new token and what is stored of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """SHA-256 (the token has 256 random bits: no salt or slow hash needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def live_tokens(conn: AsyncConnection, user_id: uuid.UUID, purpose: Purpose) -> int:
    count = await conn.scalar(
        select(func.count()).where(*_live(purpose), UserTokenRow.user_id == user_id)
    )
    return count or 0


async def store_token(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    purpose: Purpose,
    digest: str,
    ttl: timedelta,
) -> None:
    await conn.execute(
        insert(UserTokenRow).values(
            id=uuid.uuid4(),
            user_id=user_id,
            purpose=purpose,
            token_hash=digest,
            expires_at=func.now() + ttl,  # the database's clock, as where it is checked
        )
    )


async def is_live(conn: AsyncConnection, digest: str, purpose: Purpose) -> bool:
    """Whether the token is usable now (a read: ``use_token`` decides)."""
    found = await conn.scalar(select(UserTokenRow.id).where(*_live(purpose), _is(digest)))
    return found is not None


async def use_token(conn: AsyncConnection, digest: str, purpose: Purpose) -> uuid.UUID | None:
    """Mark the token used and return its user, if it was live; ``None`` otherwise."""
    user_id: uuid.UUID | None = await conn.scalar(
        update(UserTokenRow)
        .where(*_live(purpose), _is(digest))
        .values(used_at=func.now())
        .returning(UserTokenRow.user_id)
    )
    return user_id


async def void_tokens(conn: AsyncConnection, user_id: uuid.UUID, purpose: Purpose) -> None:
    """Every other live token of the user for ``purpose``: used up."""
    await conn.execute(
        update(UserTokenRow)
        .where(*_live(purpose), UserTokenRow.user_id == user_id)
        .values(used_at=func.now())
    )


def _live(purpose: Purpose) -> tuple[ColumnElement[bool], ...]:
    return (
        UserTokenRow.purpose == purpose,
        UserTokenRow.used_at.is_(None),
        UserTokenRow.expires_at > func.now(),
    )


def _is(digest: str) -> ColumnElement[bool]:
    return UserTokenRow.token_hash == digest
