"""The service's jobs. Add yours here (or import your modules here: the worker imports this).

``notes.export`` is the example the notes API queues; ``notes.prune-exports``
shows the nightly per-tenant pattern: one job per active tenant, each in its scope.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from ..models import Note, NoteExport
from .definitions import TenantJobContext, tenant_job

#: Exports older than this are deleted by the nightly job.
KEEP_EXPORTS = timedelta(days=30)


@tenant_job(name="notes.export")
async def export_notes(job: TenantJobContext, *, export_id: str) -> None:
    """Summarise the tenant's notes into its export row (a stand-in for writing a file).

    Runs at least once: a second delivery finds the export done and does nothing.
    """
    async with job.session() as session:
        export = await session.scalar(
            select(NoteExport).where(NoteExport.id == uuid.UUID(export_id)).with_for_update()
        )
        if export is None or export.status != "queued":
            return
        count, characters = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(func.length(Note.body)), 0))
            )
        ).one()
        export.note_count = count
        export.character_count = characters
        export.status = "done"
        export.finished_at = datetime.now(UTC)
        await session.commit()


@tenant_job(name="notes.prune-exports", cron="0 3 * * *")
async def prune_exports(job: TenantJobContext) -> None:
    """Nightly, once per active tenant: delete its old exports."""
    async with job.session() as session:
        await session.execute(
            delete(NoteExport).where(NoteExport.created_at < datetime.now(UTC) - KEEP_EXPORTS)
        )
        await session.commit()
