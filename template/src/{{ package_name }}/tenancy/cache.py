"""An in-process LRU + TTL cache in front of a tenant store, for resolution.

Every request resolves its tenant, so ``get_by_identifier`` is served from memory.
Misses are cached too (as "no such tenant"), so a client sending random
identifiers cannot turn each request into a database query.

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

from .models import Tenant, TenantCreate, TenantStatus, TenantUpdate
from .stores.base import TenantStore


class LruTtlCache:
    """Identifier -> tenant (or ``None`` for "does not exist"), bounded in size and age."""

    def __init__(self, *, max_size: int, ttl_seconds: float) -> None:
        self._entries: OrderedDict[str, tuple[float, Tenant | None]] = OrderedDict()
        self._max_size = max_size
        self._ttl = ttl_seconds
        #: Bumped by every invalidation, so a load that started before one
        #: does not store what it read (it may be stale).
        self.generation = 0

    def get(self, key: str) -> tuple[bool, Tenant | None]:
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires_at, value = entry
        if expires_at <= time.monotonic():
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, value

    def put(self, key: str, value: Tenant | None) -> None:
        if self._ttl <= 0:
            return
        self._entries[key] = (time.monotonic() + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def invalidate(self, *keys: str) -> None:
        self.generation += 1
        for key in keys:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class CachedTenantStore:
    """A ``TenantStore`` that serves identifier lookups from an ``LruTtlCache``."""

    def __init__(
        self,
        store: TenantStore,
        cache: LruTtlCache,
        on_change: Callable[[Iterable[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self.cache = cache
        #: Told the identifiers of every change (e.g. to invalidate other instances).
        self._on_change = on_change
        self._inflight: dict[str, asyncio.Future[Tenant | None]] = {}

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

    async def create(self, data: TenantCreate, status: TenantStatus) -> Tenant:
        tenant = await self._store.create(data, status)
        await self._changed(tenant.identifier)
        return tenant

    async def update(self, tenant_id: uuid.UUID, changes: TenantUpdate) -> Tenant | None:
        """Drop the cache entries of the old and the new identifier (rls may rename)."""
        before = await self._store.get(tenant_id)
        after = await self._store.update(tenant_id, changes)
        await self._changed(*{t.identifier for t in (before, after) if t is not None})
        return after

    async def set_status(self, tenant_id: uuid.UUID, status: TenantStatus) -> Tenant | None:
        tenant = await self._store.set_status(tenant_id, status)  # the identifier stays
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
