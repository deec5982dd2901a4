"""Custom domains' settings (``TENANT_DOMAIN_*``), part of the service's ``Settings``."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, Field, field_validator


class DomainSettings(BaseModel):
    #: The TXT record proving a domain is wanted here is at <prefix>.<domain>.
    tenant_domain_txt_prefix: str = Field(
        default="_tenant-verification", pattern=r"^_[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    )
    #: How long one verification may wait for DNS before it answers 503.
    tenant_domain_dns_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    #: Resolvers to ask ("1.1.1.1", "10.0.0.2:5353", "[::1]:53"); empty: the system's
    #: (/etc/resolv.conf). Ask a recursive resolver that does not cache for long.
    tenant_domain_nameservers: tuple[str, ...] = ()

    @field_validator("tenant_domain_nameservers")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            nameserver_address(entry)  # raises ValueError for what is not one
        return value


def nameserver_address(entry: str) -> tuple[str, int]:
    """``"10.0.0.2:5353"`` -> ``("10.0.0.2", 5353)``; port 53 unless given."""
    host, port = entry, "53"
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"not an IP address: {host!r}") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not a port: {port!r}")
    return host, int(port)
