"""Custom domains in subdomain resolution: ``app.acme.com`` names tenant ``acme``.

A host below the base domain is the subdomain resolver's, unchanged. Any other
host name is looked up as a custom domain: only an ``active`` one names a tenant;
an unknown or pending one is answered like a host that names nothing (400), so a
client cannot tell which domains are registered. The lookup is cached like tenants
(found and not found, in an ``LruTtlCache`` that the invalidation channel clears on
every instance as ``domains``), and a lookup that may reach the database spends from
the same per-client budget as unknown identifiers: a flood of invented hosts costs at
most that budget in queries, then 429s.

The resolution carries the tenant's id as well as its identifier: the middleware
refuses (404) a tenant found under that identifier with another id, so a cached
domain can never lead to whoever holds its tenant's identifier after a rename or a
purge. The tenant's own status applies as for its subdomain (suspended: 403;
deleted: 404).
"""

from __future__ import annotations

from starlette.types import Scope

from ..cache import LookupBudget, LruTtlCache
from ..errors import TenantResolutionError, UnknownTenantLookupsError
from ..resolvers.base import Resolution, client_of
from ..resolvers.subdomain import SubdomainResolver
from .names import InvalidDomainError, normalise_domain
from .store import DomainStore, DomainTarget

#: The name the domain cache's invalidation messages carry.
CACHE_NAME = "domains"


class DomainLookup:
    """Domain -> where it leads (active domains only): the cache, then the table."""

    def __init__(
        self, store: DomainStore, cache: LruTtlCache[DomainTarget], budget: LookupBudget
    ) -> None:
        self.store = store
        self.cache = cache
        self.budget = budget
        #: Lookups that went past the cache to the table (for tests and metrics).
        self.loads = 0

    async def find(self, domain: str, client: str) -> DomainTarget | None:
        cached, target = self.cache.get(domain)
        if cached:
            return target
        if not self.budget.allows(client):
            retry_after = str(self.budget.retry_after(client))
            raise UnknownTenantLookupsError(headers={"Retry-After": retry_after})
        generation = self.cache.generation
        self.loads += 1
        target = await self.store.target(domain)
        if target is None:
            self.budget.spend(client)
        if generation == self.cache.generation:  # no change was announced meanwhile
            self.cache.put(domain, target)
        return target


class CustomDomainResolver:
    """The subdomain resolver, and custom domains for hosts outside its base domain."""

    def __init__(self, subdomains: SubdomainResolver, domains: DomainLookup) -> None:
        self.subdomains = subdomains
        self.domains = domains

    async def resolve(self, scope: Scope) -> Resolution:
        name = self.subdomains.host(scope)
        if name is None or self.subdomains.is_own(name):
            return await self.subdomains.resolve(scope)
        try:
            domain = normalise_domain(name)
        except InvalidDomainError:
            raise TenantResolutionError("Host does not name a tenant") from None
        target = await self.domains.find(domain, client_of(scope))
        if target is None:
            raise TenantResolutionError("Host does not name a tenant")
        return Resolution(identifier=target.identifier, tenant_id=target.tenant_id)
