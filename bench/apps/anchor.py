"""Benchmark anchor: the notes API built on the PyPI library ``fastapi-tenancy==0.5.0``.

Wired as its README "Quick Start" and docs (getting-started/quickstart.md, guides/isolation/
{rls,schema}.md, guides/caching.md) show: ``TenancyConfig`` -> ``SQLAlchemyTenantStore`` ->
``TenancyManager`` -> raw-ASGI ``TenancyMiddleware`` with the header resolver (``X-Tenant-ID``
carries the identifier, e.g. ``t00001``); routes use ``make_tenant_db_dependency(manager)``.
``create_app`` (``uvicorn --factory bench.apps.anchor:create_app``) reads ``BENCH_DATABASE_URL``
(``postgresql+asyncpg://``), ``BENCH_MODE`` (``rls``: ``RLSIsolationProvider``; ``schema``:
``SchemaIsolationProvider``) and ``BENCH_PROFILE`` (``defaults``/``tuned``, see ``_manager``).
``setup()`` (CLI: ``python bench/apps/anchor.py setup <url> <mode> <n>``) registers tenants with
``TenancyManager.register_tenant`` and seeds notes through the provider's tenant session.

RLS and superusers: PostgreSQL exempts superusers and BYPASSRLS roles from every policy, FORCEd
or not (the library's rls guide wrongly says FORCE covers superusers). Given such a URL, setup()
creates the plain role ``anchor_rls_app`` and the RLS provider's connections ``SET ROLE`` to it
once per connection (no per-request cost); an owner or plain role URL is used as is.
"""

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi_tenancy import (
    SQLAlchemyTenantStore,
    TenancyConfig,
    TenancyManager,
    TenancyMiddleware,
    Tenant,
    TenantNotFoundError,
)
from fastapi_tenancy.dependencies import get_current_tenant, make_tenant_db_dependency
from sqlalchemy import event, func, select
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase

from bench.apps.responses import NotePage, note_page

RLS_APP_ROLE = "anchor_rls_app"
# guides/isolation/rls.md "2. Enable RLS and create policies" (+ DROP IF EXISTS, to re-run).
RLS_POLICY_SQL = (
    "ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE notes FORCE ROW LEVEL SECURITY",
    "DROP POLICY IF EXISTS tenant_isolation ON notes",
    (
        "CREATE POLICY tenant_isolation ON notes AS PERMISSIVE FOR ALL"
        " USING (tenant_id = current_setting('app.current_tenant', TRUE))"
        " WITH CHECK (tenant_id = current_setting('app.current_tenant', TRUE))"
    ),
)


def _notes(metadata: sa.MetaData, *, rls: bool) -> sa.Table:
    """``notes`` in each tenant schema, or one shared table keyed by ``tenant_id`` (rls)."""
    uuid_pk = sa.Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    tenant_id = [sa.Column("tenant_id", sa.String(255), nullable=False)] if rls else []
    return sa.Table(
        "notes",
        metadata,
        uuid_pk,
        *tenant_id,
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        *(
            sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=func.now())
            for name in ("created_at", "updated_at")
        ),
        sa.Index("ix_notes_tenant_created", "tenant_id", "created_at")
        if rls
        else sa.Index("ix_notes_created_at", "created_at"),
    )


SCHEMA_METADATA, RLS_METADATA = sa.MetaData(), sa.MetaData()
NOTES = {"schema": _notes(SCHEMA_METADATA, rls=False), "rls": _notes(RLS_METADATA, rls=True)}


class _Base(DeclarativeBase):
    pass


class RlsNote(_Base):
    """ORM class on the shared table: the route loads objects, as bare and ours do."""

    __table__ = NOTES["rls"]


class SchemaNote(_Base):
    __table__ = NOTES["schema"]


NOTE_CLASSES: dict[str, type[_Base]] = {"rls": RlsNote, "schema": SchemaNote}


