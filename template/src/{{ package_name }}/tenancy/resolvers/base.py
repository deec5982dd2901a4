"""The one interface every resolver implements, and what it returns.

A resolver reads the raw ASGI scope and returns the identifier the request
*claims*. It does not decide whether the tenant exists: the middleware checks the
identifier's format and then asks the (cached) store, in one place for every
resolver, and answers unknown and deleted tenants alike.

Each resolver module also holds its settings (``ResolverSettings``, a part of the
service's ``Settings``) and ``build_resolver(settings, lookup)``: the service
imports those two names from the module its answers chose.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.types import Scope


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a resolver found: the claimed identifier (not yet validated), and what else
    its credential says. A resolver fills in only what it knows."""

    identifier: str
    #: Who is calling (a token's ``sub``, an API key's label): audit entries' actor.
    actor: str | None = None
    #: A verified token's claims, for the ``Claims`` dependency.
    claims: Mapping[str, Any] = field(default_factory=dict)
    #: When the credential was issued (a token's ``iat``): the middleware refuses a
    #: credential issued before the tenant took its identifier.
    issued_at: float | None = None
    #: The part of the path that named the tenant (``/tenants/acme``). The middleware
    #: appends it to ``root_path``, so routes match the rest of the path.
    mount: str = ""
    #: The tenant's id, when the resolver knows it (a custom domain): the tenant found
    #: under ``identifier`` must have it, or the request gets 404.
    tenant_id: uuid.UUID | None = None


class TenantResolver(Protocol):
    async def resolve(self, scope: Scope) -> Resolution:
        """Return the claimed identifier or raise a ``TenancyError`` (400 or 401)."""
        ...


def client_of(scope: Scope) -> str:
    """The client's address as the server reports it (behind a proxy: only if trusted)."""
    client = scope.get("client")
    return str(client[0]) if client else ""
