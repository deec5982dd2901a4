"""An in-process LRU + TTL cache in front of a tenant store, for resolution.

Every request resolves its tenant, so ``get_by_identifier`` is served from memory.
Misses are cached too (as "no such tenant"), in a partition of their own: a
client sending random identifiers can neither turn each request into a database
query for long nor push real tenants out of the cache. (The middleware also
bounds how many unknown identifiers one client may look up: ``TenantLookup``.)

``CachedTenantStore`` implements ``TenantStore`` itself and every write goes
through it, so this instance drops the entries a write touches at once. Other
instances see a change when their entry expires: ``TENANT_CACHE_TTL_SECONDS`` is
the bound on how long a suspension takes to reach every instance.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, Protocol, TypeVar

from .errors import UnknownTenantLookupsError
from .stores.base import TenantStore
from .tenant import Tenant, TenantCreate, TenantStatus, TenantUpdate

V = TypeVar("V")


class CacheMeter(Protocol):
    """Told of every hit, miss and eviction (e.g. the service's Prometheus counters)."""

    def hit(self) -> None: ...

    def miss(self) -> None: ...

    def evicted(self) -> None: ...


class _Unmetered:
    def hit(self) -> None:
        pass

    def miss(self) -> None:
        pass

    def evicted(self) -> None:
        pass


UNMETERED: CacheMeter = _Unmetered()


class LruTtlCache(Generic[V]):
    """Key -> value (or ``None`` for "does not exist"), bounded in size and age.

    Values and misses are kept apart, each bounded and evicted least recently used
    first, so however many misses arrive, they only ever evict other misses. The
    tenant cache maps identifiers to tenants; other caches (the service's own, e.g.
    memberships) use it too, so one invalidation channel serves them all.
    """

    def __init__(self, *, max_size: int, ttl_seconds: float, max_missing: int = 10_000) -> None:
        self._found: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._missing: OrderedDict[str, float] = OrderedDict()
        self._max_size = max_size
        self._max_missing = max_missing
        self._ttl = ttl_seconds
        #: Counts hits, misses and evictions; set by whoever watches (``parts.py``).
        self.meter = UNMETERED
        #: Bumped by every invalidation, so a load that started before one
        #: does not store what it read (it may be stale).
        self.generation = 0

    def get(self, key: str) -> tuple[bool, V | None]:
        now = time.monotonic()
        entry = self._found.get(key)
        if entry is not None:
            if entry[0] > now:
                self._found.move_to_end(key)
                self.meter.hit()
                return True, entry[1]
            del self._found[key]
        expires_at = self._missing.get(key)
        if expires_at is not None:
            if expires_at > now:
                self.meter.hit()
                return True, None
            del self._missing[key]
        self.meter.miss()
        return False, None

    def put(self, key: str, value: V | None) -> None:
        if self._ttl <= 0:
            return
        expires_at = time.monotonic() + self._ttl
        if value is None:
            evicted = _put(self._missing, key, expires_at, self._max_missing)
            self._found.pop(key, None)
        else:
            evicted = _put(self._found, key, (expires_at, value), self._max_size)
            self._missing.pop(key, None)
        for _ in range(evicted):
            self.meter.evicted()

    def invalidate(self, *keys: str) -> None:
        self.generation += 1
        for key in keys:
            self._found.pop(key, None)
            self._missing.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._found.clear()
        self._missing.clear()

    def __len__(self) -> int:
        """Values cached (misses not counted)."""
        return len(self._found)


def _put(entries: OrderedDict[str, V], key: str, value: V, max_size: int) -> int:
    """Store ``value``; returns how many entries were evicted to make room."""
    entries[key] = value
    entries.move_to_end(key)
    evicted = 0
    while len(entries) > max_size:
        entries.popitem(last=False)
        evicted += 1
    return evicted


class LookupBudget:
    """How many unknown identifiers each client may have looked up per minute.

    A known tenant is served from the cache; an identifier nobody has asked for
    costs a database query. ``spend`` is called for each lookup that found
    nothing; once a client has spent its budget, ``allows`` says no until the
    minute is over, and the middleware answers 429 without a query. Clients are
    kept in a bounded LRU: forgetting one only gives it a fresh budget.
    """

    def __init__(self, per_minute: int, *, max_clients: int = 10_000) -> None:
        self._per_minute = per_minute
        self._max_clients = max_clients
        self._spent: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def allows(self, client: str) -> bool:
        return self._per_minute <= 0 or self._current(client)[1] < self._per_minute

    def retry_after(self, client: str) -> int:
        """Whole seconds until ``client``'s budget is renewed."""
        return max(1, int(self._current(client)[0] - time.monotonic()) + 1)

    def spend(self, client: str) -> None:
        if self._per_minute > 0:
            renews_at, spent = self._current(client)
            _put(self._spent, client, (renews_at, spent + 1), self._max_clients)

    def _current(self, client: str) -> tuple[float, int]:
        now = time.monotonic()
        renews_at, spent = self._spent.get(client, (0.0, 0))
        return (renews_at, spent) if renews_at > now else (now + 60.0, 0)


class CachedTenantStore:
    """A ``TenantStore`` that serves identifier lookups from an ``LruTtlCache``."""

    def __init__(
        self,
        store: TenantStore,
        cache: LruTtlCache[Tenant],
        on_change: Callable[[Iterable[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self.cache = cache
        #: Told the identifiers of every change (e.g. to invalidate other instances).
        self._on_change = on_change
        self._inflight: dict[str, asyncio.Future[Tenant | None]] = {}
        #: Identifier lookups that went past the cache to the store (for metrics and tests).
        self.loads = 0

    async def get_by_identifier(self, identifier: str) -> Tenant | None:
        hit, tenant = self.cache.get(identifier)
        if hit:
            return tenant
        # One database lookup per identifier at a time, however many requests wait.
        pending = self._inflight.get(identifier)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Tenant | None] = asyncio.get_running_loop().create_future()
        self._inflight[identifier] = future
        generation = self.cache.generation
        self.loads += 1
        try:
            tenant = await self._store.get_by_identifier(identifier)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._inflight[identifier]
        if generation == self.cache.generation:
            self.cache.put(identifier, tenant)
        future.set_result(tenant)
        return tenant

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self._store.get(tenant_id)

    async def create(
        self,
        data: TenantCreate,
        status: TenantStatus,
        *,
        tenant_id: uuid.UUID,
        namespace: str | None,
    ) -> Tenant:
        tenant = await self._store.create(data, status, tenant_id=tenant_id, namespace=namespace)
        await self._changed(tenant.identifier)
        return tenant

    async def update(
        self, tenant_id: uuid.UUID, changes: TenantUpdate, *, expected_version: int | None = None
    ) -> Tenant | None:
        """Drop the cache entries of the old and the new identifier (rls may rename)."""
        before = await self._store.get(tenant_id)
        after = await self._store.update(tenant_id, changes, expected_version=expected_version)
        await self._changed(*{t.identifier for t in (before, after) if t is not None})
        return after

    async def set_status(
        self, tenant_id: uuid.UUID, status: TenantStatus, *, expected_version: int | None = None
    ) -> Tenant | None:
        # The identifier stays: one entry to drop.
        tenant = await self._store.set_status(tenant_id, status, expected_version=expected_version)
        await self._changed(*([tenant.identifier] if tenant else []))
        return tenant

    async def list(
        self, *, limit: int, offset: int, status: TenantStatus | None = None
    ) -> list[Tenant]:
        return await self._store.list(limit=limit, offset=offset, status=status)

    async def count(self, *, status: TenantStatus | None = None) -> int:
        return await self._store.count(status=status)

    async def delete(self, tenant_id: uuid.UUID) -> bool:
        before = await self._store.get(tenant_id)
        deleted = await self._store.delete(tenant_id)
        await self._changed(*([before.identifier] if before else []))
        return deleted

    async def _changed(self, *identifiers: str) -> None:
        self.cache.invalidate(*identifiers)
        if self._on_change is not None and identifiers:
            await self._on_change(identifiers)


class TenantLookup:
    """Identifier -> tenant for a request: the cache, then the store within a budget.

    The one way requests find their tenant (the middleware, and resolvers that need
    the tenant to check a credential). A cached answer, tenant or "no such tenant",
    costs nothing. A lookup that may reach the database is allowed only while the
    requesting client has budget left (``LookupBudget``); each that finds nothing
    spends from it, so a flood of random identifiers from one client costs at most
    the budget in queries, and then 429s.
    """

    def __init__(self, store: CachedTenantStore, budget: LookupBudget) -> None:
        self.store = store
        self.budget = budget

    async def find(self, identifier: str, client: str) -> Tenant | None:
        cached, tenant = self.store.cache.get(identifier)
        if cached:
            return tenant
        if not self.budget.allows(client):
            retry_after = str(self.budget.retry_after(client))
            raise UnknownTenantLookupsError(headers={"Retry-After": retry_after})
        tenant = await self.store.get_by_identifier(identifier)
        if tenant is None:
            self.budget.spend(client)
        return tenant
