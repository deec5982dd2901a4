"""OpenTelemetry tracing: spans that say which tenant and which request.

Imported only when tracing is on (``observability.tracing_configured``), so a
service without ``OTEL_*`` settings installs, imports and runs none of it. On, it is
configured by the standard ``OTEL_*`` variables alone (exporter endpoint, headers,
resource, sampler, limits), exports over OTLP http/protobuf, and traces:

- every request (the FastAPI instrumentation's server span; probes and ``/metrics``
  excluded), with ``request.id`` (the ``X-Request-ID`` the response carries), and for a
  tenant's request ``tenant.id`` and ``tenant.identifier``;
- the service's SQL (its engine), Redis (its client) and outgoing httpx calls, which
  carry W3C ``traceparent`` and ``baggage`` (``tenant.id``, ``tenant.identifier``), so the
  services called see the tenant too;
- every span started while a tenant (or a request) is in scope gets the same attributes
  (``TenantSpanProcessor``): a query is attributed to its tenant even deep in a library.

The provider is passed explicitly (never set globally), except that httpx is
instrumented process-wide: the first provider that instruments it keeps it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from opentelemetry import baggage, context, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as engine_tracer_version
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from ..tenancy.context import current_tenant_or_none
from ..tenancy.tenant import Tenant
from .request_id import current_request_id, request_id_of

if TYPE_CHECKING:
    from ..parts import Parts

#: Span attributes (and baggage keys, for the tenant) this service sets.
TENANT_ID = "tenant.id"
TENANT_IDENTIFIER = "tenant.identifier"
REQUEST_ID = "request.id"
#: Requests never traced (full URLs, regular expressions): probes and metrics scrapes.
UNTRACED_URLS = r"^[a-z]+://[^/]+/(health|ready|metrics)$"

#: Engines already traced (instrumenting twice must not double their spans).
_traced_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def build_tracer_provider(
    service_name: str, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """A provider configured by ``OTEL_*`` (resource, sampler, limits, exporter).

    ``service.name`` is ``OTEL_SERVICE_NAME`` (or ``OTEL_RESOURCE_ATTRIBUTES``'), else
    ``service_name``. Spans go to OTLP over http/protobuf in batches, or, given an
    ``exporter`` (tests: an in-memory one), to it as each span ends.
    """
    resource = Resource.create({SERVICE_NAME: service_name}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(TenantSpanProcessor())  # first: the exporter sees its attributes
    if exporter is None:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


class TenantSpanProcessor(SpanProcessor):
    """Every span started in a tenant's scope carries its id and identifier, and in a
    request's the request's id."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        tenant = current_tenant_or_none()
        if tenant is not None:
            span.set_attributes(tenant_attributes(tenant))
        request_id = current_request_id()
        if request_id is not None:
            span.set_attribute(REQUEST_ID, request_id)


def tenant_attributes(tenant: Tenant) -> dict[str, str]:
    return {TENANT_ID: str(tenant.id), TENANT_IDENTIFIER: tenant.identifier}


def with_tenant_baggage(tenant_id: str, identifier: str, parent: Context | None = None) -> Context:
    """``parent`` (or the current context) with the tenant as baggage, replacing any a
    caller sent: outgoing calls name the tenant this service decided on."""
    ctx = baggage.set_baggage(TENANT_ID, tenant_id, parent)
    return baggage.set_baggage(TENANT_IDENTIFIER, identifier, ctx)


class TenantSpanMiddleware:
    """Inside ``TenancyMiddleware``: the tenant on the server span, and in the baggage of
    everything the route calls. Raw ASGI, so the route runs in this call's context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant = current_tenant_or_none()
        if tenant is None:  # a path served without a tenant, or another scope type
            await self.app(scope, receive, send)
            return
        trace.get_current_span().set_attributes(tenant_attributes(tenant))
        token = context.attach(with_tenant_baggage(str(tenant.id), tenant.identifier))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)


def _name_request(span: trace.Span, scope: dict[str, Any]) -> None:
    """The server span's ``request.id``: the span starts before ``RequestIdMiddleware``
    runs, so the id is decided here, once, and kept in the request's scope for it."""
    if scope["type"] == "http" and span.is_recording():
        span.set_attribute(REQUEST_ID, request_id_of(scope))


def instrument_app(app: FastAPI, parts: Parts, provider: TracerProvider) -> None:
    """Trace ``app``'s requests and what ``parts`` do (add ``TenantSpanMiddleware`` too).
    Again on the same app, nothing changes."""
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        server_request_hook=_name_request,
        excluded_urls=UNTRACED_URLS,
        exclude_spans=["receive", "send"],  # a span per ASGI message: noise
    )
    instrument_parts(parts, provider)


def instrument_parts(parts: Parts, provider: TracerProvider) -> None:
    """Trace the service's SQL, its Redis commands and (process-wide) httpx calls.
    Again on the same parts, nothing changes."""
    engine = parts.db.engine.sync_engine
    if engine not in _traced_engines:
        _traced_engines.add(engine)
        tracer = provider.get_tracer(EngineTracer.__module__, engine_tracer_version)
        usage = NoOpMeter("sqlalchemy").create_up_down_counter("db.client.connections.usage")
        EngineTracer(tracer, engine, usage)  # type: ignore[no-untyped-call]
    if parts.redis is not None and not getattr(parts.redis, "_is_instrumented_by_opentelemetry", 0):
        RedisInstrumentor.instrument_client(parts.redis, tracer_provider=provider)
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
