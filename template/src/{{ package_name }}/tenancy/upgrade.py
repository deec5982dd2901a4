"""``upgrade_all``: every namespace to head, bounded, resumable and verified.

1. The shared environment first (the tenant registry may gain columns).
2. Then the tenant environment in every namespace the layout names: ``public``
   when tenant tables live there (row-level security), and each active or
   suspended tenant's recorded schema or database, read from the registry. With
   ``concurrency`` > 1 the namespaces are split into batches handled by worker
   *processes*: Alembic's ``context`` and ``op`` are process-global, so threads or
   tasks of one process would trample each other's migrations.
3. A failing namespace is reported and the run goes on; running again resumes
   (a namespace at head is a no-op). Each namespace's revision is read back from
   its own version table, never taken from the runner's word, and the report
   lists every namespace that is not at head.
4. With several database servers (a layout whose records are ``placed``), each
   namespace is upgraded on the server its tenant's record names, with the owner
   URL given for that server. With ``concurrency`` > 1 the servers are migrated
   at the same time, each by ``concurrency`` worker processes of its own (one
   process runs one environment at a time: with 1, the servers take turns), and
   the report says which
   namespaces are on which server. A record naming a server with no URL fails
   (it is reported, never migrated somewhere else).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import text

from .db import create_engine, runtime_grantee
from .migrations import (
    PUBLIC,
    MigrationSource,
    Namespace,
    Outcome,
    head,
    upgrade_namespaces,
    upgrade_shared,
)

BATCH_SIZE = 25
#: The namespaces ``migrate`` reaches: tenants that may serve requests again.
_NAMESPACES = text(
    "SELECT namespace FROM public.tenants"
    " WHERE namespace IS NOT NULL AND status IN ('active', 'suspended')"
    " ORDER BY created_at, id"
)

_PLACED_NAMESPACES = text(
    "SELECT server, namespace FROM public.tenants"
    " WHERE namespace IS NOT NULL AND status IN ('active', 'suspended')"
    " ORDER BY created_at, id"
)
PRIMARY = "primary"

Progress = Callable[[int, int], None]
#: A server's (owner URL, runtime URL).
ServerUrls = tuple[str, str | None]


@dataclass
class MigrationReport:
    shared: str | None
    head: str | None
    #: namespace name -> revision read back after the run
    revisions: dict[str, str | None] = field(default_factory=dict)
    #: namespace name -> error message
    failed: dict[str, str] = field(default_factory=dict)
    #: server name -> the namespaces on it (``primary`` only, with one server)
    servers: dict[str, list[str]] = field(default_factory=dict)

    @property
    def behind(self) -> list[str]:
        """Namespaces not at head (failed ones included)."""
        return sorted(
            {name for name, rev in self.revisions.items() if rev != self.head} | set(self.failed)
        )

    @property
    def ok(self) -> bool:
        return not self.behind


def _upgrade_batch(
    source: MigrationSource, owner_url: str, runtime_role: str | None, namespaces: list[Namespace]
) -> list[Outcome]:
    """Runs in a worker process, with its own event loop and Alembic globals."""
    return asyncio.run(upgrade_namespaces(source, owner_url, namespaces, runtime_role))


async def namespaces_of(source: MigrationSource, owner_url: str) -> list[Namespace]:
    """Where the tenant environment runs, as the layout and the registry say."""
    found = [PUBLIC] if source.layout.public else []
    kind = source.layout.kind
    if kind is None:
        return found
    engine = create_engine(owner_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            names = await conn.scalars(_NAMESPACES)
            return [*found, *(Namespace(kind, name) for name in names)]
    finally:
        await engine.dispose()


async def placed_namespaces_of(
    source: MigrationSource, owner_url: str
) -> dict[str, list[Namespace]]:
    """``namespaces_of``, by the server each tenant's record names (``public``: the primary)."""
    if not source.layout.placed or source.layout.kind is None:
        return {PRIMARY: await namespaces_of(source, owner_url)}
    kind = source.layout.kind
    placed: dict[str, list[Namespace]] = {PRIMARY: [PUBLIC] if source.layout.public else []}
    engine = create_engine(owner_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            for server, name in await conn.execute(_PLACED_NAMESPACES):
                placed.setdefault(server, []).append(Namespace(kind, name))
    finally:
        await engine.dispose()
    return placed


async def upgrade_all(
    source: MigrationSource,
    owner_url: str,
    runtime_url: str | None,
    *,
    concurrency: int = 1,
    on_progress: Progress | None = None,
    servers: Mapping[str, ServerUrls] | None = None,
) -> MigrationReport:
    """Migrate the shared tables and every tenant namespace; see the module docstring.

    ``servers``: the other database servers' URLs by name (the primary is ``owner_url``).
    """
    runtime_role = runtime_grantee(runtime_url, owner_url)  # None: one role, nothing to grant
    shared = await upgrade_shared(source, owner_url, runtime_role)
    report = MigrationReport(shared=shared, head=head(source, "tenant"))
    placed = await placed_namespaces_of(source, owner_url)
    urls: dict[str, ServerUrls] = {**(servers or {}), PRIMARY: (owner_url, runtime_url)}
    total = sum(len(namespaces) for namespaces in placed.values())
    done = 0

    def record(results: list[Outcome]) -> None:
        nonlocal done
        for name, revision, error in results:
            report.revisions[name] = revision
            if error is not None:
                report.failed[name] = error
        done += len(results)
        if on_progress:
            on_progress(done, total)

    targets: list[tuple[str, str | None, list[Namespace]]] = []
    for server, namespaces in placed.items():
        report.servers[server] = [namespace.name for namespace in namespaces]
        if server not in urls:
            reason = f"its server {server!r} is not configured (DATABASE_SERVERS)"
            record([(namespace.name, None, reason) for namespace in namespaces])
            continue
        owner, runtime = urls[server]
        targets.append((owner, runtime_grantee(runtime, owner), namespaces))
    if concurrency <= 1 or len(targets) == 1:  # server after server (one is the usual case)
        for owner, role, namespaces in targets:
            await _upgrade_on(source, owner, role, namespaces, concurrency, record, alone=True)
    else:
        await asyncio.gather(
            *(
                _upgrade_on(source, owner, role, namespaces, concurrency, record, alone=False)
                for owner, role, namespaces in targets
            )
        )
    return report


async def _upgrade_on(
    source: MigrationSource,
    owner_url: str,
    runtime_role: str | None,
    namespaces: list[Namespace],
    concurrency: int,
    record: Callable[[list[Outcome]], None],
    *,
    alone: bool,
) -> None:
    """One server's namespaces, in batches: here, or in ``concurrency`` worker processes.

    Unless the server is migrated ``alone``, its batches always go to worker processes:
    servers migrated at the same time must not share this process's Alembic lock.
    """
    batches = [namespaces[i : i + BATCH_SIZE] for i in range(0, len(namespaces), BATCH_SIZE)]
    if not batches or concurrency <= 1 or (alone and len(batches) == 1):
        engine = create_engine(owner_url, pool_size=1, max_overflow=0)  # one for every batch
        try:
            for batch in batches:
                outcomes = await upgrade_namespaces(
                    source, owner_url, batch, runtime_role, engine=engine
                )
                record(outcomes)
        finally:
            await engine.dispose()
        return
    spawn = multiprocessing.get_context("spawn")  # never fork a process running an event loop
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=concurrency, mp_context=spawn) as pool:
        futures = [
            loop.run_in_executor(pool, _upgrade_batch, source, owner_url, runtime_role, batch)
            for batch in batches
        ]
        for next_done in asyncio.as_completed(futures):
            record(await next_done)