def _manager(database_url: str, mode: str, profile: str) -> TenancyManager:
    """The library's config + store + manager for one mode and profile.

    ``defaults``: the README quick start, every other setting at the library default (provider
    pool 20+40 and store pool 10+20, both with pre-ping; no tenant cache, so each request reads
    the ``tenants`` table).

    ``tuned``: what its docs offer for speed, nothing else:
    ``l1_cache_enabled=True`` (in-process LRU+TTL tenant cache without Redis: the field's doc,
    "single-process deployments that want microsecond tenant lookups");
    ``l1_cache_ttl_seconds=300`` (guides/caching.md "Tuning", "Single-process, high traffic");
    ``l1_cache_max_size=10_000`` (field doc: ">= your expected hot-tenant count");
    ``database_pool_pre_ping=False`` and the store's ``pool_pre_ping=False`` (no BEGIN/;/ROLLBACK
    liveness check per pool checkout).
    """
    if mode not in NOTES or profile not in ("defaults", "tuned"):
        raise ValueError(f"bad mode {mode!r} or profile {profile!r}")
    fields: dict[str, Any] = {
        "database_url": database_url,
        "resolution_strategy": "header",
        "tenant_header_name": "X-Tenant-ID",
        "isolation_strategy": mode,
    }
    if profile == "tuned":
        fields |= {
            "l1_cache_enabled": True,
            "l1_cache_ttl_seconds": 300,
            "l1_cache_max_size": 10_000,
            "database_pool_pre_ping": False,
        }
    # _env_file=None: a stray .env in the working directory must not change the config.
    config = TenancyConfig(_env_file=None, **fields)  # type: ignore[call-arg]
    store = SQLAlchemyTenantStore(config.database_url, pool_pre_ping=config.database_pool_pre_ping)
    return TenancyManager(config, store)


