"""``DatabaseSnapshot``: metrics read from the database when Prometheus scrapes.

Counts that live in tables (tenants by status, jobs by queue and status) are the
same whichever process answers the scrape, so they are read, not counted. A read
is kept for ``ttl`` seconds: several Prometheus servers, or a dashboard refresh,
do not multiply the queries. A source that fails (the database is down) is left
out of that scrape and logged; the scrape itself still answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .metrics import Families

logger = logging.getLogger(__name__)

#: Reads some gauges from the database.
Source = Callable[[], Awaitable[Iterable[GaugeMetricFamily]]]


class DatabaseSnapshot:
    def __init__(self, sources: Sequence[Source], *, ttl: float = 15.0) -> None:
        self._sources = sources
        self._ttl = ttl
        self._body = b""
        self._read_at = float("-inf")

    async def exposition(self) -> bytes:
        if time.monotonic() - self._read_at < self._ttl:
            return self._body
        families: list[GaugeMetricFamily] = []
        for source in self._sources:
            try:
                families.extend(await source())
            except Exception as exc:  # a scrape never fails for a source
                logger.warning("metrics source %s failed: %s", source.__name__, type(exc).__name__)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Families(families))
        self._body, self._read_at = generate_latest(registry), time.monotonic()
        return self._body


def tenants_by_status(engine: AsyncEngine, statuses: Iterable[str]) -> Source:
    """``tenancy_tenants{status}``: every status, 0 included (an alert can rely on it)."""

    async def tenants() -> list[GaugeMetricFamily]:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT status, count(*) FROM public.tenants GROUP BY status")
            )
            counts = {str(status).lower(): int(count) for status, count in rows}
        family = GaugeMetricFamily("tenancy_tenants", "Tenants by status.", labels=["status"])
        for status in statuses:
            family.add_metric([status], counts.get(status, 0))
        return [family]

    return tenants
