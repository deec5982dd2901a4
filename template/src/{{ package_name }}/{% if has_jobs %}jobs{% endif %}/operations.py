"""What an operator does with jobs: list them (with their tenant), retry, cancel.

Used by the admin API (``api/jobs.py``) and the CLI (``cli/jobs.py``) on the
shared engine. Only failed jobs are retried (a running job would run twice), and
cancelling a running job asks its worker to abort it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class JobStatus(StrEnum):
    TODO = "todo"
    DOING = "doing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: int
    task: str
    queue: str
    status: JobStatus
    #: ``None`` for platform jobs.
    tenant_id: uuid.UUID | None
    attempts: int
    scheduled_at: datetime | None
    #: When it was queued, and when its status last changed.
    queued_at: datetime | None
    updated_at: datetime | None


class JobStateError(Exception):
    """The job is not in a state that allows this (e.g. retrying one that succeeded)."""


_COLUMNS = """
    j.id, j.task_name, j.queue_name, j.status::text AS status, j.args ->> 'tenant_id' AS tenant_id,
    j.attempts, j.scheduled_at,
    (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS queued_at,
    (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS updated_at
"""


def _info(row: RowMapping) -> JobInfo:
    tenant = row["tenant_id"]
    return JobInfo(
        id=row["id"],
        task=row["task_name"],
        queue=row["queue_name"],
        status=JobStatus(row["status"]),
        tenant_id=uuid.UUID(tenant) if tenant else None,
        attempts=row["attempts"],
        scheduled_at=row["scheduled_at"],
        queued_at=row["queued_at"],
        updated_at=row["updated_at"],
    )


async def list_jobs(
    engine: AsyncEngine,
    *,
    status: JobStatus | None = None,
    tenant_id: uuid.UUID | None = None,
    task: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[JobInfo]:
    """Newest first."""
    filters: list[str] = []
    values: dict[str, object] = {"limit": limit, "offset": offset}
    if status is not None:
        filters.append("j.status = CAST(:status AS procrastinate_job_status)")
        values["status"] = status.value
    if tenant_id is not None:
        filters.append("j.args ->> 'tenant_id' = :tenant_id")
        values["tenant_id"] = str(tenant_id)
    if task is not None:
        filters.append("j.task_name = :task")
        values["task"] = task
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    order = "ORDER BY j.id DESC LIMIT :limit OFFSET :offset"
    query = f"SELECT {_COLUMNS} FROM procrastinate_jobs j {where} {order}"  # noqa: S608 (fixed parts)
    async with engine.connect() as connection:
        rows = (await connection.execute(text(query), values)).mappings().all()
    return [_info(row) for row in rows]


async def get_job(engine: AsyncEngine, job_id: int) -> JobInfo | None:
    async with engine.connect() as connection:
        return await _read(connection, job_id)


async def _read(connection: AsyncConnection, job_id: int) -> JobInfo | None:
    query = text(f"SELECT {_COLUMNS} FROM procrastinate_jobs j WHERE j.id = :id")  # noqa: S608
    row = (await connection.execute(query, {"id": job_id})).mappings().first()
    return _info(row) if row is not None else None


async def _locked_status(connection: AsyncConnection, job_id: int) -> str | None:
    """The job's status, its row locked until the transaction ends."""
    status: str | None = await connection.scalar(
        text("SELECT status::text FROM procrastinate_jobs WHERE id = :id FOR UPDATE"),
        {"id": job_id},
    )
    return status


async def retry_job(engine: AsyncEngine, job_id: int) -> JobInfo | None:
    """Queue a failed job again, now; ``None`` if there is no such job."""
    async with engine.begin() as connection:
        status = await _locked_status(connection, job_id)
        if status is None:
            return None
        if status != JobStatus.FAILED:
            raise JobStateError(f"job {job_id} is {status}: only failed jobs are retried")
        await connection.execute(
            text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"), {"id": job_id}
        )
        return await _read(connection, job_id)


async def cancel_job(engine: AsyncEngine, job_id: int) -> JobInfo | None:
    """Cancel a waiting job, or ask the worker running it to abort; ``None`` if none."""
    async with engine.begin() as connection:
        status = await _locked_status(connection, job_id)
        if status is None:
            return None
        if status not in (JobStatus.TODO, JobStatus.DOING):
            raise JobStateError(f"job {job_id} is {status}: only waiting or running jobs cancel")
        await connection.execute(
            text("SELECT procrastinate_cancel_job_v1(:id, true, false)"), {"id": job_id}
        )
        return await _read(connection, job_id)
