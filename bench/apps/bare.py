"""The baseline: the notes endpoint with FastAPI and SQLAlchemy, and no tenancy.

Same framework, driver, pool and response model as the generated service; the
route runs the same query on a ``notes`` table holding 20 rows, on a router included
into the app as the service's is. ``/api/ping``
is the no-database endpoint. Configured by ``BENCH_DATABASE_URL``.
"""

import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from sqlalchemy import DateTime, Select, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.apps.responses import NotePage, note_page


class Base(DeclarativeBase):
    pass


class NoteColumns:
    """The notes table's columns, as the generated service maps them."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Note(NoteColumns, Base):
    __tablename__ = "notes"


def session_maker() -> async_sessionmaker[AsyncSession]:
    """Sessions on ``BENCH_DATABASE_URL`` with the generated service's pool settings
    (DB_POOL_SIZE=10, DB_MAX_OVERFLOW=5)."""
    engine = create_async_engine(
        os.environ["BENCH_DATABASE_URL"], pool_size=10, max_overflow=5, pool_timeout=10.0
    )
    return async_sessionmaker(engine, expire_on_commit=False)


def session_dependency(
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[[], AsyncIterator[AsyncSession]]:
    """A route dependency: one session per request, closed after the response."""

    async def session() -> AsyncIterator[AsyncSession]:
        async with sessions() as s:
            yield s

    return session


def page_of(note: type[NoteColumns], limit: int, offset: int) -> Select[Any]:
    """The service's list query: one page of notes, newest first, with the total."""
    total = func.count().over().label("total")
    return select(note, total).order_by(note.created_at.desc(), note.id).limit(limit).offset(offset)


def create_app() -> FastAPI:
    session = session_dependency(session_maker())
    app = FastAPI()
    # The service's layout: the notes route on a router included into the app (FastAPI's
    # routing through included routers costs time of its own, and it is not tenancy's).
    notes = APIRouter(prefix="/api/notes")

    @notes.get("")
    async def list_notes(
        s: Annotated[AsyncSession, Depends(session)],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> NotePage:
        rows = (await s.execute(page_of(Note, limit, offset))).all()
        return note_page(rows, limit, offset)

    @app.get("/api/ping")
    async def ping() -> dict[str, str]:
        return {"tenant": "none"}

    app.include_router(notes)
    return app
