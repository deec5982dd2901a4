"""What the tenancy package needs from the application, and how it reaches it.

The application builds its parts once (``parts.py``) and keeps them on
``app.state.parts``. The tenancy package never imports the application: it
describes what it uses (``TenancyParts``) and reads it through ``tenancy_parts``.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import Request

from .cache import CachedTenantStore
from .events import TenantEvents
from .hooks import TenancyHooks
from .isolation.base import IsolationProvider


class TenancyParts(Protocol):
    @property
    def store(self) -> CachedTenantStore: ...

    @property
    def isolation(self) -> IsolationProvider: ...

    @property
    def events(self) -> TenantEvents: ...

    @property
    def hooks(self) -> TenancyHooks: ...


def tenancy_parts(request: Request) -> TenancyParts:
    """The application's parts, as the tenancy package uses them."""
    parts: TenancyParts = request.app.state.parts
    return parts
