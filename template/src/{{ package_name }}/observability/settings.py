"""``ObservabilitySettings``: how logs look and who may read the metrics.

Tracing has no settings here: it reads the standard ``OTEL_*`` variables itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings


class ObservabilitySettings(BaseSettings):
    #: ``json``: one JSON object per line (production, log shippers); ``console``: lines
    #: for a person; ``auto``: console when stderr is a terminal, JSON otherwise.
    log_format: Literal["auto", "json", "console"] = "auto"
    #: Bearer token for ``GET /metrics`` (Prometheus' ``authorization`` setting).
    #: Unset: /metrics answers 503, so nothing is exposed by accident.
    metrics_token: SecretStr | None = None
    #: Tenants that get a label of their own in per-tenant metrics, per process: the
    #: first ones seen; every later tenant is counted as ``_other``. Bounds the series
    #: count however many tenants there are (0: all tenants are ``_other``).
    metrics_tenant_labels: int = Field(default=50, ge=0, le=10_000)

    @field_validator("metrics_token")
    @classmethod
    def _empty_token_is_no_token(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None
