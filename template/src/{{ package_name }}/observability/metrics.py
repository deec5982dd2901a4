"""Prometheus metrics: requests by route and by tenant, and the tenancy layer's internals.

Built once per process (``build_metrics``) and passed to what records into it: the
access middleware, the tenancy middleware's refusals, the tenant cache, the database
pool. ``GET /metrics`` (``api/metrics.py``) exposes them with what is read from the
database at scrape time (``snapshot.py``).

Cardinality is bounded whatever the traffic: routes are templates, statuses a short
list, and tenants get a label of their own only for the first
``METRICS_TENANT_LABELS`` seen by this process; every later tenant is ``_other``
(never a valid identifier, so no tenant can pose as the rest). With several worker
processes the bound is per process.

Several worker processes (``serve --workers N``) each count their own requests; with
``PROMETHEUS_MULTIPROC_DIR`` set (``serve`` sets it when N > 1) they write to files
there and a scrape, answered by any one of them, sums them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, write_to_textfile
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..tenancy.tenant import Tenant
from ..tenancy.upgrade import MigrationReport

OTHER = "_other"
#: Seconds: from a cached tenant lookup to a slow export.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class TenantLabels:
    """Tenant -> label: its identifier for the first ``cap`` tenants, ``_other`` after."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._labels: dict[str, str] = {}

    def __call__(self, tenant: Tenant) -> str:
        label = self._labels.get(tenant.identifier)
        if label is None:
            label = tenant.identifier if len(self._labels) < self.cap else OTHER
            if label != OTHER:
                self._labels[tenant.identifier] = label
        return label


@dataclass(slots=True)
class RequestMetrics:
    requests: Counter
    duration: Histogram
    tenant_requests: Counter
    tenant_seconds: Counter
    tenant_label: TenantLabels
    #: Label children already made: ``labels()`` takes a lock and builds a tuple each call.
    #: Bounded like the series: routes x statuses, and (cap + 1) tenant labels x statuses.
    _children: dict[tuple[str, str, int], tuple[Any, Any]] = field(default_factory=dict)
    _tenant_children: dict[tuple[str, int], tuple[Any, Any]] = field(default_factory=dict)

    def observe(
        self, method: str, route: str, status: int, seconds: float, tenant: Tenant | None
    ) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if tenant is not None:
            label = self.tenant_label(tenant)
            tenant_children = self._tenant_children.get((label, status))
            if tenant_children is None:
                tenant_children = (
                    self.tenant_requests.labels(label, str(status)),
                    self.tenant_seconds.labels(label),
                )
                self._tenant_children[(label, status)] = tenant_children
            tenant_children[0].inc()
            tenant_children[1].inc(seconds)


class CacheMeter:
    """Counts one cache's hits, misses and evictions (``LruTtlCache.meter``)."""

    __slots__ = ("_evictions", "_hits", "_misses")

    def __init__(self, hits: Any, misses: Any, evictions: Any) -> None:
        self._hits, self._misses, self._evictions = hits, misses, evictions

    def hit(self) -> None:
        self._hits.inc()

    def miss(self) -> None:
        self._misses.inc()

    def evicted(self) -> None:
        self._evictions.inc()


@dataclass(slots=True)
class Metrics:
    registry: CollectorRegistry
    request: RequestMetrics
    resolution_failures: Counter
    rate_limited: Counter
    cache_hits: Counter
    cache_misses: Counter
    cache_evictions: Counter
    db_in_use: Gauge
    db_overflow: Gauge
    db_pool_size: Gauge
    db_pool_timeouts: Counter

    def cache_meter(self, cache: str) -> CacheMeter:
        return CacheMeter(
            self.cache_hits.labels(cache),
            self.cache_misses.labels(cache),
            self.cache_evictions.labels(cache),
        )

    def refused(self, status: int, tenant: Tenant | None, cause: BaseException) -> None:
        """The tenancy middleware refused a request (``TenancyMiddleware(on_refusal=)``)."""
        self.resolution_failures.labels(str(status)).inc()
        if status == 429 and tenant is not None:
            self.rate_limited.labels(self.request.tenant_label(tenant)).inc()
        self.database_error(cause)

    def database_error(self, cause: BaseException) -> None:
        if isinstance(cause, PoolTimeoutError):
            self.db_pool_timeouts.inc()

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Connections in use and beyond the pool's size, kept current by pool events."""
        pool: Any = engine.sync_engine.pool
        self.db_pool_size.set(pool.size())

        def checked_out(*_: object) -> None:
            self.db_in_use.inc()
            self.db_overflow.set(max(pool.overflow(), 0))

        def checked_in(*_: object) -> None:
            self.db_in_use.dec()

        event.listen(pool, "checkout", checked_out)
        event.listen(pool, "checkin", checked_in)

    def exposition_registry(self) -> CollectorRegistry:
        """What a scrape reads: this process's registry, or every process's files."""
        if multiprocess_dir() is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry


