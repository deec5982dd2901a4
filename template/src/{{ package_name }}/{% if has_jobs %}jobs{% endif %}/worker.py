"""The worker: procrastinate's, running the service's jobs as their tenants.

``build_queue`` turns every definition in ``JOBS`` into a procrastinate task with
``TenantRetry`` and adds the queue's own upkeep; ``run_worker`` runs them with the
service's parts (built once by the caller and handed to every job).

Delivery is at least once: a job runs again after a failure (exponential backoff,
``max_attempts`` runs in all), after a graceful shutdown that had to interrupt it
(``JOBS_SHUTDOWN_GRACE_SECONDS``), and after its worker died: a worker that stops
sending heartbeats for ``JOBS_STALLED_AFTER_SECONDS`` has its jobs queued again by
``jobs.retry-stalled``, a periodic job. Write jobs that can run twice.

Scheduled jobs are deferred by every worker's periodic deferrer, and procrastinate
records each (task, time) once: two workers never queue the same run twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate.app import WorkerOptions
from procrastinate.exceptions import JobAborted
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy.engine import make_url

from ..tenancy.db import Pooler
from ..tenancy.tenant import TenantStatus
from .definitions import JOBS, PlatformJob, TenantJob
from .queue import enqueue
from .runner import TenantUnavailableError, run_platform_job, run_tenant_job
from .tracing import job_span

if TYPE_CHECKING:
    from ..parts import Parts
    from ..settings import Settings

logger = logging.getLogger(__name__)
#: Tenants read per page when a scheduled tenant job fans out.
_FAN_OUT_PAGE = 500
#: asyncpg's URL options that mean nothing to libpq (psycopg).
_ASYNCPG_ONLY = frozenset(
    {"prepared_statement_cache_size", "statement_cache_size", "command_timeout"}
)


class TenantRetry(BaseRetryStrategy):
    """Backoff for failures, patience for unavailable tenants, at once after a shutdown."""

    def __init__(
        self,
        *,
        max_attempts: int,
        base_seconds: float,
        max_seconds: float,
        unavailable_seconds: float,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.unavailable_seconds = unavailable_seconds

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, TenantUnavailableError):
            return _after(self.unavailable_seconds)
        if isinstance(exception, (asyncio.CancelledError, JobAborted)):
            return _after(0)  # a shutdown interrupted it (``_add`` makes an operator's final)
        if job.attempts + 1 >= self.max_attempts:
            return None
        wait = min(self.max_seconds, self.base_seconds * 2**job.attempts)
        return _after(wait * random.uniform(0.5, 1.0))  # noqa: S311


def _after(seconds: float) -> RetryDecision:
    return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=seconds))


def psycopg_conninfo(database_url: str) -> str:
    """``DATABASE_URL`` (SQLAlchemy's asyncpg URL) as a libpq connection URI."""
    url = make_url(database_url).set(drivername="postgresql")
    query = {key: value for key, value in url.query.items() if key not in _ASYNCPG_ONLY}
    if "ssl" in query:  # asyncpg's name for libpq's sslmode
        query["sslmode"] = query.pop("ssl")
    return url.set(query=query).render_as_string(hide_password=False)


def queue_through_pooler(settings: Settings) -> bool:
    """Whether the queue's connections go through a transaction pooler (DATABASE_POOLER,
    no DATABASE_DIRECT_URL): then they prepare nothing and the worker does not LISTEN."""
    return settings.database_pooler is Pooler.PGBOUNCER and not settings.database_direct_url


def build_queue(settings: Settings, *, connections: int = 4) -> procrastinate.App:
    """A procrastinate app with every job of ``JOBS`` (import your job modules first)."""
    url = settings.database_direct_url or settings.database_url
    assert url is not None
    # Through a transaction pooler psycopg must not prepare statements (it does after a
    # query's fifth run): the server connection serves other clients in between.
    pooled = queue_through_pooler(settings)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=psycopg_conninfo(url),
            min_size=1,
            max_size=connections,
            kwargs={"prepare_threshold": None} if pooled else {},
        )
    )
    for job in JOBS.values():
        _add(app, job, settings)
    _add_upkeep(app, settings)
    return app


def _retry(settings: Settings, max_attempts: int) -> TenantRetry:
    return TenantRetry(
        max_attempts=max_attempts,
        base_seconds=settings.jobs_retry_base_seconds,
        max_seconds=settings.jobs_retry_max_seconds,
        unavailable_seconds=settings.jobs_unavailable_retry_seconds,
    )


def _parts(context: procrastinate.JobContext) -> Parts:
    parts: Parts = context.additional_context["parts"]
    return parts


