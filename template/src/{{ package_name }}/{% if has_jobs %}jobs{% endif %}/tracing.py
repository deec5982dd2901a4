"""A job continues the trace of the request that queued it.

``defer`` stores a W3C carrier (``traceparent``, ``baggage``) under the payload's
``trace`` key when a span is recording, and nothing otherwise (tracing off: payloads
are unchanged). The worker runs the job in a span ``job <name>`` (kind CONSUMER),
a child of the span that queued it, with the job's tenant as attributes and baggage.
Only OpenTelemetry's API is imported here; spans need the worker's provider
(``Parts.tracing``), without which nothing is traced.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from opentelemetry import context, propagate, trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

#: The payload key of the carrier.
TRACE = "trace"


def trace_carrier() -> dict[str, str] | None:
    """The current span's context and baggage, to store with a job; ``None`` if no span
    is recording."""
    if not trace.get_current_span().is_recording():
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def job_span(
    provider: TracerProvider | None,
    name: str,
    job_id: int,
    attempts: int,
    payload: Mapping[str, Any],
) -> AbstractContextManager[object]:
    """The job's span, child of the one that queued it (``payload``'s carrier), with its
    tenant as attributes and baggage; nothing without a provider (tracing off)."""
    if provider is None:
        return nullcontext()
    return _job_span(provider, name, job_id, attempts, payload)


@contextmanager
def _job_span(
    provider: TracerProvider, name: str, job_id: int, attempts: int, payload: Mapping[str, Any]
) -> Iterator[None]:
    from ..observability.tracing import TENANT_ID, TENANT_IDENTIFIER, with_tenant_baggage

    carrier = payload.get(TRACE)
    parent = propagate.extract(carrier if isinstance(carrier, dict) else {})
    attributes: dict[str, str | int] = {"job.id": job_id, "job.attempts": attempts}
    if "tenant_id" in payload:
        tenant_id, identifier = str(payload["tenant_id"]), str(payload.get("identifier", ""))
        parent = with_tenant_baggage(tenant_id, identifier, parent)
        attributes |= {TENANT_ID: tenant_id, TENANT_IDENTIFIER: identifier}
    token = context.attach(parent)
    try:
        span = provider.get_tracer(__name__).start_as_current_span(
            f"job {name}", kind=trace.SpanKind.CONSUMER, attributes=attributes
        )
        with span:
            yield
    finally:
        context.detach(token)