def build_metrics(tenant_labels: int) -> Metrics:
    """The service's metrics, in a registry of their own (so each app, e.g. each test's,
    starts from zero)."""
    registry = CollectorRegistry()
    tenant_label = TenantLabels(tenant_labels)
    return Metrics(
        registry=registry,
        request=RequestMetrics(
            requests=Counter(
                "http_requests",
                "HTTP requests by method, route template and status.",
                ["method", "route", "status"],
                registry=registry,
            ),
            duration=Histogram(
                "http_request_duration_seconds",
                "HTTP request duration by method and route template.",
                ["method", "route"],
                buckets=BUCKETS,
                registry=registry,
            ),
            tenant_requests=Counter(
                "tenant_http_requests",
                "HTTP requests by tenant (the first METRICS_TENANT_LABELS, then _other).",
                ["tenant", "status"],
                registry=registry,
            ),
            tenant_seconds=Counter(
                "tenant_http_request_seconds",
                "Seconds spent serving each tenant's requests (rate / request rate = mean).",
                ["tenant"],
                registry=registry,
            ),
            tenant_label=tenant_label,
        ),
        resolution_failures=Counter(
            "tenancy_resolution_failures",
            "Requests the tenancy middleware refused, by status "
            "(400 malformed, 401 credential, 403 suspended or not a member, 404 unknown, "
            "429 too many lookups or rate limited, 503 database unavailable).",
            ["reason"],
            registry=registry,
        ),
        rate_limited=Counter(
            "tenancy_rate_limited",
            "Requests refused by the tenant's rate limit, by tenant.",
            ["tenant"],
            registry=registry,
        ),
        cache_hits=Counter(
            "tenancy_cache_hits",
            "Cache lookups answered from memory.",
            ["cache"],
            registry=registry,
        ),
        cache_misses=Counter(
            "tenancy_cache_misses",
            "Cache lookups that went to the store.",
            ["cache"],
            registry=registry,
        ),
        cache_evictions=Counter(
            "tenancy_cache_evictions",
            "Entries dropped to stay within the cache's size.",
            ["cache"],
            registry=registry,
        ),
        db_in_use=Gauge(
            "tenancy_db_connections_in_use",
            "Database connections checked out of the pool.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        db_overflow=Gauge(
            "tenancy_db_connections_overflow",
            "Connections open beyond DB_POOL_SIZE (up to DB_MAX_OVERFLOW).",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        db_pool_size=Gauge(
            "tenancy_db_pool_size",
            "DB_POOL_SIZE, per process (summed over processes).",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        db_pool_timeouts=Counter(
            "tenancy_db_pool_timeouts",
            "Requests that waited DB_POOL_TIMEOUT_SECONDS for a connection and got 503.",
            registry=registry,
        ),
    )


def write_migration_metrics(path: str, report: MigrationReport, seconds: float) -> None:
    """The result of a ``migrate`` run in Prometheus' text format, for node-exporter's
    textfile collector (``migrate --metrics-file``): a one-shot command has no scrape."""
    namespaces = GaugeMetricFamily(
        "tenancy_migration_namespaces",
        "Tenant namespaces after the last migrate run: at head, failed, not at head.",
        labels=["result"],
    )
    namespaces.add_metric(["upgraded"], len(report.revisions) - len(report.behind))
    namespaces.add_metric(["failed"], len(report.failed))
    namespaces.add_metric(["behind"], len(report.behind))
    finished = GaugeMetricFamily(
        "tenancy_migration_last_run_timestamp_seconds", "When the last migrate run ended."
    )
    finished.add_metric([], time.time())
    duration = GaugeMetricFamily(
        "tenancy_migration_duration_seconds", "How long the last migrate run took."
    )
    duration.add_metric([], seconds)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families([namespaces, finished, duration]))
    write_to_textfile(path, registry)


class Families(Collector):
    """Metric families computed elsewhere (from tables, from a run), for a registry."""

    def __init__(self, families: Sequence[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self._families
