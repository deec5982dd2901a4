"""Background jobs that always run as the tenant that queued them (procrastinate).

Read ``definitions`` (``@tenant_job``, ``@platform_job``), ``queue`` (queueing in
the caller's transaction), ``runner`` (what the worker does with each job),
``worker`` (the process: retries, schedules, upkeep) and ``operations`` (list,
retry, cancel). The service's own jobs are in ``tasks.py``; the ``worker`` command
imports it, so define yours there or import your modules from it.
"""

from .definitions import (
    JOBS,
    PlatformJob,
    PlatformJobContext,
    TenantJob,
    TenantJobContext,
    platform_job,
    tenant_job,
)

__all__ = [
    "JOBS",
    "PlatformJob",
    "PlatformJobContext",
    "TenantJob",
    "TenantJobContext",
    "platform_job",
    "tenant_job",
]
