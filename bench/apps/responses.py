"""The notes endpoint's response, as the generated service returns it; shared by the
baseline and the anchor app so all three serialize the same thing."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Row


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class NotePage(BaseModel):
    items: list[NoteOut]
    total: int
    limit: int
    offset: int


def note_page(rows: Sequence[Row[Any]], limit: int, offset: int) -> NotePage:
    """The page from ``SELECT note, count(*) OVER () AS total ... LIMIT ... OFFSET``."""
    return NotePage(
        items=[NoteOut.model_validate(note) for note, _ in rows],
        total=rows[0].total if rows else 0,
        limit=limit,
        offset=offset,
    )
