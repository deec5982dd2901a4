"""A tenant-scoped WebSocket: search the tenant's notes live. Copy it for your own.

The middleware resolves a WebSocket's tenant as it does a request's, before the
connection is accepted: a connection that names no usable tenant is closed with
1008 (policy violation) and never reaches this route. Here the tenant is in scope
for the connection's whole life, so ``CurrentTenant`` works as in any route.

A connection may stay open for hours, so it holds no database session between
messages: each read opens a short one from the isolation provider and ends its
transaction before the next message is awaited, and an idle socket keeps no pooled
connection. (``TenantSession`` works here too, but would keep one session, and in
database mode the tenant's engine, for the connection's whole life.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, WebSocket
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import func, select

from ..models import Note
from ..tenancy import CurrentTenant
from ..tenancy.validation import CleanText
from .deps import ServiceParts

router = APIRouter(prefix="/api/notes", tags=["notes"])

#: What a client sends: a piece of a title to look for (no NUL: PostgreSQL refuses it).
_SEARCH = TypeAdapter(Annotated[CleanText, Field(min_length=1, max_length=200)])
#: Titles sent back per search, newest first.
_MAX_TITLES = 20


@router.websocket("/live")
async def live_notes(websocket: WebSocket, tenant: CurrentTenant, parts: ServiceParts) -> None:
    """On connect: ``{"tenant": <identifier>, "notes": <count>}``. Then each text message
    is a search, answered with ``{"query": ..., "titles": [...]}`` (the tenant's notes whose
    title contains it, newest first), or ``{"detail": ...}`` for a message that is not one.

    A database outage closes the connection with 1013 (try again later): see ``main.py``.
    """
    await websocket.accept()
    async with parts.isolation.session(tenant) as session:
        count = await session.scalar(select(func.count()).select_from(Note))
    await websocket.send_json({"tenant": tenant.identifier, "notes": count})
    async for text in websocket.iter_text():
        try:
            query = _SEARCH.validate_python(text)
        except ValidationError:
            await websocket.send_json({"detail": "A search is 1 to 200 characters of text"})
            continue
        found = (
            select(Note.title)
            .where(Note.title.contains(query, autoescape=True))
            .order_by(Note.created_at.desc(), Note.id)
            .limit(_MAX_TITLES)
        )
        async with parts.isolation.session(tenant) as session:
            titles = list(await session.scalars(found))
        await websocket.send_json({"query": query, "titles": titles})
