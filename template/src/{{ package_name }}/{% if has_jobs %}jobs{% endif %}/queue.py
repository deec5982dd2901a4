"""Putting jobs on the queue: one SQL function, called in the caller's transaction.

The queue is procrastinate's ``procrastinate_jobs`` table, next to the tenant
registry. A job is queued by ``tenancy_defer_job`` (migration ``shared_0003``),
called on whatever session or connection the caller passes: a route passes its
tenant session, so the job row commits with the write that caused it, and a
rolled-back write leaves no job behind. The request path stays on asyncpg; only
the worker uses procrastinate's psycopg connector.

Fairness is the queue's order: procrastinate runs the highest ``priority`` first,
and a tenant job's priority is minus the number of jobs its tenant already has
waiting. A tenant's k-th waiting job therefore runs after every other tenant's
first k: one tenant's 10,000 queued jobs do not hold back another tenant's one,
and no worker slot is set aside per tenant (a tenant alone gets them all). Jobs of
one tenant may run out of the order they were queued in.

The function is ``SET search_path = public``: a schema tenant's transaction has
its own schema on the path, and procrastinate's SQL names its tables unqualified.
A job given a ``queueing_lock`` is skipped (``None``) while another with the same
lock is still waiting, which is how a periodic fan-out never queues a tenant twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

#: Where a job can be queued: a session or connection on the database holding the queue.
QueueTarget = AsyncSession | AsyncConnection

#: procrastinate's tables and sequences: the runtime role (web and worker) uses them.
JOB_TABLES = (
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
)
JOB_SEQUENCES = (
    "procrastinate_jobs_id_seq",
    "procrastinate_events_id_seq",
    "procrastinate_periodic_defers_id_seq",
    "procrastinate_workers_id_seq",
)

DEFER_FUNCTION = """
CREATE FUNCTION public.tenancy_defer_job(
    p_queue_name varchar,
    p_task_name varchar,
    p_priority integer,
    p_queueing_lock text,
    p_args jsonb,
    p_scheduled_at timestamptz
) RETURNS bigint
LANGUAGE sql
SET search_path = public, pg_temp
AS $$
    INSERT INTO procrastinate_jobs (queue_name, task_name, priority, queueing_lock, args,
                                    scheduled_at)
    VALUES (
        p_queue_name,
        p_task_name,
        COALESCE(p_priority, -(
            SELECT count(*) FROM procrastinate_jobs
            WHERE status = 'todo' AND args ->> 'tenant_id' = p_args ->> 'tenant_id'
        )::integer),
        p_queueing_lock,
        p_args,
        p_scheduled_at
    )
    ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
    RETURNING id
$$
"""

#: Keeps counting a tenant's waiting jobs cheap, however many finished ones it has.
WAITING_INDEX = (
    "CREATE INDEX ix_procrastinate_jobs_waiting_tenant_id ON procrastinate_jobs "
    "((args ->> 'tenant_id')) WHERE status = 'todo'"
)

#: A NUL escape in JSON text (not an escaped backslash followed by "u0000").
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")

_DEFER = text(
    "SELECT public.tenancy_defer_job(:queue, :task, :priority, :queueing_lock, "
    "CAST(:args AS jsonb), :scheduled_at)"
)
_WAITING = text(
    "SELECT count(*) FROM public.procrastinate_jobs "
    "WHERE status = 'todo' AND args ->> 'tenant_id' = :tenant_id"
)


def encode_args(args: Mapping[str, Any]) -> str:
    """The job's arguments as JSON, or ``TypeError``/``ValueError`` before anything is
    written for what a jsonb column cannot hold: objects, NaN and infinities, lone
    surrogates, NUL characters, nesting deeper than Python can encode."""
    try:
        encoded = json.dumps(args, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        raise ValueError("job arguments nest too deeply") from None
    encoded.encode()  # UnicodeEncodeError (a ValueError) for a lone surrogate
    if _NUL.search(encoded):
        raise ValueError("job arguments cannot hold a NUL character (jsonb refuses it)")
    return encoded


async def enqueue(
    target: QueueTarget,
    *,
    task: str,
    queue: str,
    args: Mapping[str, Any],
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
) -> int | None:
    """Queue one job in ``target``'s transaction; its id, or ``None`` if ``queueing_lock``
    is held by a job still waiting."""
    result = await target.execute(
        _DEFER,
        {
            "queue": queue,
            "task": task,
            "priority": None,
            "queueing_lock": queueing_lock,
            "args": encode_args(args),
            "scheduled_at": scheduled_at,
        },
    )
    job_id: int | None = result.scalar_one()
    return job_id


async def enqueue_many(
    target: QueueTarget,
    *,
    task: str,
    queue: str,
    tenant_id: str,
    jobs: Iterable[Mapping[str, Any]],
) -> int:
    """Queue jobs of one tenant in two round trips of ``target``'s transaction (their
    priorities continue from the tenant's waiting jobs, counted once)."""
    encoded = [encode_args(args) for args in jobs]
    if not encoded:
        return 0
    waiting = int(await target.scalar(_WAITING, {"tenant_id": tenant_id}) or 0)
    rows = [
        {
            "queue": queue,
            "task": task,
            "priority": -(waiting + position),
            "queueing_lock": None,
            "args": args,
            "scheduled_at": None,
        }
        for position, args in enumerate(encoded)
    ]
    await target.execute(_DEFER, rows)
    return len(rows)
