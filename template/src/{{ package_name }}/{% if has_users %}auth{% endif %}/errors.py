"""The answers authentication gives, each a ``TenancyError`` with its status.

401 says "who are you?" (no token, or one that does not verify), always with a
``WWW-Authenticate: Bearer`` challenge; 403 says "you, but not here" (a disabled
user, or not a member of the tenant the request names).
"""

from __future__ import annotations

import uuid

from ..tenancy.errors import TenancyError


class NotAuthenticatedError(TenancyError):
    status_code = 401
    detail = "Not authenticated"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer"})


class InvalidTokenError(TenancyError):
    """The token is not one this service issued, or no longer valid."""

    status_code = 401
    detail = "Invalid token"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


class RefreshTokenReusedError(InvalidTokenError):
    """A refresh token presented again after it was replaced: its login is revoked."""

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__("Invalid refresh token")
        self.user_id = user_id


class LoginFailedError(NotAuthenticatedError):
    """The same answer for an unknown email and a wrong password."""

    detail = "Incorrect email or password"


class ForbiddenError(TenancyError):
    status_code = 403
    detail = "Not allowed"


class NotAMemberError(ForbiddenError):
    detail = "Not a member of this tenant"


class UserDisabledError(ForbiddenError):
    detail = "User is disabled"


class LastOwnerError(TenancyError):
    status_code = 409
    detail = "A tenant keeps at least one owner"


class EmailTakenError(TenancyError):
    status_code = 409
    detail = "A user with this email exists"


class AlreadyMemberError(TenancyError):
    status_code = 409
    detail = "Already a member of this tenant"


class UserNotFoundError(TenancyError):
    status_code = 404
    detail = "User not found"
