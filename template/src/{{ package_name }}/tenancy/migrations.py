"""Running the two Alembic environments, and granting the runtime role its rights.

``migrations/shared`` holds the tables every tenant shares (the tenant registry,
the audit log); ``migrations/tenant`` holds tenant tables. With row-level
security a tenant's namespace is its rows in the shared tenant tables, so the
tenant environment runs once for everyone.

Alembic's ``context`` and ``op`` are process-global: environments run one after
another here, never concurrently in one process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ..db import async_url, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
ENVIRONMENTS = ("shared", "tenant")
VERSION_TABLES = {"shared": "alembic_version_shared", "tenant": "alembic_version_tenant"}


def alembic_config(environment: str, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / environment))
    if url is not None:
        # ConfigParser interpolates '%': escape it (passwords may contain one).
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def run_environment(context: Any, metadata: MetaData, environment: str) -> None:
    """The body of each ``env.py``: migrate on the connection we were handed,
    or (from the ``alembic`` command line) on one we open from the config.

    ``context`` is ``alembic.context``, a module that proxies the running
    ``EnvironmentContext`` (hence ``Any``).
    """
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "version_table": VERSION_TABLES[environment],
        "compare_type": True,
    }
    connection: Connection | None = context.config.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(url=context.config.get_main_option("sqlalchemy.url"), **options)
        with context.begin_transaction():
            context.run_migrations()
    elif connection is not None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    else:
        url = context.config.get_main_option("sqlalchemy.url") or _owner_url_from_settings()
        engine = create_engine(url, pool_size=1, max_overflow=0)

        async def run() -> None:
            async with engine.begin() as conn:
                await conn.run_sync(_run_on, context, options)
            await engine.dispose()

        asyncio.run(run())


def _run_on(connection: Connection, context: Any, options: dict[str, Any]) -> None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def _owner_url_from_settings() -> str:
    from ..settings import get_settings

    url = get_settings().owner_database_url
    if not url:
        raise RuntimeError("set MIGRATION_DATABASE_URL (or DATABASE_URL) to run migrations")
    return url


def _upgrade(connection: Connection, environment: str) -> None:
    config = alembic_config(environment)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection, environment: str) -> str | None:
    migration = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLES[environment]}
    )
    return migration.get_current_revision()


def head(environment: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(environment)).get_current_head()


async def upgrade_all(owner_url: str, runtime_url: str | None) -> dict[str, str | None]:
    """Upgrade both environments to head, grant the runtime role, and verify.

    Returns each environment's revision as read back from the database after the
    run (not as reported by the runner), and raises if one is not at head.
    """
    engine = create_engine(owner_url, pool_size=1, max_overflow=0)
    try:
        for environment in ENVIRONMENTS:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade, environment)
        runtime_role = make_url(runtime_url).username if runtime_url else None
        owner_role = make_url(async_url(owner_url)).username
        if runtime_role and runtime_role != owner_role:
            await grant_runtime_role(engine, runtime_role)
        revisions = {}
        async with engine.connect() as conn:
            for environment in ENVIRONMENTS:
                revisions[environment] = await conn.run_sync(_current, environment)
    finally:
        await engine.dispose()
    for environment, revision in revisions.items():
        if revision != head(environment):
            raise RuntimeError(f"{environment} migrations stopped at {revision}, not head")
    return revisions


async def grant_runtime_role(engine: AsyncEngine, role: str) -> None:
    """Let ``role`` read and write the service's tables, and nothing more.

    The runtime role gets DML on the tables in both metadata objects; it owns
    nothing, so it cannot alter or disable the row-level security policies.
    """
    from ..models import all_tables

    quoted_role = engine.dialect.identifier_preparer.quote(role)
    async with engine.begin() as conn:
        for table in all_tables():
            name = engine.dialect.identifier_preparer.format_table(table)
            await conn.execute(
                text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {quoted_role}")
            )
