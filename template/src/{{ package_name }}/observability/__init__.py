"""Observability: logs, metrics and traces that say which tenant and which request.

Nothing here decides anything about tenants: the tenancy layer (``tenancy/``) sets
the current tenant and actor; these modules read them and write them down.

Tracing is on only when the ``OTEL_*`` variables name somewhere to send spans
(``tracing_configured``); off, ``tracing.py`` and the OpenTelemetry SDK are never imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

#: OTEL_TRACES_EXPORTER values this service can send spans to.
EXPORTERS = frozenset({"otlp"})


def tracing_configured(environ: Mapping[str, str]) -> bool:
    """Whether to trace: an OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or ``OTEL_TRACES_EXPORTER`` names an exporter;
    ``OTEL_TRACES_EXPORTER=none`` and ``OTEL_SDK_DISABLED=true`` turn it off regardless."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    if exporter:
        if exporter not in EXPORTERS:
            raise ValueError(f"OTEL_TRACES_EXPORTER={exporter!r}: only 'otlp' or 'none'")
        return True
    return any(
        environ.get(name, "").strip()
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configured_tracer_provider(
    service_name: str, environ: Mapping[str, str]
) -> TracerProvider | None:
    """A tracer provider as ``OTEL_*`` say (``tracing.build_tracer_provider``), or ``None``
    when tracing is off."""
    if not tracing_configured(environ):
        return None
    from .tracing import build_tracer_provider

    return build_tracer_provider(service_name)
