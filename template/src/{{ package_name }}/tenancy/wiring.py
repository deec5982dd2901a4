"""What the tenancy package needs from the application, and how it reaches it.

The application builds its parts once (``parts.py``) and keeps them on
``app.state.parts``. The tenancy package never imports the application: it
describes what it uses (``TenancyParts``) and reads it through ``tenancy_parts``.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import HTTPConnection

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


def tenancy_parts(connection: HTTPConnection) -> TenancyParts:
    """The application's parts, as the tenancy package uses them (a request's or a
    WebSocket's)."""
    parts: TenancyParts = connection.app.state.parts
    return parts
