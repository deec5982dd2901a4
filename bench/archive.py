"""Tenant archives and erasure, measured in-process on a rendered service (issue 16).

``archive_bench(service)`` takes a ``measure.Service`` (or anything with ``package``,
``runtime``, ``owner`` and ``redis_url``) whose database is migrated, and on its own
parts (``build_parts``, as the CLI builds them):

1. creates a tenant through ``provisioning.create_tenant`` and writes ``rows`` notes into
   it through its own session (batches of 5,000, not timed);
2. exports it to a temporary file (``tenancy.exporter.export_tenant``): rows per second,
   archive bytes;
3. purges it with ``tenancy.erasure.purge_with_report`` (purge, audit policy, Redis keys,
   every check of the report): seconds, and whether the report says erased;
4. imports the archive as a new tenant (``tenancy.importer.import_archive``: both passes,
   the checks and the inserts): rows per second; with row-level security the source had
   to go first (shared tables, global keys), so every mode measures the same sequence;
5. purges the imported tenant (not timed) and releases the parts.

One run per call, wall-clock time (``time.perf_counter``); the caller repeats it if it
wants a median. No assertion on any number: ``erased`` is reported as found.
"""

from __future__ import annotations

import importlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

#: Notes written per statement while filling the tenant.
FILL_BATCH = 5_000


async def _fill(modules: dict[str, Any], parts: Any, tenant: Any, rows: int) -> None:
    from sqlalchemy import insert

    table = modules["models"].Note.__table__
    stamp = {"tenant_id": tenant.id} if "tenant_id" in table.c else {}
    async with parts.isolation.session(tenant) as session, session.begin():
        for start in range(0, rows, FILL_BATCH):
            batch = [
                {"id": uuid.uuid4(), "title": f"note {i}", "body": f"note {i} body " * 4, **stamp}
                for i in range(start, min(start + FILL_BATCH, rows))
            ]
            await session.execute(insert(table), batch)


async def archive_bench(service: Any, rows: int = 100_000) -> dict[str, Any]:
    """Export, purge-with-report and import throughput for a tenant of ``rows`` notes."""
    package = service.package
    modules = {
        name: importlib.import_module(f"{package}.{name}")
        for name in (
            "settings",
            "parts",
            "models",
            "migrations",
            "tenancy.events",
            "tenancy.tenant",
            "tenancy.provisioning",
            "tenancy.exporter",
            "tenancy.importer",
            "tenancy.erasure",
        )
    }
    settings = modules["settings"].Settings(
        database_url=service.runtime,
        migration_database_url=service.owner,
        redis_url=service.redis_url,
    )
    parts = modules["parts"].build_parts(settings, pool_size=4)
    info = modules["tenancy.events"].RequestInfo(actor="bench")
    source = modules["migrations"].SOURCE
    identifier = f"bench-archive-{uuid.uuid4().hex[:8]}"
    result: dict[str, Any] = {"rows": rows}
    try:
        data = modules["tenancy.tenant"].TenantCreate(identifier=identifier, name=identifier)
        tenant = await modules["tenancy.provisioning"].create_tenant(data, parts, info)
        await _fill(modules, parts, tenant, rows)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "tenant.tar.gz"
            start = time.perf_counter()
            with path.open("wb") as file:
                await modules["tenancy.exporter"].export_tenant(
                    tenant, parts.isolation, source, file
                )
            seconds = time.perf_counter() - start
            result |= {
                "export_seconds": seconds,
                "export_rows_per_second": rows / seconds,
                "archive_bytes": path.stat().st_size,
            }

            start = time.perf_counter()
            report = await modules["tenancy.erasure"].purge_with_report(
                tenant.id, parts, info, audit=settings.erasure_audit
            )
            result |= {"purge_report_seconds": time.perf_counter() - start}
            result |= {"erased": bool(report is not None and report.erased)}

            start = time.perf_counter()
            copy, _ = await modules["tenancy.importer"].import_archive(
                path, parts, source, info, identifier=f"{identifier}-copy"
            )
            seconds = time.perf_counter() - start
            result |= {"import_seconds": seconds, "import_rows_per_second": rows / seconds}
        await modules["tenancy.provisioning"].purge_tenant(copy.id, parts, info)
    finally:
        await parts.aclose()
    return result
