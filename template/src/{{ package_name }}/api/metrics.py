"""``GET /metrics``: Prometheus' scrape, behind ``METRICS_TOKEN``.

Outside tenancy (no tenant names a scrape) and out of the OpenAPI document. Metrics
say which tenants are busy and failing: without a token configured the endpoint
answers 503, and a wrong token 401, like the admin API.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .deps import ServiceParts

router = APIRouter(include_in_schema=False)
_bearer = HTTPBearer(auto_error=False)


@router.get("/metrics")
async def metrics(
    parts: ServiceParts,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    token = parts.settings.metrics_token
    if token is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Metrics disabled: METRICS_TOKEN is not set"
        )
    given = credentials.credentials.encode() if credentials else b""
    if not secrets.compare_digest(given, token.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Invalid or missing metrics token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = generate_latest(parts.metrics.exposition_registry())
    body += await parts.snapshot.exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
