"""What a custom domain may be, in the one form it is stored and looked up in.

Input is folded to one canonical name before anything else sees it: lowercase,
non-ASCII labels as IDNA punycode (stdlib ``encodings.idna``: ``bücher.example`` is
``xn--bcher-kva.example``; a look-alike of ``acme.com`` with a Cyrillic letter becomes
its own ``xn--`` name, never ``acme.com``), one trailing dot dropped. What cannot be a public
host name (a port, an IP literal, a single label, NUL, lone surrogates, a label over 63
characters, a name over 253) is refused with ``InvalidDomainError`` (422), never passed on.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

from ..errors import TenancyError

#: The longest host name DNS carries (RFC 1035, written without the final dot).
MAX_DOMAIN_LENGTH = 253
#: Input longer than this is refused before it is folded (folding costs time).
_MAX_INPUT = 1024
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class InvalidDomainError(TenancyError):
    """Not a domain this service can serve (malformed, or the service's own)."""

    status_code = 422
    detail = "Invalid domain"


def normalise_domain(raw: str) -> str:
    """``raw`` in canonical form, or ``InvalidDomainError`` saying what is wrong."""
    if len(raw) > _MAX_INPUT:
        raise InvalidDomainError(f"A domain has at most {MAX_DOMAIN_LENGTH} characters")
    name = raw.removesuffix(".")
    if not name.isascii():
        try:  # nameprep folds case and width; refuses what no host name can hold
            name = name.encode("idna").decode("ascii")
        except (UnicodeError, ValueError):
            raise InvalidDomainError("Not a valid internationalised domain name") from None
    name = name.lower()
    labels = name.split(".")
    if len(name) > MAX_DOMAIN_LENGTH:
        raise InvalidDomainError(f"A domain has at most {MAX_DOMAIN_LENGTH} characters")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidDomainError(
            "A domain is two or more labels of letters, digits and inner hyphens "
            "(1-63 characters each), without a port"
        )
    if labels[-1].isdigit() or _is_ip(name):
        raise InvalidDomainError("An IP address is not a domain")
    for label in labels:
        if label.startswith("xn--") and not _is_punycode(label):
            raise InvalidDomainError("Not a valid internationalised domain name")
    return name


def is_within(name: str, base_domain: str) -> bool:
    """Whether ``name`` is ``base_domain`` or a name below it (the service's own hosts)."""
    return name == base_domain or name.endswith("." + base_domain)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_punycode(label: str) -> bool:
    try:
        label.encode("ascii").decode("idna")
    except (UnicodeError, ValueError):
        return False
    return True


def _validated(value: str) -> str:
    try:
        return normalise_domain(value)
    except InvalidDomainError as exc:
        raise ValueError(exc.detail) from None


#: A domain in a request (body or path): canonical, or a 422 saying what is wrong.
DomainName = Annotated[str, AfterValidator(_validated)]
