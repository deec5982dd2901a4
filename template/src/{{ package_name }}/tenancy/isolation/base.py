"""The one interface every isolation provider implements.

A provider answers three questions for a tenant: give me a database session that
can only reach this tenant's data; create this tenant's namespace; remove it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Tenant


class IsolationProvider(Protocol):
    def session(self, tenant: Tenant) -> AbstractAsyncContextManager[AsyncSession]:
        """A session scoped to ``tenant`` for every transaction it runs, commits included."""
        ...

    async def provision(self, tenant: Tenant) -> None:
        """Create whatever ``tenant`` needs before its first request. Idempotent."""
        ...

    async def deprovision(self, tenant: Tenant) -> None:
        """Remove ``tenant``'s data and namespace, and nothing of any other tenant."""
        ...

    async def verify(self) -> None:
        """Refuse to start (raise ``RuntimeError``) if isolation cannot be guaranteed."""
        ...

    async def close(self) -> None:
        """Release what the provider holds of its own (at shutdown)."""
        ...
