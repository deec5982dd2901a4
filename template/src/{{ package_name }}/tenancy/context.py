"""The current tenant, carried by a ContextVar.

The middleware sets it for the duration of a request; ``tenant_scope`` sets it
anywhere else (background jobs, CLI commands, tests). A ContextVar is copied into
tasks created inside the scope, so ``asyncio.create_task`` and FastAPI background
tasks see the tenant of the request that started them, and a job queued for
later must carry the tenant id and re-enter ``tenant_scope`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .tenant import Tenant

_current_tenant: ContextVar[Tenant | None] = ContextVar("current_tenant", default=None)
_current_actor: ContextVar[str | None] = ContextVar("current_actor", default=None)


class NoTenantError(LookupError):
    """Code that needs a tenant ran outside any tenant scope (a programming error)."""


def current_tenant() -> Tenant:
    """The tenant in scope; raises ``NoTenantError`` instead of guessing one."""
    tenant = _current_tenant.get()
    if tenant is None:
        raise NoTenantError("no tenant in scope: wrap the call in tenant_scope(tenant)")
    return tenant


def current_tenant_or_none() -> Tenant | None:
    return _current_tenant.get()


def current_actor() -> str | None:
    """Who the code in scope acts for (the caller a credential named), if anyone said."""
    return _current_actor.get()


@contextmanager
def tenant_scope(tenant: Tenant, *, actor: str | None = None) -> Iterator[Tenant]:
    """Make ``tenant`` (and who acts for it) current inside the block; restore after.

    A plain (not async) context manager, so it works in both sync and async code:
    ``with tenant_scope(t): await do_work()``.
    """
    token = _current_tenant.set(tenant)
    actor_token = _current_actor.set(actor)
    try:
        yield tenant
    finally:
        _current_actor.reset(actor_token)
        _current_tenant.reset(token)
