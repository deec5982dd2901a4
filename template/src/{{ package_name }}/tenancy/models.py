"""The tenant as the rest of the service sees it, and the shapes used to change it.

``Tenant`` is immutable: it is cached and shared between concurrent requests, so
nobody may edit one in place. Changes go through a store, which returns a new one.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .identifiers import IDENTIFIER_MAX_LENGTH, IDENTIFIER_MIN_LENGTH, is_valid_identifier

MAX_METADATA_BYTES = 16_384


class TenantStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


def _check_identifier(value: str) -> str:
    if not is_valid_identifier(value):
        raise ValueError(
            "identifier must be 3-63 lowercase letters, digits or single hyphens, "
            "starting and ending with a letter or digit"
        )
    return value


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must serialise to at most {MAX_METADATA_BYTES} bytes")
    return value


Identifier = Annotated[
    str,
    Field(min_length=IDENTIFIER_MIN_LENGTH, max_length=IDENTIFIER_MAX_LENGTH),
    AfterValidator(_check_identifier),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Tier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Metadata = Annotated[dict[str, Any], AfterValidator(_check_metadata)]


class Tenant(BaseModel):
    """One tenant. ``id`` is opaque and never changes; ``identifier`` is the public slug."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    identifier: str
    name: str
    status: TenantStatus
    tier: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def is_servable(self) -> bool:
        """Whether requests for this tenant may reach the routes."""
        return self.status is TenantStatus.ACTIVE


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: Identifier
    name: Name
    tier: Tier = "standard"
    metadata: Metadata = Field(default_factory=dict)


class TenantUpdate(BaseModel):
    """A partial update: only the fields present are changed."""

    model_config = ConfigDict(extra="forbid")

    identifier: Identifier | None = None
    name: Name | None = None
    tier: Tier | None = None
    metadata: Metadata | None = None
