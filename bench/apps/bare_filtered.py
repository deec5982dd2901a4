"""The baseline a user would otherwise write: the rls service's own ``notes`` table (same
rows, same ``(tenant_id, created_at)`` index), filtered with ``WHERE tenant_id = :t``.

The tenant comes from the ``X-Tenant-ID`` header through a plain dict of identifier ->
id (filled from the ``tenants`` table on a miss, never expired): no cache policy, no
scoping, no row-level security (it connects as the superuser, which RLS does not bind),
no rate limit, logs or metrics. An unknown identifier is a 404. Same framework, driver,
pool and response model as the generated service and ``bare.py``. Configured by
``BENCH_DATABASE_URL`` (the rls service's database).
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped

from bench.apps.bare import NoteColumns, page_of, session_dependency, session_maker
from bench.apps.responses import NotePage, note_page


class Base(DeclarativeBase):
    pass


class Note(NoteColumns, Base):
    __tablename__ = "notes"

    tenant_id: Mapped[uuid.UUID]


def create_app() -> FastAPI:
    sessions = session_maker()
    session = session_dependency(sessions)
    tenants: dict[str, uuid.UUID] = {}

    async def tenant_id(x_tenant_id: Annotated[str, Header()]) -> uuid.UUID:
        found = tenants.get(x_tenant_id)
        if found is None:
            async with sessions() as s:
                found = await s.scalar(
                    text("SELECT id FROM tenants WHERE identifier = :i"), {"i": x_tenant_id}
                )
            if found is None:
                raise HTTPException(404, "unknown tenant")
            tenants[x_tenant_id] = found
        return found

    app = FastAPI()
    notes = APIRouter(prefix="/api/notes")

    @notes.get("")
    async def list_notes(
        tenant: Annotated[uuid.UUID, Depends(tenant_id)],
        s: Annotated[AsyncSession, Depends(session)],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> NotePage:
        page = page_of(Note, limit, offset).where(Note.tenant_id == tenant)
        rows = (await s.execute(page)).all()
        return note_page(rows, limit, offset)

    @app.get("/api/ping")
    async def ping(tenant: Annotated[uuid.UUID, Depends(tenant_id)]) -> dict[str, str]:
        return {"tenant": str(tenant)}

    app.include_router(notes)
    return app
