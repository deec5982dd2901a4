"""What every command needs: a console, an event loop, a database at head, the parts.

Without ``DATABASE_URL`` (development), ``ensure_database`` starts the embedded
PostgreSQL from ``devdb.py``, migrates it and points the service at it;
``with_parts`` builds the service's parts (``parts.py``) for one command.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import Progress

from ..migrations import SOURCE
from ..observability.metrics import write_migration_metrics
from ..parts import Parts, build_parts
from ..settings import Environment, Settings, get_settings
from ..tenancy.upgrade import upgrade_all

console = Console()
logger = logging.getLogger("migrate")
T = TypeVar("T")
#: The package's name: the embedded database and its roles are named after it.
PACKAGE = __name__.partition(".")[0]


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coro_fn()

    return asyncio.run(main())


def ensure_database(settings: Settings) -> Settings:
    """Settings with DATABASE_URL set, starting (and migrating) the embedded server if needed.

    The URLs are also exported, so uvicorn's reloader and workers inherit them.
    """
    if settings.database_url:
        return settings
    if settings.environment is Environment.PRODUCTION:
        raise typer.BadParameter("DATABASE_URL is required in production")
    from ..devdb import bootstrap_database, start_embedded

    superuser = start_embedded(settings.embedded_postgres_dir)
    urls = run(
        lambda: bootstrap_database(
            superuser, PACKAGE, owner=f"{PACKAGE}_owner", runtime=f"{PACKAGE}_app"
        )
    )
    os.environ["DATABASE_URL"] = urls.runtime
    os.environ["MIGRATION_DATABASE_URL"] = urls.owner
    get_settings.cache_clear()  # create_app() must see the exported URLs
    console.print(f"[dim]embedded PostgreSQL in {settings.embedded_postgres_dir}[/dim]")
    settings = settings.model_copy(
        update={"database_url": urls.runtime, "migration_database_url": urls.owner}
    )
    migrate_all(settings)  # the embedded database is always kept at head
    return settings


def migrate_all(settings: Settings, concurrency: int = 1, metrics_file: Path | None = None) -> None:
    owner = settings.owner_database_url
    assert owner is not None
    started = time.monotonic()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("tenant namespaces", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = run(
            lambda: upgrade_all(
                SOURCE,
                owner,
                settings.database_url,
                concurrency=concurrency,
                on_progress=advance,
                servers=_other_servers(settings),
            )
        )
    console.print(f"[green]✓[/green] shared: at {report.shared}")
    at_head = len(report.revisions) - len(report.behind)
    console.print(f"[green]✓[/green] tenant: {at_head} namespace(s) at {report.head}")
    if len(report.servers) > 1:  # several database servers: each one's count
        behind = set(report.behind)
        for server, names in sorted(report.servers.items()):
            late = len(behind.intersection(names))
            console.print(f"  {server}: {len(names) - late} at head, {late} behind")
    for name in report.behind:
        reason = report.failed.get(name, f"at {report.revisions.get(name)}")
        console.print(f"[red]✗[/red] {name}: {reason}")
        logger.error("namespace not migrated", extra={"namespace": name, "reason": reason})
    logger.info(
        "migrate finished",
        extra={
            "head": report.head,
            "namespaces": len(report.revisions),
            "behind": len(report.behind),
            "failed": len(report.failed),
        },
    )
    if metrics_file is not None:
        write_migration_metrics(str(metrics_file), report, time.monotonic() - started)
    if not report.ok:
        raise typer.Exit(1)


def _other_servers(settings: Settings) -> dict[str, tuple[str, str | None]]:
    """The database servers beside the primary (DATABASE_SERVERS), for ``upgrade_all``."""
    return {
        name: (owner, runtime)
        for name, (owner, runtime) in settings.database_server_urls().items()
        if name != "primary" and owner is not None
    }


def with_parts(work: Callable[[Parts], Awaitable[T]]) -> T:
    """Run ``work`` with the service's parts (a small pool), released afterwards."""
    settings = ensure_database(get_settings())

    async def main() -> T:
        parts = build_parts(settings, pool_size=2)
        try:
            return await work(parts)
        finally:
            await parts.aclose()

    return asyncio.run(main())
