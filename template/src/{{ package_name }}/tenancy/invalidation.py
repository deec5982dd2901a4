"""Cross-instance cache invalidation over Redis pub/sub.

Every instance keeps an in-process LRU of tenants (``cache.py``). When one
instance changes a tenant it publishes the affected identifiers; every
instance, itself included, drops them from its LRU. A suspension therefore
takes effect everywhere within the pub/sub delivery time (milliseconds).

The same channel carries the keys of the service's other caches (``caches``, by
name: memberships, users...), so a change to them reaches every instance the same
way. A tenant message is a JSON list of identifiers (what instances of earlier
versions send and understand); another cache's is ``{"cache": name, "keys": [...]}``,
which an earlier version reads as a list of two unknown identifiers: harmless.

If Redis is unreachable, messages can be missed: the listener clears every cache
when it reconnects, and in the meantime each cache's TTL bounds how long any
instance can serve a stale entry.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .cache import LruTtlCache

logger = logging.getLogger(__name__)
CHANNEL = "tenancy:tenant-changed"


class CacheInvalidation:
    def __init__(
        self,
        redis: Redis,
        cache: LruTtlCache[Any],
        *,
        caches: Mapping[str, LruTtlCache[Any]] | None = None,
        retry_seconds: float = 1.0,
    ) -> None:
        self._redis = redis
        self._cache = cache
        #: The service's other caches, by the name their messages carry.
        self._caches = dict(caches or {})
        self._retry = retry_seconds
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        #: Set while the listener is subscribed (tests and readiness can wait on it).
        self.subscribed = asyncio.Event()

    async def publish(self, identifiers: Iterable[str]) -> None:
        """Tell every instance that these tenants changed."""
        await self._send(json.dumps(sorted(set(identifiers))))

    def publisher(self, cache: str) -> Callable[[Iterable[str]], Awaitable[None]]:
        """``publish`` for the cache registered as ``cache``."""
        if cache not in self._caches:
            raise KeyError(f"no cache named {cache!r} is registered")

        async def publish(keys: Iterable[str]) -> None:
            await self._send(json.dumps({"cache": cache, "keys": sorted(set(keys))}))

        return publish

    async def _send(self, message: str) -> None:
        try:
            await self._redis.publish(CHANNEL, message)
        except (RedisError, OSError) as exc:
            logger.warning("could not publish a cache invalidation: %s", exc)

    def _clear_all(self) -> None:
        self._cache.clear()
        for cache in self._caches.values():
            cache.clear()

    def _receive(self, data: Any) -> None:
        message = json.loads(data)
        if isinstance(message, list):
            self._cache.invalidate(*message)
        elif isinstance(message, dict) and message.get("cache") in self._caches:
            self._caches[message["cache"]].invalidate(*message.get("keys", []))

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
                    self._clear_all()  # whatever was missed while not subscribed
                    self.subscribed.set()
                    while not self._closing:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None:
                            self._receive(message["data"])
            except (RedisError, OSError, ValueError) as exc:
                self.subscribed.clear()
                if not self._closing:
                    logger.warning("tenant invalidation listener lost Redis: %s", exc)
                    await asyncio.sleep(self._retry)
