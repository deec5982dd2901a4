"""Moving a tenant between hybrid's strategies: how long it takes, and what the fence costs.

For ``measure.py`` to call on a rendered *hybrid* service whose database is migrated
(``<cli> migrate``), in-process like ``jobs_bench``::

    results["moves"] = await move_bench(
        service.package, service.runtime, service.owner, dsn(service.superuser, service.package)
    )

``move_bench`` creates a tenant in the shared tables, writes ``rows`` notes into it as
the superuser (bulk; not what is measured), then times ``move_tenant`` to a schema and
back (each: drain, copy, verify, switch, drop, caches told), and checks that every row
arrived. It also measures the fence on the request path: a tenant transaction
(``BEGIN``, ``SELECT 1``, ``COMMIT``) through the hybrid session, whose ``BEGIN`` carries
the placement guard, against the same through the plain rls session, in interleaved
rounds (median per-transaction microseconds of each, and the median difference).

Run it alone on a rendered hybrid project's package (its embedded PostgreSQL)::

    python -m bench.move --package my_saas_service [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

ROWS = 100_000


async def insert_notes(superuser_dsn: str, tenant_id: uuid.UUID, rows: int) -> None:
    """``rows`` notes of the tenant in the shared tables, written in one statement."""
    conn = await asyncpg.connect(superuser_dsn)
    try:
        await conn.execute(
            "INSERT INTO public.notes (id, tenant_id, title, body, created_at, updated_at)"
            " SELECT gen_random_uuid(), $1, 'note ' || g, repeat('lorem ipsum ', 10),"
            " now() - g * interval '1 second', now() FROM generate_series(1, $2) g",
            tenant_id,
            rows,
        )
        await conn.execute("ANALYZE public.notes")
    finally:
        await conn.close()


async def count_notes(superuser_dsn: str, tenant_id: uuid.UUID, namespace: str | None) -> int:
    """The tenant's notes where its record says they are (the superuser bypasses RLS)."""
    table = f'"{namespace}".notes' if namespace else "public.notes"
    conn = await asyncpg.connect(superuser_dsn)
    try:
        count: int = await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = $1",
            tenant_id,
        )
        return count
    finally:
        await conn.close()


async def _transactions(session_of: Any, tenant: Any, n: int) -> float:
    """Microseconds per tenant transaction (``BEGIN``, ``SELECT 1``, ``COMMIT``)."""
    from sqlalchemy import text

    start = time.perf_counter()
    for _ in range(n):
        async with session_of(tenant) as session, session.begin():
            await session.execute(text("SELECT 1"))
    return (time.perf_counter() - start) / n * 1e6


async def fence_cost(parts: Any, tenant: Any, n: int, rounds: int = 7) -> dict[str, float]:
    """The hybrid session (fenced) against the rls provider's own (not fenced)."""
    fenced = parts.isolation.session
    plain = parts.isolation.provider("rls").session
    await _transactions(fenced, tenant, n // 4)  # warm-up: pool, statement caches
    await _transactions(plain, tenant, n // 4)
    guarded: list[float] = []
    unguarded: list[float] = []
    for index in range(rounds):
        order = [(fenced, guarded), (plain, unguarded)]
        for session_of, into in order if index % 2 else reversed(order):
            into.append(await _transactions(session_of, tenant, n))
    differences = [a - b for a, b in zip(guarded, unguarded, strict=True)]
    return {
        "fenced_us": round(statistics.median(guarded), 1),
        "plain_us": round(statistics.median(unguarded), 1),
        "overhead_us": round(statistics.median(differences), 1),
    }


async def move_bench(
    package: str,
    runtime_url: str,
    owner_url: str,
    superuser_dsn: str,
    *,
    rows: int = ROWS,
    transactions: int = 2000,
    **settings: Any,
) -> dict[str, Any]:
    """Seconds to move a tenant of ``rows`` notes rls -> schema and back; the fence's cost."""
    settings_module = importlib.import_module(f"{package}.settings")
    config = settings_module.Settings(
        database_url=runtime_url, migration_database_url=owner_url, redis_url=None, **settings
    )
    parts = importlib.import_module(f"{package}.parts").build_parts(config, pool_size=4)
    provisioning = importlib.import_module(f"{package}.tenancy.provisioning")
    tenancy = importlib.import_module(f"{package}.tenancy.tenant")
    moves = importlib.import_module(f"{package}.tenancy.moves")
    info = importlib.import_module(f"{package}.tenancy.events").RequestInfo(actor="bench")
    try:
        identifier = f"move-{uuid.uuid4().hex[:8]}"
        data = tenancy.TenantCreate(identifier=identifier, name=identifier)
        tenant = await provisioning.create_tenant(data, parts, info)
        await insert_notes(superuser_dsn, tenant.id, rows)
        fence = await fence_cost(parts, tenant, transactions)
        timings: dict[str, float] = {}
        for target in ("schema", "rls"):
            start = time.perf_counter()
            moved = await moves.move_tenant(tenant.id, target, parts, info)
            timings[f"to_{target}_s"] = round(time.perf_counter() - start, 3)
            arrived = await count_notes(superuser_dsn, tenant.id, moved.namespace)
            if arrived != rows:
                raise RuntimeError(f"moved to {target}: {arrived} of {rows} notes")
        return {"rows": rows, **timings, "fence": fence}
    finally:
        await parts.aclose()


async def _alone(package: str, rows: int) -> dict[str, Any]:
    """``move_bench`` on a new database of the package's own embedded PostgreSQL."""
    devdb = importlib.import_module(f"{package}.devdb")
    upgrade = importlib.import_module(f"{package}.tenancy.upgrade")
    source = importlib.import_module(f"{package}.migrations").SOURCE
    data = Path(tempfile.mkdtemp(prefix="bench-move-")) / "data"
    superuser = devdb.start_embedded(data, delete_on_exit=True)
    name = f"bench_move_{uuid.uuid4().hex[:8]}"
    roles = (f"{name}_owner", f"{name}_app")
    urls = await devdb.bootstrap_database(superuser, name, owner=roles[0], runtime=roles[1])
    try:
        report = await upgrade.upgrade_all(source, urls.owner, urls.runtime)
        if not report.ok:
            raise RuntimeError(f"migrating the bench database failed: {report}")
        plain = superuser.replace("postgresql+asyncpg://", "postgresql://", 1)
        superuser_dsn = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", plain, count=1)
        return await move_bench(package, urls.runtime, urls.owner, superuser_dsn, rows=rows)
    finally:
        await devdb.drop_database(superuser, name, roles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, help="a rendered hybrid service's package")
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_alone(args.package, args.rows)), indent=2))


if __name__ == "__main__":
    main()
