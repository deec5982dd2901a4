"""Header resolution: ``X-Tenant-ID: acme`` (the header name is configurable).

Any client can send any header, so this is safe only where a gateway or proxy
you control sets (or overwrites) the header after authenticating the caller.
Exposed directly to the internet, it lets a caller pick any tenant it can name.
"""

from __future__ import annotations

from starlette.types import Scope

from ..errors import TenantResolutionError
from .base import Resolution


class HeaderResolver:
    def __init__(self, header_name: str = "X-Tenant-ID") -> None:
        self.header_name = header_name
        self._key = header_name.lower().encode("latin-1")

    async def resolve(self, scope: Scope) -> Resolution:
        values = [value for key, value in scope["headers"] if key == self._key]
        if not values:
            raise TenantResolutionError(f"Missing {self.header_name} header")
        if len(values) > 1:
            raise TenantResolutionError(f"More than one {self.header_name} header")
        identifier = values[0].decode("latin-1").strip()
        if not identifier:
            raise TenantResolutionError(f"Empty {self.header_name} header")
        return Resolution(identifier=identifier)
