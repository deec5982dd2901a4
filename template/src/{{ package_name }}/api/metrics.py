"""``GET /metrics``: Prometheus' scrape, behind ``METRICS_TOKEN``.

Outside tenancy (no tenant names a scrape) and out of the OpenAPI document. Metrics
say which tenants are busy and failing: without a token configured the endpoint
answers 503, and a wrong token 401, like the admin API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .deps import ServiceParts, check_bearer

router = APIRouter(include_in_schema=False)
_bearer = HTTPBearer(auto_error=False)


@router.get("/metrics")
async def metrics(
    parts: ServiceParts,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    check_bearer(parts.settings.metrics_token, credentials, "METRICS_TOKEN", "Metrics", "metrics")
    body = generate_latest(parts.metrics.exposition_registry())
    body += await parts.snapshot.exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
