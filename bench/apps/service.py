"""A generated service as it is, plus one no-database route for the benchmark.

``BENCH_PACKAGE`` names the rendered package (``bench_rls``...). The service is
built by its own ``create_app()``; ``/api/ping`` goes through the same
middleware (resolution, cached tenant lookup, context) and touches no database,
which isolates what tenancy costs a request outside SQL.
"""

import importlib
import os
from typing import Any

from fastapi import FastAPI


def create_app() -> FastAPI:
    package = os.environ["BENCH_PACKAGE"]
    app: FastAPI = importlib.import_module(f"{package}.main").create_app()
    tenancy: Any = importlib.import_module(f"{package}.tenancy")

    async def ping(tenant: tenancy.CurrentTenant) -> dict[str, str]:
        return {"tenant": tenant.identifier}

    # First in the route list, as the bare app's: routing is matched route by route
    # and this endpoint measures the middleware, not the length of the route list.
    app.add_api_route("/api/ping", ping, methods=["GET"])
    app.router.routes.insert(0, app.router.routes.pop())
    return app
