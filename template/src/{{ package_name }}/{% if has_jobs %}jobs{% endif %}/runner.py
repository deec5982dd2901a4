"""What the worker does with each job: find its tenant, decide, run it in scope.

A tenant job's tenant is looked up through the store and its cache, like a
request's (a suspension or a purge reaches workers the way it reaches web
instances), then:

- active: the job runs inside ``tenant_scope`` with sessions from the service's
  isolation provider, so it sees what a request of that tenant would see, no more;
- suspended or still provisioning: ``TenantUnavailableError``, and the job is retried
  later (``JOBS_UNAVAILABLE_RETRY_SECONDS``) until the tenant is active again;
- deleted, purged, or its identifier now names another tenant: the job is dropped
  (procrastinate's ``aborted``, never retried) and a ``job.dropped`` event recorded.

Each job runs in a task of its own that starts with no tenant in scope, and the
scope is a context manager: a job that fails or is cancelled half-way leaves
nothing behind for the next job on the same worker, and its transaction-local
database scope ends with its transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from procrastinate.exceptions import JobAborted

from ..tenancy.context import current_tenant_or_none, tenant_scope
from ..tenancy.events import RequestInfo
from ..tenancy.identifiers import is_valid_identifier
from ..tenancy.tenant import Tenant, TenantStatus
from .definitions import PlatformJob, PlatformJobContext, TenantJob, TenantJobContext

if TYPE_CHECKING:
    from ..parts import Parts
    from ..tenancy.cache import CachedTenantStore

logger = logging.getLogger(__name__)

#: Who lifecycle events recorded by the worker name as their actor.
WORKER = RequestInfo(actor="worker")


class TenantUnavailableError(Exception):
    """The job's tenant is suspended or being provisioned: the job waits for it."""


class TenantGoneError(JobAborted):
    """The job's tenant is gone: the job never runs (status ``aborted``)."""


async def find_tenant(
    store: CachedTenantStore, tenant_id: uuid.UUID, identifier: str
) -> Tenant | None:
    """The job's tenant: by identifier through the cache, then by id if that names
    another tenant (a rename, or an identifier taken again after a purge)."""
    if is_valid_identifier(identifier):
        tenant = await store.get_by_identifier(identifier)
        if tenant is not None and tenant.id == tenant_id:
            return tenant
    return await store.get(tenant_id)


async def run_tenant_job(
    job: TenantJob[Any], parts: Parts, job_id: int, attempts: int, payload: Mapping[str, Any]
) -> None:
    if current_tenant_or_none() is not None:  # a worker runs each job in a task of its own
        raise RuntimeError("a tenant is in scope before the job entered its own")
    tenant_id = uuid.UUID(str(payload["tenant_id"]))
    tenant = await find_tenant(parts.store, tenant_id, str(payload.get("identifier", "")))
    if tenant is None or tenant.status is TenantStatus.DELETED:
        reason = "deleted" if tenant is not None else "purged"
        await parts.events.record_event(
            tenant_id, "job.dropped", WORKER, {"job": job.name, "job_id": job_id, "tenant": reason}
        )
        raise TenantGoneError(f"tenant {tenant_id} is {reason}")
    if tenant.status is not TenantStatus.ACTIVE:
        raise TenantUnavailableError(f"tenant {tenant_id} is {tenant.status.value}")
    actor = payload.get("actor")
    context = TenantJobContext(
        parts=parts,
        tenant=tenant,
        actor=actor if isinstance(actor, str) else None,
        job_id=job_id,
        attempts=attempts,
    )
    with tenant_scope(tenant, actor=context.actor):
        await job.handler(context, **payload.get("args", {}))


async def run_platform_job(
    job: PlatformJob[Any], parts: Parts, job_id: int, attempts: int, payload: Mapping[str, Any]
) -> None:
    if current_tenant_or_none() is not None:
        raise RuntimeError("a tenant is in scope in a platform job")
    context = PlatformJobContext(parts=parts, job_id=job_id, attempts=attempts)
    await job.handler(context, **payload.get("args", {}))
