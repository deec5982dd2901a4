"""The one interface every resolver implements.

A resolver reads the raw ASGI scope and returns the identifier the request
*claims*. It does not look the tenant up: the middleware checks the identifier's
format and then asks the (cached) store, in one place for every resolver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.types import Scope


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a resolver found: the claimed identifier (not yet validated)."""

    identifier: str


class TenantResolver(Protocol):
    async def resolve(self, scope: Scope) -> Resolution:
        """Return the claimed identifier or raise ``TenantResolutionError``."""
        ...
