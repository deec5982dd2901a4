"""Plan limits that hold under concurrency: one count-and-insert at a time per tenant.

"Count the rows, refuse at the limit, insert" is a race: forty concurrent creates
all count four, all pass a limit of five, and all insert. ``enforce_limit`` first
takes a lock on (tenant, limit) that lasts until the transaction ends, then
counts, so one tenant's creates under one limit run one after another and the
count each sees includes every row committed before it. Other tenants, and the
same tenant's other limits, never wait for it.

The lock is PostgreSQL's transaction-level advisory lock, keyed by a 64-bit hash
of tenant and limit: released at commit or rollback, never left behind on a
pooled connection, and safe behind a pooler in transaction mode. Copy the pattern
for your own limits, in the transaction that inserts::

    await enforce_limit(session, config, "max_projects", select(func.count()).select_from(Project))
    session.add(Project(name=data.name))
    await session.commit()
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import TenancyError
from .isolation.session import scope_of
from .tenant import TenantConfig


class PlanLimitReachedError(TenancyError):
    status_code = 403
    detail = "Plan limit reached"


async def enforce_limit(
    session: AsyncSession, config: TenantConfig, name: str, count: Select[int]
) -> None:
    """Raise ``PlanLimitReachedError`` (403) if ``count`` is at the limit ``name``.

    Holds the tenant's lock for ``name`` until the transaction ends: insert in the
    same transaction. Does nothing (and locks nothing) when the plan sets no limit.
    """
    limit = config.limit(name)
    if limit is None:
        return
    scope = scope_of(session.sync_session)
    if scope is None:
        raise RuntimeError("enforce_limit needs a tenant session")
    key = func.hashtextextended(f"{scope.tenant_id}:{name}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))
    if (await session.scalar(count) or 0) >= limit:
        raise PlanLimitReachedError(f"Plan limit reached: {limit} {name.removeprefix('max_')}")
