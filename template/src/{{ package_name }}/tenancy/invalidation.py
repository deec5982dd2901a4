"""Cross-instance cache invalidation over Redis pub/sub.

Every instance keeps an in-process LRU of tenants (``cache.py``). When one
instance changes a tenant it publishes the affected identifiers; every
instance, itself included, drops them from its LRU. A suspension therefore
takes effect everywhere within the pub/sub delivery time (milliseconds).

If Redis is unreachable, messages can be missed: the listener clears the whole
LRU when it reconnects, and in the meantime ``TENANT_CACHE_TTL_SECONDS`` bounds
how long any instance can serve a stale tenant.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .cache import LruTtlCache

logger = logging.getLogger(__name__)
CHANNEL = "tenancy:tenant-changed"


class CacheInvalidation:
    def __init__(self, redis: Redis, cache: LruTtlCache, *, retry_seconds: float = 1.0) -> None:
        self._redis = redis
        self._cache = cache
        self._retry = retry_seconds
        #: Set once the listener is subscribed (tests and readiness can wait on it).
        self.subscribed = asyncio.Event()

    async def publish(self, identifiers: Iterable[str]) -> None:
        try:
            await self._redis.publish(CHANNEL, json.dumps(sorted(set(identifiers))))
        except (RedisError, OSError) as exc:
            logger.warning("could not publish a tenant invalidation: %s", exc)

    async def listen(self) -> None:
        """Run until cancelled: apply every invalidation any instance publishes."""
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._cache.clear()  # whatever was missed while not subscribed
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._cache.invalidate(*json.loads(message["data"]))
            except (RedisError, OSError, ValueError) as exc:
                self.subscribed.clear()
                logger.warning("tenant invalidation listener lost Redis: %s", exc)
                await asyncio.sleep(self._retry)