async def _bypasses_rls(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        query = "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        return bool(await conn.scalar(sql(query)))


async def _subject_provider_to_rls(manager: TenancyManager) -> None:
    """If the URL's role skips RLS, make the provider's connections run as ``anchor_rls_app``."""
    engine: AsyncEngine = manager.isolation_provider.engine  # type: ignore[attr-defined]
    if not await _bypasses_rls(engine):
        return

    def set_role(dbapi_connection: Any, _record: Any) -> None:
        # On the raw asyncpg connection, outside SQLAlchemy's implicit transaction: a SET in
        # that transaction would be undone by the pool's rollback-on-return.
        dbapi_connection.run_async(lambda conn: conn.execute(f"SET ROLE {RLS_APP_ROLE}"))

    event.listen(engine.sync_engine, "connect", set_role)
    await engine.dispose()
    for _ in range(2):  # a fresh connection, then the same one back from the pool
        if await _bypasses_rls(engine):
            raise RuntimeError(f"{RLS_APP_ROLE} bypasses RLS: tenants would see others' rows")


def create_app() -> FastAPI:
    """ASGI factory configured from ``BENCH_DATABASE_URL``, ``BENCH_MODE``, ``BENCH_PROFILE``."""
    mode = os.environ.get("BENCH_MODE", "rls")
    profile = os.environ.get("BENCH_PROFILE", "defaults")
    manager = _manager(os.environ["BENCH_DATABASE_URL"], mode, profile)
    notes = NOTES[mode]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await manager.initialize()  # as in docs/getting-started/quickstart.md
        try:
            if mode == "rls":
                await _subject_provider_to_rls(manager)
            yield
        finally:
            await manager.close()

    app = FastAPI(title="fastapi-tenancy anchor", lifespan=lifespan)
    app.add_middleware(TenancyMiddleware, manager=manager)
    get_db = make_tenant_db_dependency(manager)
    note = NOTE_CLASSES[mode]
    total = func.count().over().label("total")  # the same single query as bare and ours

    router = APIRouter(prefix="/api/notes")  # the same route layout as bare and ours

    @router.get("")
    async def list_notes(
        session: Annotated[AsyncSession, Depends(get_db)],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> NotePage:
        # Unqualified "notes": the provider's search_path (schema) or RLS policy scopes it.
        page = select(note, total).order_by(notes.c.created_at.desc(), notes.c.id)
        rows = (await session.execute(page.limit(limit).offset(offset))).all()
        return note_page(rows, limit, offset)

    @app.get("/api/ping")
    async def ping(tenant: Annotated[Tenant, Depends(get_current_tenant)]) -> dict[str, str]:
        return {"tenant": tenant.identifier}

    app.include_router(router)
    return app


async def setup(
    database_url: str, mode: str, identifiers: list[str], rows_per_tenant: int = 20
) -> None:
    """Create the registry, tenants (``register_tenant``), ``notes`` and rows; re-runnable."""
    manager = _manager(database_url, mode, "defaults")
    await manager.initialize()  # SQLAlchemyTenantStore.initialize() creates ``tenants``
    notes = NOTES[mode]
    try:
        if mode == "rls":  # one shared table + policy (guides/isolation/rls.md)
            engine: AsyncEngine = manager.isolation_provider.engine  # type: ignore[attr-defined]
            bypass = await _bypasses_rls(engine)
            async with engine.begin() as conn:
                await conn.run_sync(RLS_METADATA.create_all)
                for statement in RLS_POLICY_SQL:
                    await conn.execute(sql(statement))
                if bypass:  # a plain role for the provider's connections (module docstring)
                    exists = "SELECT 1 FROM pg_roles WHERE rolname = :r"
                    if not await conn.scalar(sql(exists), {"r": RLS_APP_ROLE}):
                        await conn.execute(sql(f"CREATE ROLE {RLS_APP_ROLE} NOLOGIN NOBYPASSRLS"))
                    grant = "SELECT, INSERT, UPDATE, DELETE ON notes"
                    await conn.execute(sql(f"GRANT USAGE ON SCHEMA public TO {RLS_APP_ROLE}"))
                    await conn.execute(sql(f"GRANT {grant} TO {RLS_APP_ROLE}"))
            await _subject_provider_to_rls(manager)
        cols = "title, body, created_at, updated_at"
        values = (
            "CAST(:prefix AS text) || g, 'Body of ' || CAST(:prefix AS text) || g,"
            " now() - g * interval '1 second', now() - g * interval '1 second'"
        )
        if mode == "rls":
            cols, values = f"tenant_id, {cols}", f"CAST(:tenant AS text), {values}"
        insert = sql(f"INSERT INTO notes ({cols}) SELECT {values} FROM generate_series(1, :n) g")
        started, created = time.perf_counter(), 0
        for identifier in identifiers:
            try:
                tenant = await manager.store.get_by_identifier(identifier)
            except TenantNotFoundError:
                # schema: CREATE SCHEMA tenant_<identifier> + create_all in it; rls: a store row
                # only ("No app_metadata needed - tables already exist", guides/isolation/rls.md).
                tenant = await manager.register_tenant(
                    identifier=identifier,
                    name=f"Tenant {identifier}",
                    app_metadata=SCHEMA_METADATA if mode == "schema" else None,
                )
                created += 1
            async with manager.isolation_provider.get_session(tenant) as session:
                if (await session.execute(select(func.count()).select_from(notes))).scalar_one():
                    continue
                await session.execute(
                    insert,
                    {"prefix": f"{identifier} note ", "tenant": tenant.id, "n": rows_per_tenant},
                )
                await session.commit()
        seconds = time.perf_counter() - started
        print(
            f"anchor setup {mode}: {len(identifiers)} tenants ({created} registered) in "
            f"{seconds:.2f} s, {seconds / max(len(identifiers), 1) * 1000:.1f} ms per tenant",
            file=sys.stderr,
        )
    finally:
        await manager.close()


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "setup":
        sys.exit("usage: python bench/apps/anchor.py setup <asyncpg-url> <rls|schema> <n>")
    _, _, url, bench_mode, count = sys.argv
    asyncio.run(setup(url, bench_mode, [f"t{i:05d}" for i in range(1, int(count) + 1)]))
