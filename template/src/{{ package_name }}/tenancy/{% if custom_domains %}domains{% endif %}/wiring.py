"""The custom domains' parts, built once with the service's (``parts.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from ..cache import LookupBudget, LruTtlCache
from ..wiring import TenancyParts
from .resolver import DomainLookup
from .settings import DomainSettings
from .store import DomainStore, DomainTarget
from .verify import DomainVerifier, build_verifier

Publish = Callable[[Iterable[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Domains:
    store: DomainStore
    #: What requests use: the cache in front of ``store``.
    lookup: DomainLookup
    verifier: DomainVerifier
    #: Hosts under it are subdomains, never custom domains.
    base_domain: str
    #: Where a domain's TXT record goes (``<prefix>.<domain>``).
    txt_prefix: str
    #: Tells every other instance's domain cache of a change (``None``: no Redis).
    publish: Publish | None

    async def changed(self, domain: str) -> None:
        """Forget ``domain`` here at once, and on every instance that hears the channel."""
        self.lookup.cache.invalidate(domain)
        if self.publish is not None:
            await self.publish([domain])


class DomainParts(TenancyParts, Protocol):
    """The application's parts, with its custom domains."""

    @property
    def domains(self) -> Domains: ...


def build_domains(
    settings: DomainSettings,
    engine: AsyncEngine,
    cache: LruTtlCache[DomainTarget],
    budget: LookupBudget,
    *,
    base_domain: str,
    publish: Publish | None,
    verifier: DomainVerifier | None = None,
) -> Domains:
    """The domain registry on ``engine``; ``verifier``: the DNS TXT check unless given."""
    store = DomainStore(engine)
    chosen: DomainVerifier = verifier if verifier is not None else build_verifier(settings)
    return Domains(
        store=store,
        lookup=DomainLookup(store, cache, budget),
        verifier=chosen,
        base_domain=base_domain,
        txt_prefix=settings.tenant_domain_txt_prefix,
        publish=publish,
    )
