"""A generated service, plus no-database routes for the benchmark.

``BENCH_PACKAGE`` names the rendered package (``bench_rls``...). Both apps run on the
service's own parts (``parts.build_parts`` from its settings), as a user's service does.

``create_app``: the service as built by its own ``create_app()``, plus ``/api/ping``, which
goes through all of its middleware (request id, body limit, tenancy: resolution, cached
tenant lookup, context) and takes the tenant the way routes do (the ``CurrentTenant``
dependency), touching no database.

``create_tenancy_only_app``: the bare app's shape (a FastAPI app with one route) plus the
generated ``TenancyMiddleware`` alone (without the rate limit), wired from the parts as
``main.create_app`` wires it; the route reads the tenant from the context. Against the
bare app's ``/api/ping`` this isolates what resolution and the tenant lookup cost.
"""

import importlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI


def _module(name: str) -> Any:
    return importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.{name}")


def create_app() -> FastAPI:
    app: FastAPI = _module("main").create_app()
    tenancy = _module("tenancy")

    async def ping(tenant: tenancy.CurrentTenant) -> dict[str, str]:
        return {"tenant": tenant.identifier}

    # First in the route list, as the bare app's: routing is matched route by route
    # and this endpoint measures the middleware, not the length of the route list.
    app.add_api_route("/api/ping", ping, methods=["GET"])
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def create_tenancy_only_app() -> FastAPI:
    settings = _module("settings").get_settings()
    parts = _module("parts").build_parts(settings)
    context = _module("tenancy.context")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await parts.start()
        yield
        await parts.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/ping")
    async def ping() -> dict[str, str]:
        return {"tenant": context.current_tenant().identifier}

    app.add_middleware(
        _module("tenancy.middleware").TenancyMiddleware,
        resolver=parts.resolver,
        lookup=parts.lookup,
        excluded_paths=[*settings.tenancy_excluded_paths, *parts.hooks.excluded_paths],
        admission=None,  # the rate limit's cost is its own step (create_unobserved_app)
    )
    return app


def _log_file() -> Any:
    """Where the observed apps' JSON lines go: a real file, written as a log shipper reads it."""
    return open(os.environ.get("BENCH_LOG_FILE", os.devnull), "a", buffering=1)


def create_observed_app() -> FastAPI:
    """The service as deployed with its defaults: JSON log lines at INFO (one access line
    per request, to a file), request metrics, the tenancy internals' counters."""
    settings = _module("settings").get_settings()
    logs = _module("observability.logs")
    logs.configure_logging("INFO", "json", secrets=logs.secrets_of(settings), stream=_log_file())
    return _module("main").create_app(settings)


def create_unobserved_app() -> FastAPI:
    """The same service with logging and metrics taken out: no access middleware (so no
    access line, no request metrics), nothing logged below WARNING, caches unmetered."""
    settings = _module("settings").get_settings()
    logs = _module("observability.logs")
    logs.configure_logging("WARNING", "json", stream=_log_file())
    app: FastAPI = _module("main").create_app(settings)
    access = _module("observability.access")
    app.user_middleware = [
        m
        for m in app.user_middleware
        if m.cls not in (access.AccessMiddleware, access.RouteCapture)
    ]
    parts = app.state.parts
    parts.store.cache.meter = _module("tenancy.cache").UNMETERED
    return app


def create_tenancy_app() -> FastAPI:
    """Tenancy alone: ``create_unobserved_app`` with the rate limit taken out too (the
    middleware's admission step). The first step of the defaults' increments: tenancy,
    then + rate limit (``create_unobserved_app``), + logs and metrics
    (``create_observed_app``), + authentication (the same on a service with users)."""
    app = create_unobserved_app()
    tenancy = _module("tenancy.middleware").TenancyMiddleware
    for middleware in app.user_middleware:
        if middleware.cls is tenancy:
            middleware.kwargs["admission"] = None
    return app


def create_traced_app() -> FastAPI:
    """``create_observed_app`` plus tracing, every span exported to memory (the SDK's
    ``InMemorySpanExporter``, keeping the last 10,000 so a long run's spans do not pile up)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    settings = _module("settings").get_settings()
    logs = _module("observability.logs")
    logs.configure_logging("INFO", "json", secrets=logs.secrets_of(settings), stream=_log_file())
    provider = _module("observability.tracing").build_tracer_provider(
        "bench", exporter=InMemorySpanExporter(max_spans=10_000)
    )
    parts = _module("parts").build_parts(settings, tracing=provider)
    return _module("main").create_app(parts=parts)
