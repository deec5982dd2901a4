"""Defining jobs: ``@tenant_job`` for work done as one tenant, ``@platform_job`` for the rest.

A tenant job is an async function that takes a ``TenantJobContext`` first, then
keyword arguments (JSON values)::

    @tenant_job(name="notes.export")
    async def export_notes(job: TenantJobContext, *, export_id: str) -> None:
        async with job.session() as session:  # this tenant's rows, nobody else's
            ...

A route queues it with ``await export_notes.defer(session, export_id=...)``: no
tenant argument. The tenant in scope (and the caller the request named) is recorded
with the job; outside any tenant scope ``defer`` raises ``NoTenantError`` rather than
guess. A platform job belongs to no tenant, runs with none in scope, and is queued
from anywhere. ``cron=`` runs a platform job on a schedule, and a tenant job once
per active tenant on it (``worker.py`` fans it out).

Every definition registers itself in ``JOBS`` under its name, which is what the
queue stores: renaming a job strands the jobs queued under the old name, so give
``name=`` explicitly and keep it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from ..tenancy.context import current_actor, current_tenant
from ..tenancy.tenant import Tenant
from .queue import QueueTarget, enqueue, enqueue_many
from .tracing import TRACE, trace_carrier

if TYPE_CHECKING:
    from ..parts import Parts

P = ParamSpec("P")
J = TypeVar("J", "TenantJob[Any]", "PlatformJob[Any]")

#: procrastinate keeps task names in a varchar(128); a fan-out adds a suffix.
_MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class TenantJobContext:
    """What a tenant job runs with. ``session()`` is scoped to the tenant like a request's."""

    parts: Parts
    tenant: Tenant
    #: Who the request that queued the job acted for, if its credential named anyone.
    actor: str | None
    job_id: int
    #: Earlier runs of this job (0 on the first).
    attempts: int

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self.parts.isolation.session(self.tenant)


@dataclass(frozen=True, slots=True)
class PlatformJobContext:
    """What a platform job runs with: the service's parts and no tenant."""

    parts: Parts
    job_id: int
    attempts: int


@dataclass(frozen=True, slots=True)
class TenantJob(Generic[P]):
    name: str
    handler: Callable[Concatenate[TenantJobContext, P], Awaitable[None]]
    queue: str
    #: Runs in all, the first included, before the job is left failed.
    max_attempts: int
    cron: str | None

    async def defer(self, target: QueueTarget, /, *args: P.args, **kwargs: P.kwargs) -> int:
        """Queue the job for the tenant in scope, in ``target``'s transaction: it runs
        only if that transaction commits. Returns the job's id."""
        if args:
            raise TypeError(f"{self.name}: pass job arguments by keyword")
        tenant = current_tenant()
        job_id = await enqueue(
            target,
            task=self.name,
            queue=self.queue,
            args=self.payload(tenant, current_actor(), kwargs, trace_carrier()),
        )
        assert job_id is not None  # only a queueing lock can skip a job
        return job_id

    async def defer_many(self, target: QueueTarget, arguments: Iterable[Mapping[str, Any]]) -> int:
        """Queue one job per mapping of keyword arguments, like ``defer``, in one round trip
        (a bulk import's follow-up work). Returns how many were queued."""
        tenant, actor, carrier = current_tenant(), current_actor(), trace_carrier()
        return await enqueue_many(
            target,
            task=self.name,
            queue=self.queue,
            tenant_id=str(tenant.id),
            jobs=(self.payload(tenant, actor, args, carrier) for args in arguments),
        )

    def payload(
        self,
        tenant: Tenant,
        actor: str | None,
        args: Mapping[str, Any],
        carrier: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The job's arguments as stored: the tenant's id (which decides), its identifier
        (the cached way to find it), who acted and, when traced, the trace it continues."""
        payload = {
            "tenant_id": str(tenant.id),
            "identifier": tenant.identifier,
            "actor": actor,
            "args": dict(args),
        }
        if carrier:
            payload[TRACE] = dict(carrier)
        return payload


@dataclass(frozen=True, slots=True)
class PlatformJob(Generic[P]):
    name: str
    handler: Callable[Concatenate[PlatformJobContext, P], Awaitable[None]]
    queue: str
    max_attempts: int
    cron: str | None

    async def defer(self, target: QueueTarget, /, *args: P.args, **kwargs: P.kwargs) -> int:
        """Queue the job in ``target``'s transaction. Returns the job's id."""
        if args:
            raise TypeError(f"{self.name}: pass job arguments by keyword")
        payload: dict[str, Any] = {"args": kwargs}
        if carrier := trace_carrier():
            payload[TRACE] = carrier
        job_id = await enqueue(target, task=self.name, queue=self.queue, args=payload)
        assert job_id is not None
        return job_id


#: Every job the service defines, by name (the worker registers them all).
JOBS: dict[str, TenantJob[Any] | PlatformJob[Any]] = {}


def _register(job: J) -> J:
    if not 0 < len(job.name) <= _MAX_NAME or ":" in job.name:
        raise ValueError(f"job name {job.name!r}: 1 to {_MAX_NAME} characters, no ':'")
    if job.name in JOBS:
        raise ValueError(f"two jobs are named {job.name!r}")
    if job.max_attempts < 1:
        raise ValueError(f"{job.name}: max_attempts must be at least 1")
    JOBS[job.name] = job
    return job


def _name_of(handler: Callable[..., Any], name: str | None) -> str:
    return name or f"{handler.__module__}.{handler.__qualname__}"


def tenant_job(
    *,
    name: str | None = None,
    queue: str = "default",
    max_attempts: int = 5,
    cron: str | None = None,
) -> Callable[[Callable[Concatenate[TenantJobContext, P], Awaitable[None]]], TenantJob[P]]:
    """Define a job that runs as the tenant that queued it (see the module's docstring)."""

    def define(
        handler: Callable[Concatenate[TenantJobContext, P], Awaitable[None]],
    ) -> TenantJob[P]:
        return _register(TenantJob(_name_of(handler, name), handler, queue, max_attempts, cron))

    return define


def platform_job(
    *,
    name: str | None = None,
    queue: str = "default",
    max_attempts: int = 5,
    cron: str | None = None,
) -> Callable[[Callable[Concatenate[PlatformJobContext, P], Awaitable[None]]], PlatformJob[P]]:
    """Define a job that belongs to no tenant (maintenance, reports across tenants)."""

    def define(
        handler: Callable[Concatenate[PlatformJobContext, P], Awaitable[None]],
    ) -> PlatformJob[P]:
        return _register(PlatformJob(_name_of(handler, name), handler, queue, max_attempts, cron))

    return define
