"""Proof that whoever controls a domain wants it served here: a DNS TXT record.

``DomainVerifier`` is what the lifecycle asks; ``DnsTxtVerifier`` looks up
``<prefix>.<domain>`` TXT and looks for the domain's token among its strings. The
answers are three, kept apart on purpose: the record holds the token (verified);
the name or the record does not exist, or holds other strings (not verified: 409);
DNS could not answer in time or failed (``VerificationUnavailableError``: 503 with
``Retry-After``, nothing changed). An outage must never read as "not verified" nor,
worse, as "verified".

Tests ask a real resolver too: dnspython's, pointed at a DNS server the test runs on
a local UDP port (``TENANT_DOMAIN_NAMESERVERS``), which serves the zone the test writes.
"""

from __future__ import annotations

import logging
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from ..errors import TenancyError
from .settings import DomainSettings, nameserver_address

logger = logging.getLogger(__name__)


class VerificationUnavailableError(TenancyError):
    """DNS could not say whether the record exists: retry later."""

    status_code = 503
    detail = "DNS is unavailable, verification can be retried shortly"
    retry_after_seconds = 30

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers or {"Retry-After": str(self.retry_after_seconds)})


class DomainVerifier(Protocol):
    async def holds_token(self, domain: str, token: str) -> bool:
        """Whether ``domain``'s verification record holds ``token``.

        Raises ``VerificationUnavailableError`` when the answer cannot be known.
        """
        ...


class DnsTxtVerifier:
    def __init__(
        self, prefix: str, *, timeout: float, nameservers: tuple[tuple[str, int], ...] = ()
    ) -> None:
        self.prefix = prefix
        self._timeout = timeout
        self._nameservers = nameservers
        self._resolver: dns.asyncresolver.Resolver | None = None

    def record_name(self, domain: str) -> str:
        """Where the token goes: ``_tenant-verification.app.acme.com``."""
        return f"{self.prefix}.{domain}"

    async def holds_token(self, domain: str, token: str) -> bool:
        name = self.record_name(domain)
        try:
            answer = await self._resolver_().resolve(
                name, "TXT", lifetime=self._timeout, search=False
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return False
        except dns.exception.DNSException as exc:  # timeout, SERVFAIL, no resolver configured
            logger.warning("DNS could not answer for %s: %s", name, exc)
            raise VerificationUnavailableError() from exc
        expected = token.encode("ascii")
        return any(b"".join(rdata.strings) == expected for rdata in answer)

    def _resolver_(self) -> dns.asyncresolver.Resolver:
        """Built at first use: a machine without /etc/resolv.conf still starts the service."""
        if self._resolver is None:
            resolver = dns.asyncresolver.Resolver(configure=not self._nameservers)
            if self._nameservers:
                resolver.nameservers = [
                    dns.nameserver.Do53Nameserver(host, port) for host, port in self._nameservers
                ]
            resolver.cache = None  # a record just published must be seen
            self._resolver = resolver
        return self._resolver


def build_verifier(settings: DomainSettings) -> DnsTxtVerifier:
    return DnsTxtVerifier(
        settings.tenant_domain_txt_prefix,
        timeout=settings.tenant_domain_dns_timeout_seconds,
        nameservers=tuple(nameserver_address(e) for e in settings.tenant_domain_nameservers),
    )