def _add(
    app: procrastinate.App, job: TenantJob[Any] | PlatformJob[Any], settings: Settings
) -> None:
    retry = _retry(settings, job.max_attempts)

    async def run(context: procrastinate.JobContext, /, **payload: Any) -> None:
        assert context.job.id is not None
        parts, attempts = _parts(context), context.job.attempts
        # One line per run, with the job's tenant (the job runs in its scope, this line not).
        fields = {"job": job.name, "job_id": context.job.id, "attempt": attempts + 1}
        if "tenant_id" in payload:
            fields |= {"tenant_id": payload["tenant_id"], "tenant": payload.get("identifier")}
        started = time.perf_counter()
        try:
            with job_span(parts.tracing, job.name, context.job.id, attempts, payload):
                if isinstance(job, TenantJob):
                    await run_tenant_job(job, parts, context.job.id, attempts, payload)
                else:
                    await run_platform_job(job, parts, context.job.id, attempts, payload)
        except asyncio.CancelledError:
            # The worker cancels a job for a shutdown (run it again) or an operator's abort
            # (do not): only the second is final, as procrastinate's ``aborted``.
            logger.warning("job interrupted", extra=fields)
            if context.abort_reason() is AbortReason.USER_REQUEST:
                raise JobAborted("aborted by an operator") from None
            raise
        except Exception:
            logger.warning("job failed", exc_info=True, extra=fields)
            raise
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        logger.info("job done", extra=fields)

    task = app.task(name=job.name, queue=job.queue, pass_context=True, retry=retry)(run)
    if job.cron is None:
        return
    if isinstance(job, PlatformJob):
        # A scheduled run is queued with a ``timestamp`` argument, which ``run`` ignores.
        app.periodic(cron=job.cron)(task)  # type: ignore[arg-type]
        return

    async def fan_out(context: procrastinate.JobContext, /, timestamp: int) -> None:
        await fan_out_to_tenants(job, _parts(context))

    fan_out_task = app.task(
        name=f"{job.name}:fan-out", queue=job.queue, pass_context=True, retry=retry
    )(fan_out)
    app.periodic(cron=job.cron)(fan_out_task)


async def fan_out_to_tenants(job: TenantJob[Any], parts: Parts) -> int:
    """Queue ``job`` once for every active tenant; a tenant whose previous run is still
    waiting is skipped. Returns how many were queued."""
    queued = offset = 0
    while tenants := await parts.store.list(
        limit=_FAN_OUT_PAGE, offset=offset, status=TenantStatus.ACTIVE
    ):
        async with parts.db.engine.begin() as connection:
            for tenant in tenants:
                job_id = await enqueue(
                    connection,
                    task=job.name,
                    queue=job.queue,
                    args=job.payload(tenant, None, {}),
                    queueing_lock=f"{job.name}:{tenant.id}",
                )
                queued += job_id is not None
        offset += len(tenants)
    return queued


def _add_upkeep(app: procrastinate.App, settings: Settings) -> None:
    stalled_after = settings.jobs_stalled_after_seconds
    keep_hours = settings.jobs_keep_finished_hours

    @app.periodic(cron="* * * * *")
    @app.task(name="jobs.retry-stalled", pass_context=True)
    async def retry_stalled(context: procrastinate.JobContext, /, timestamp: int) -> None:
        await retry_stalled_jobs(context.app, stalled_after)

    @app.periodic(cron="17 * * * *")
    @app.task(name="jobs.remove-finished", pass_context=True)
    async def remove_finished(context: procrastinate.JobContext, /, timestamp: int) -> None:
        """Delete succeeded jobs older than JOBS_KEEP_FINISHED_HOURS (failed ones stay)."""
        await context.app.job_manager.delete_old_jobs(nb_hours=keep_hours)


async def retry_stalled_jobs(app: procrastinate.App, stalled_after: float) -> int:
    """Queue again the jobs of workers that died (no heartbeat for ``stalled_after``
    seconds) while running them. Returns how many."""
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after))
    for job in stalled:
        await manager.retry_job(job)
    return len(stalled)


async def run_worker(
    settings: Settings,
    parts: Parts,
    *,
    concurrency: int,
    queues: list[str] | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
) -> None:
    """Run jobs until stopped (SIGTERM/SIGINT: finish or hand back the running ones);
    ``wait=False`` returns once no job is due (tests, one-off drains)."""
    options: WorkerOptions = {
        "concurrency": concurrency,
        "wait": wait,
        "additional_context": {"parts": parts},
        "shutdown_graceful_timeout": settings.jobs_shutdown_grace_seconds,
        "install_signal_handlers": install_signal_handlers,
        "update_heartbeat_interval": min(10.0, settings.jobs_stalled_after_seconds / 3),
        "stalled_worker_timeout": settings.jobs_stalled_after_seconds,
        # A LISTEN through a transaction pooler stays on a server connection that then
        # serves other clients, and hears nothing: poll for new jobs instead.
        "listen_notify": not queue_through_pooler(settings),
    }
    if queues:
        options["queues"] = queues
    app = build_queue(settings, connections=concurrency + 2)
    async with app.open_async():
        await app.run_worker_async(**options)
