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
from contextlib import suppress

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
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        #: Set while the listener is subscribed (tests and readiness can wait on it).
        self.subscribed = asyncio.Event()

    async def publish(self, identifiers: Iterable[str]) -> None:
        try:
            await self._redis.publish(CHANNEL, json.dumps(sorted(set(identifiers))))
        except (RedisError, OSError) as exc:
            logger.warning("could not publish a tenant invalidation: %s", exc)

    def start(self) -> None:
        """Start listening in the background (at application start-up)."""
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        """Stop listening. Does not rely on cancellation alone: a cancel that lands
        while the client is connecting can be swallowed, so the loop also checks a
        flag at least once a second."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while not self._closing:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._cache.clear()  # whatever was missed while not subscribed
                    self.subscribed.set()
                    while not self._closing:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None:
                            self._cache.invalidate(*json.loads(message["data"]))
            except (RedisError, OSError, ValueError) as exc:
                self.subscribed.clear()
                if not self._closing:
                    logger.warning("tenant invalidation listener lost Redis: %s", exc)
                    await asyncio.sleep(self._retry)
