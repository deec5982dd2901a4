"""What a tenant identifier may look like, checked before anything is looked up.

An identifier is the human-readable slug (``acme-corp``) that arrives in headers,
hosts, paths and tokens, so it is validated as hostile input: 3-63 characters of
lowercase ASCII letters, digits and hyphens, starting and ending with a letter or
digit. That makes it a valid DNS label too, so subdomain resolution can use it.
Nothing is normalised: ``ACME`` is rejected, not lowered, so two spellings can
never name the same tenant.
"""

from __future__ import annotations

import re

IDENTIFIER_MIN_LENGTH = 3
IDENTIFIER_MAX_LENGTH = 63
IDENTIFIER_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN, re.ASCII)


def is_valid_identifier(value: str) -> bool:
    """True if ``value`` is a well-formed identifier (says nothing about existence)."""
    return (
        IDENTIFIER_MIN_LENGTH <= len(value) <= IDENTIFIER_MAX_LENGTH
        and _IDENTIFIER.fullmatch(value) is not None
        and "--" not in value
    )
