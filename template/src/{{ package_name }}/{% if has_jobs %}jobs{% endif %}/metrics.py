"""The job queue's gauges, read from its table at scrape time (``observability/snapshot.py``).

``tenancy_jobs{queue, status}``: how many jobs are in each state; ``tenancy_oldest_
waiting_job_seconds{queue}``: how long the oldest due job has waited (a stuck or
too small worker pool shows here first); ``tenancy_failed_jobs{tenant}``: failed
jobs still kept, for the tenants with the most (``limit``), the rest as ``_other``.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ..observability.metrics import OTHER
from ..observability.snapshot import Source

_BY_STATUS = text(
    "SELECT queue_name, status::text, count(*) FROM public.procrastinate_jobs GROUP BY 1, 2"
)
_OLDEST_WAITING = text(
    """
    SELECT j.queue_name, extract(epoch FROM now() - min(coalesce(j.scheduled_at, e.at)))
    FROM public.procrastinate_jobs j
    JOIN public.procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
    WHERE j.status = 'todo' AND coalesce(j.scheduled_at, e.at) <= now()
    GROUP BY 1
    """
)
_FAILED_BY_TENANT = text(
    """
    SELECT coalesce(args ->> 'identifier', '') AS tenant, count(*) AS failed
    FROM public.procrastinate_jobs
    WHERE status = 'failed' AND args ? 'tenant_id'
    GROUP BY 1 ORDER BY 2 DESC, 1
    """
)


def job_gauges(engine: AsyncEngine, tenant_labels: int) -> Source:
    async def jobs() -> list[GaugeMetricFamily]:
        by_status = GaugeMetricFamily(
            "tenancy_jobs", "Jobs by queue and status.", labels=["queue", "status"]
        )
        oldest = GaugeMetricFamily(
            "tenancy_oldest_waiting_job_seconds",
            "Seconds the oldest due job of each queue has waited.",
            labels=["queue"],
        )
        failed = GaugeMetricFamily(
            "tenancy_failed_jobs", "Failed jobs kept, by tenant.", labels=["tenant"]
        )
        async with engine.connect() as connection:
            for queue, status, count in await connection.execute(_BY_STATUS):
                by_status.add_metric([queue, status], count)
            for queue, seconds in await connection.execute(_OLDEST_WAITING):
                oldest.add_metric([queue], float(seconds))
            rest = 0
            for index, (tenant, count) in enumerate(await connection.execute(_FAILED_BY_TENANT)):
                if index < tenant_labels:
                    failed.add_metric([tenant], count)
                else:
                    rest += count
            if rest:
                failed.add_metric([OTHER], rest)
        return [by_status, oldest, failed]

    return jobs
