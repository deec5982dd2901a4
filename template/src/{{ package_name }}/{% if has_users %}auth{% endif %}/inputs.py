"""The shapes of an email address and a password, checked before anything uses them.

Both are refused with 422 when malformed: an email ``email-validator`` does not
accept (its syntax, not its deliverability: no DNS on a login), or text PostgreSQL
or UTF-8 cannot hold (NUL, lone surrogates). A password over 1 KiB is refused before
it is hashed: Argon2's cost grows with the input, so a megabyte password would be a
cheap way to keep a CPU busy.
"""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

from ..tenancy.validation import CleanText

MAX_PASSWORD_BYTES = 1024
MIN_PASSWORD_LENGTH = 8


def normalize_email(value: str) -> str:
    """The address as stored: validated, then lower-cased (unique case-insensitively)."""
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return checked.normalized.lower()


def bounded_password(value: str) -> str:
    if len(value.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password has at most {MAX_PASSWORD_BYTES} bytes")
    return value


#: An email address, normalized. (320 characters: the longest an address can be.)
Email = Annotated[CleanText, Field(max_length=320), AfterValidator(normalize_email)]
#: A password as given at login: any clean text up to 1 KiB.
Password = Annotated[CleanText, Field(min_length=1), AfterValidator(bounded_password)]
#: A password being set: also long enough to be worth hashing.
NewPassword = Annotated[
    CleanText, Field(min_length=MIN_PASSWORD_LENGTH), AfterValidator(bounded_password)
]
