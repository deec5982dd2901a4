"""Provisioning against its hand-written limit, and ``migrate`` against a plain loop.

Absolute times differ several-fold between machines here; ratios to a hand-written
limit measured in the same run do not. So:

* ``provisioning_bench``: ``create_tenant`` (what the admin API and the CLI call), in
  process, against the raw SQL one tenant needs in one transaction on an open
  connection (rls: the tenant record's ``INSERT``; schema: ``CREATE SCHEMA``, the tenant
  tables and indexes as the service's revisions create them, the version table, the
  grants), alternating one of each, median of ``n``.
* ``plain_migrate_loop``: the benchmark revision's SQL (``ALTER TABLE ... ADD COLUMN``
  and the version update) applied schema after schema over one connection, one
  transaction each: what ``migrate`` over every schema cannot beat.
"""

from __future__ import annotations

import importlib
import statistics
import time
import uuid
from typing import Any

import asyncpg

#: The tenant tables of a schema tenant of the bench services (tenant_0001, tenant_0002).
_SCHEMA_TABLES = """
CREATE TABLE {s}.notes (id uuid NOT NULL, title varchar(200) NOT NULL, body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_notes PRIMARY KEY (id));
CREATE INDEX ix_notes_created_at ON {s}.notes (created_at);
CREATE TABLE {s}.note_exports (id uuid NOT NULL, status varchar(16) NOT NULL, job_id bigint,
  requested_by varchar(200), note_count integer, character_count bigint,
  created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
  CONSTRAINT pk_note_exports PRIMARY KEY (id));
CREATE INDEX ix_note_exports_created_at ON {s}.note_exports (created_at);
CREATE TABLE {s}.alembic_version_tenant (version_num varchar(32) NOT NULL,
  CONSTRAINT alembic_version_tenant_pkc PRIMARY KEY (version_num));
INSERT INTO {s}.alembic_version_tenant VALUES ('tenant_0003');
GRANT USAGE ON SCHEMA {s} TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {role};
REVOKE ALL ON {s}.alembic_version_tenant FROM {role};
"""


async def _raw(conn: asyncpg.Connection, mode: str, role: str) -> float:
    """Milliseconds for one tenant's raw SQL in one transaction."""
    name = f"raw_{uuid.uuid4().hex[:12]}"
    start = time.perf_counter()
    async with conn.transaction():
        if mode == "rls":
            await conn.execute(
                "INSERT INTO tenants (id, identifier, name, status, tier, metadata, config)"
                " VALUES ($1, $2, $2, 'active', 'standard', '{}', '{}')",
                uuid.uuid4(),
                name.replace("_", "-"),
            )
        else:
            await conn.execute(f'CREATE SCHEMA "{name}"')
            await conn.execute(_SCHEMA_TABLES.format(s=f'"{name}"', role=role))
    return (time.perf_counter() - start) * 1000


async def provisioning_bench(
    package: str, mode: str, runtime_url: str, owner_url: str, owner_dsn: str, n: int = 50
) -> dict[str, Any]:
    settings = importlib.import_module(f"{package}.settings").Settings(
        database_url=runtime_url, migration_database_url=owner_url, redis_url=None
    )
    parts = importlib.import_module(f"{package}.parts").build_parts(settings, pool_size=4)
    provisioning = importlib.import_module(f"{package}.tenancy.provisioning")
    tenant_data = importlib.import_module(f"{package}.tenancy.tenant").TenantCreate
    info = importlib.import_module(f"{package}.tenancy.events").RequestInfo(actor="bench")
    conn = await asyncpg.connect(owner_dsn)
    service: list[float] = []
    raw: list[float] = []
    try:
        await parts.start()
        for index in range(n + 2):  # the first two of each: warm-up
            identifier = f"prov-{uuid.uuid4().hex[:10]}"
            start = time.perf_counter()
            await provisioning.create_tenant(
                tenant_data(identifier=identifier, name=identifier), parts, info
            )
            took = (time.perf_counter() - start) * 1000
            limit = await _raw(conn, mode, f"{package}_app")
            if index >= 2:
                service.append(took)
                raw.append(limit)
    finally:
        await conn.close()
        await parts.aclose()
    return {
        "tenants": n,
        "service_ms": round(statistics.median(service), 2),
        "raw_ms": round(statistics.median(raw), 2),
        "ratio": round(statistics.median(service) / statistics.median(raw), 2),
    }


async def plain_migrate_loop(owner_dsn: str, schemas: list[str], column: str) -> float:
    """Seconds to add ``column`` to every schema's notes (and bump its version row) in a
    plain loop over one connection, one transaction per schema."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        start = time.perf_counter()
        for schema in schemas:
            async with conn.transaction():
                await conn.execute(
                    f'ALTER TABLE "{schema}".notes ADD COLUMN {column} text;'
                    f' UPDATE "{schema}".alembic_version_tenant SET version_num = version_num'
                )
        return time.perf_counter() - start
    finally:
        await conn.close()
