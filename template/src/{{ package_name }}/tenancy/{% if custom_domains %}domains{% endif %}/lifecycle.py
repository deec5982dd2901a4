"""Add, verify, remove and list a tenant's custom domains.

The admin API and the CLI both go through these functions. Each change is made in
the table first, then announced (the local cache forgets the domain at once, other
instances when they hear the invalidation channel), then recorded as a lifecycle
event. A domain resolves only once ``verify_domain`` has seen its token in DNS, and
stops resolving on every instance as soon as ``remove_domain`` returns.
"""

from __future__ import annotations

import secrets
import uuid

from ..errors import TenancyError, TenantNotFoundError
from ..events import RequestInfo
from ..tenant import Tenant, TenantStatus
from .names import MAX_DOMAIN_LENGTH, InvalidDomainError, is_within
from .store import Domain, DomainStatus
from .wiring import DomainParts


class DomainNotFoundError(TenancyError):
    status_code = 404
    detail = "The tenant has no such domain"


class DomainNotVerifiedError(TenancyError):
    status_code = 409
    detail = "The domain's TXT record does not hold its verification token"


class TenantClosedError(TenancyError):
    status_code = 409
    detail = "Only active or suspended tenants have domains"


async def _usable_tenant(tenant_id: uuid.UUID, parts: DomainParts) -> Tenant:
    tenant = await parts.store.get(tenant_id)
    if tenant is None:
        raise TenantNotFoundError()
    if tenant.status not in (TenantStatus.ACTIVE, TenantStatus.SUSPENDED):
        raise TenantClosedError()
    return tenant


async def add_domain(
    tenant_id: uuid.UUID, domain: str, parts: DomainParts, info: RequestInfo
) -> tuple[Domain, bool]:
    """Claim canonical ``domain`` for the tenant as pending: ``(domain, added)``.

    Adding a domain the tenant has already changes nothing (``added`` is false);
    another tenant's is a 409 (``DomainTakenError``), pending or active.
    """
    domains = parts.domains
    if is_within(domain, domains.base_domain):
        raise InvalidDomainError(
            f"Hosts under {domains.base_domain} are tenants' subdomains, not custom domains"
        )
    if len(domains.txt_prefix) + 1 + len(domain) > MAX_DOMAIN_LENGTH:
        raise InvalidDomainError("The domain is too long to hold its verification record")
    tenant = await _usable_tenant(tenant_id, parts)
    token = secrets.token_urlsafe(24)
    claimed, added = await domains.store.claim(tenant.id, domain, token)
    if added:
        await domains.changed(domain)
        await parts.events.record_event(tenant.id, "tenant.domain.add", info, {"domain": domain})
    return claimed, added


async def verify_domain(
    tenant_id: uuid.UUID, domain: str, parts: DomainParts, info: RequestInfo
) -> Domain:
    """Activate the tenant's domain if its TXT record holds the token (409 if not).

    A DNS outage is a 503 that changes nothing. Verifying an active domain again
    asks nothing and changes nothing.
    """
    domains = parts.domains
    tenant = await _usable_tenant(tenant_id, parts)
    current = await domains.store.get(tenant.id, domain)
    if current is None:
        raise DomainNotFoundError()
    if current.status is DomainStatus.ACTIVE:
        return current
    if not await domains.verifier.holds_token(domain, current.verification_token):
        record = f"{domains.txt_prefix}.{domain}"
        raise DomainNotVerifiedError(f"No TXT record at {record} holds the verification token")
    # Only the claim that was checked: removed and added again meanwhile, it has a new token.
    active = await domains.store.activate(tenant.id, domain, current.verification_token)
    if active is None:
        raise DomainNotFoundError()
    await domains.changed(domain)
    await parts.events.record_event(tenant.id, "tenant.domain.verify", info, {"domain": domain})
    return active


async def remove_domain(
    tenant_id: uuid.UUID, domain: str, parts: DomainParts, info: RequestInfo
) -> None:
    """Remove the tenant's domain: it stops resolving everywhere (404 if not the tenant's)."""
    tenant = await parts.store.get(tenant_id)
    if tenant is None:
        raise TenantNotFoundError()
    if not await parts.domains.store.remove(tenant.id, domain):
        raise DomainNotFoundError()
    await parts.domains.changed(domain)
    await parts.events.record_event(tenant.id, "tenant.domain.remove", info, {"domain": domain})


async def list_domains(tenant_id: uuid.UUID, parts: DomainParts) -> list[Domain]:
    """The tenant's domains, pending and active, by name."""
    tenant = await parts.store.get(tenant_id)
    if tenant is None:
        raise TenantNotFoundError()
    return await parts.domains.store.list(tenant.id)
