"""Alembic, driven from code: the two environments and where they run.

The service's ``migrations/shared`` holds the tables every tenant shares (the
tenant registry, the audit log); ``migrations/tenant`` holds tenant tables. The
tenant environment runs once per namespace, as the isolation strategy lays them
out (``MigrationLayout``): in ``public`` for tenant tables under row-level
security, and in each tenant's recorded schema or database. What the service
passes in (where its revisions are, which module imports its models, the layout)
is its ``MigrationSource``: this module imports nothing of the service.

Alembic's ``context`` and ``op`` are process-global: in one process, environments
run one at a time (``_alembic_lock``); ``upgrade.py`` gets parallelism from worker
processes instead.

The service runs an environment without Alembic's command layer: the script
directory (every revision file) is read once per process, ``env.py`` is not
executed again for each namespace (it calls the same ``run_environment`` for the
``alembic`` command line), and the namespaces of one database share one
connection. An upgrade to head goes further: the tenant revisions are rendered to
SQL once per process and each namespace runs them as one statement
(``rendered.py``); revisions that cannot be rendered run online, through Alembic.

Autogenerate (``revision``, ``alembic revision --autogenerate``) compares each
environment's models with its own tables only: the two environments share a
database, and a table the comparison sees but the models lack becomes
``op.drop_table``. Where tenants have namespaces of their own, tenant models are
compared with a reference namespace the command creates, migrates to head and
drops: there may be no tenant yet.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, NullPool, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .db import (
    async_url,
    create_engine,
    describe,
    execute_script,
    quote_identifier,
    sqlstate,
)
from .orm import SharedBase, TenantBase
from .rendered import RenderedUpgrade, atomic_block, render_upgrade, upgrade_block

VERSION_TABLES = {"shared": "alembic_version_shared", "tenant": "alembic_version_tenant"}
#: Names of the throw-away namespaces autogenerate compares with (never a tenant's).
REFERENCE_PREFIX = "alembic_reference_"
_EXISTS = {
    "schema": "SELECT 1 FROM pg_namespace WHERE nspname = :name",
    "database": "SELECT 1 FROM pg_database WHERE datname = :name",
}
#: ``include_name(name, type, parent_names)``: Alembic asks it about every reflected name.
IncludeName = Callable[[str | None, str, Any], bool]
_alembic_lock = asyncio.Lock()
UNDEFINED_TABLE = "42P01"
#: A rendered upgrade's start check failed: the namespace is not where it was thought to be.
_ELSEWHERE = {UNDEFINED_TABLE, "40001"}


@dataclass(frozen=True, slots=True)
class MigrationLayout:
    """Where an isolation strategy keeps tenant tables (each strategy's module has one)."""

    #: Tenant tables in ``public`` (row-level security): the tenant environment runs there.
    public: bool
    #: ``"schema"`` or ``"database"``: each tenant's recorded namespace is one; ``None``: none.
    kind: str | None
    #: Each tenant's record names the server its namespace is on (``tenants.server``).
    placed: bool = False


@dataclass(frozen=True, slots=True)
class MigrationSource:
    """The service's migrations, as this module needs them (and worker processes: it pickles)."""

    #: The folder holding the ``shared`` and ``tenant`` environments.
    directory: Path
    #: The module that imports every model, so that their tables exist in the metadata.
    models: str
    layout: MigrationLayout
    #: Shared tables and sequences no model declares (a job queue's): the runtime role
    #: gets the same rights on them as on the models' tables.
    unmodelled_tables: tuple[str, ...] = ()
    unmodelled_sequences: tuple[str, ...] = ()

    def metadata(self, environment: str) -> MetaData:
        importlib.import_module(self.models)
        return SharedBase.metadata if environment == "shared" else TenantBase.metadata


@dataclass(frozen=True, slots=True)
class Namespace:
    """Where one run of the tenant environment goes."""

    #: "public" (tenant tables under row-level security), "schema" or "database".
    kind: str
    name: str = "public"


PUBLIC = Namespace("public")
#: (source, the revision upgraded from, head) -> the rendered upgrade (``None``: online).
_rendered: dict[tuple[MigrationSource, str | None, str | None], RenderedUpgrade | None] = {}


def alembic_config(source: MigrationSource, environment: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(source.directory / environment))
    return config


@functools.cache
def script_directory(source: MigrationSource, environment: str) -> ScriptDirectory:
    """The environment's revisions, read from disk once per process.

    A revision added later reaches a process the way new code does: by starting
    it again (``migrate`` is a process of its own).
    """
    return ScriptDirectory.from_config(alembic_config(source, environment))


def head(source: MigrationSource, environment: str) -> str | None:
    return script_directory(source, environment).get_current_head()


def _options(metadata: MetaData, environment: str, schema: str | None) -> dict[str, Any]:
    return {
        "target_metadata": metadata,
        "version_table": VERSION_TABLES[environment],
        "version_table_schema": schema,
        "compare_type": True,
    }


def run_environment(
    context: Any, source: MigrationSource, environment: str, owner_url: str | None
) -> None:
    """The body of each ``env.py``: the ``alembic`` command line and ``revision``.

    ``context`` is ``alembic.context``, a module that proxies the running
    ``EnvironmentContext`` (hence ``Any``). The service never runs it (it calls
    ``_run_on`` itself, see ``_upgrade``). It connects with ``owner_url`` to the
    namespace the command is about: the shared environment always works in
    ``public``; the tenant environment in ``public`` when the layout has tenant
    tables there, or in one tenant's namespace named with ``-x schema=<name>`` /
    ``-x database=<name>``. Without one, where tenants have namespaces of their
    own, only commands that change nothing run (``revision --autogenerate``,
    ``check``): against a reference namespace created for the command, upgraded
    to head, compared and dropped.
    """
    if not owner_url:
        raise CommandError("set MIGRATION_DATABASE_URL (or DATABASE_URL) to run migrations")
    x_arguments = context.get_x_argument(as_dictionary=True)
    namespace = _command_line_namespace(source.layout, environment, x_arguments)
    metadata = source.metadata(environment)
    if namespace is None:
        if _changes_a_namespace(context):
            kind = source.layout.kind
            raise CommandError(
                f"the tenant environment runs in every tenant's {kind}: `migrate` upgrades "
                f"them all; to work on one, name it with -x {kind}=<its {kind}>"
            )
        asyncio.run(_against_reference(context, source, environment, owner_url))
        return
    asyncio.run(_run_in(context, metadata, environment, owner_url, namespace))


def _command_line_namespace(
    layout: MigrationLayout, environment: str, x_arguments: dict[str, str]
) -> Namespace | None:
    """The namespace named on the command line, else the environment's own (``None``:
    the tenant environment has none of its own in this layout)."""
    option = layout.kind
    if set(x_arguments) - {option} or (option in x_arguments and environment != "tenant"):
        allowed = f"one -x option: -x {option}=<name>" if option else "no -x option"
        raise CommandError(f"the tenant environment takes {allowed}")
    if option is not None and option in x_arguments:
        return Namespace(option, x_arguments[option])
    return PUBLIC if environment == "shared" or layout.public else None


def _changes_a_namespace(context: Any) -> bool:
    """Whether the command moves a version table: ``upgrade``, ``downgrade`` and
    ``stamp`` name a destination revision; ``revision``, ``check`` and ``current`` do not."""
    try:
        context.get_revision_argument()
    except KeyError:
        return False
    return True


async def _against_reference(
    context: Any, source: MigrationSource, environment: str, owner_url: str
) -> None:
    """Run the command against a new namespace at head, dropped afterwards.

    Tenants' namespaces are at head (``migrate``), but there may be none yet: what
    the models are compared with is the tenant revisions, applied to an empty
    namespace.
    """
    kind = source.layout.kind
    assert kind is not None
    namespace = Namespace(kind, f"{REFERENCE_PREFIX}{secrets.token_hex(4)}")
    context.config.print_stdout(f"Comparing with {namespace.name} (at head; dropped afterwards)")
    name = quote_identifier(namespace.name)
    admin = create_engine(owner_url, pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"CREATE {kind.upper()} {name}"))
        try:
            engine = _engine_in(owner_url, namespace)
            try:
                async with engine.begin() as conn:
                    await conn.run_sync(_to_head, context, source, environment, namespace)
            finally:
                await engine.dispose()
            metadata = source.metadata(environment)
            await _run_in(context, metadata, environment, owner_url, namespace)
        finally:
            async with admin.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                drop = "CASCADE" if kind == "schema" else "WITH (FORCE)"
                await conn.execute(text(f"DROP {kind.upper()} IF EXISTS {name} {drop}"))
    finally:
        await admin.dispose()


def _to_head(
    connection: Connection,
    context: Any,
    source: MigrationSource,
    environment: str,
    namespace: Namespace,
) -> None:
    """``_upgrade`` for the reference namespace, with the command's own revisions.

    Its ``EnvironmentContext`` is never entered: entering one installs it as
    ``alembic.context`` and leaving removes it, which would take the running
    command's environment away from ``env.py``.
    """
    script = context.script

    def to_head(revision: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs("head", revision)

    reference = EnvironmentContext(context.config, script, fn=to_head, destination_rev="head")
    schema = _schema_of(namespace)
    options = _options(source.metadata(environment), environment, schema)
    _run_on(connection, reference, options, schema)


async def _run_in(
    context: Any, metadata: MetaData, environment: str, owner_url: str, namespace: Namespace
) -> None:
    schema = _schema_of(namespace)
    options = {
        **_options(metadata, environment, schema),
        "include_name": _include_name(metadata, in_public=namespace.kind == "public"),
        "include_object": _include_object,
    }
    if namespace.kind != "public" and not await _exists(owner_url, namespace):
        raise CommandError(f"there is no {namespace.kind} {namespace.name!r}")
    engine = _engine_in(owner_url, namespace)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_on, context, options, schema)
    finally:
        await engine.dispose()


async def _exists(owner_url: str, namespace: Namespace) -> bool:
    query = _EXISTS[namespace.kind]
    engine = create_engine(owner_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(text(query), {"name": namespace.name})
    finally:
        await engine.dispose()
    return found is not None


def _schema_of(namespace: Namespace) -> str | None:
    """The schema the version table and new tables go in (``None``: ``public``)."""
    return namespace.name if namespace.kind == "schema" else None


def _engine_in(owner_url: str, namespace: Namespace) -> AsyncEngine:
    """An owner engine whose connections' default schema is the namespace's own.

    Autogenerate compares the models with the dialect's default schema, which
    SQLAlchemy reads when it first connects (``current_schema()``): a
    transaction-local ``search_path`` (``_run_on``) comes too late for it.
    """
    search_path = quote_identifier(_schema_of(namespace) or "public")
    return create_async_engine(
        namespace_url(owner_url, namespace),
        poolclass=NullPool,
        connect_args={"server_settings": {"search_path": search_path}},
    )


def _include_name(metadata: MetaData, *, in_public: bool) -> IncludeName:
    """Which of the database's tables an environment compares with its models.

    ``public`` holds the shared tables (and, under row-level security, the tenant
    tables): there an environment sees only the tables its own models name, never
    the other environment's (a table removed from the models is not dropped for
    you there: write ``op.drop_table`` yourself). A tenant namespace holds tenant
    tables only: every one is seen, so a removed model's table is dropped.
    Alembic's version tables are never seen.
    """
    own = {table.name for table in metadata.tables.values()}

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ != "table":
            return True
        if name in VERSION_TABLES.values():
            return False
        return name in own if in_public else True

    return include_name


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave foreign keys into shared tables (``public.tenants``...) out of the comparison.

    PostgreSQL reports a key into its default schema without the schema's name, while
    the models name ``public.tenants``: the two would always differ, and every revision
    would drop and re-create the key. A new table is still written with its keys.
    """
    referred = getattr(obj, "referred_table", None) if type_ == "foreign_key_constraint" else None
    shared = {table.name for table in SharedBase.metadata.tables.values()}
    return referred is None or referred.name not in shared


def _run_on(
    connection: Connection, context: Any, options: dict[str, Any], schema: str | None
) -> None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        if schema is not None:
            # Transaction-local: new tables land in this schema and nothing else
            # (not even a same-named table in public) is visible.
            search_path = quote_identifier(schema)
            connection.execute(select(func.set_config("search_path", search_path, True)))
        context.run_migrations()


def _upgrade(
    connection: Connection,
    source: MigrationSource,
    environment: str,
    schema: str | None,
    destination: str = "head",
) -> str | None:
    """Take one environment on ``connection`` to ``destination`` and read back where
    it stands.

    What ``alembic upgrade head`` does (or ``downgrade <revision>`` when the
    destination is behind), minus re-reading the revision files and re-executing
    ``env.py``.
    """
    script = script_directory(source, environment)

    def steps(revision: Any, _context: MigrationContext) -> Any:
        if _is_behind(script, destination, revision):
            return script._downgrade_revs(destination, revision)
        return script._upgrade_revs(destination, revision)

    config = alembic_config(source, environment)
    with EnvironmentContext(config, script, fn=steps, destination_rev=destination) as context:
        options = _options(source.metadata(environment), environment, schema)
        _run_on(connection, context, options, schema)
    migration = MigrationContext.configure(
        connection,
        opts={"version_table": VERSION_TABLES[environment], "version_table_schema": schema},
    )
    return migration.get_current_revision()


def _is_behind(script: ScriptDirectory, destination: str, current: Any) -> bool:
    """Whether ``destination`` is where ``current`` (the namespace's heads) came from."""
    if destination == "base":
        return True
    if not current:
        return False
    target = script.get_revision(destination)
    if target is None:
        return False
    ancestors = script.revision_map.iterate_revisions(current, "base", implicit_base=True)
    return any(revision.revision == target.revision for revision in ancestors)


def namespace_url(owner_url: str, namespace: Namespace) -> str:
    """The owner URL, pointed at ``namespace``'s database when it has its own."""
    url = async_url(owner_url)
    if namespace.kind == "database":
        url = url.set(database=namespace.name)
    return url.render_as_string(hide_password=False)


async def upgrade_shared(
    source: MigrationSource, owner_url: str, runtime_role: str | None
) -> str | None:
    """Upgrade the shared tables and grant the runtime role DML on them."""
    engine = create_engine(owner_url, pool_size=1, max_overflow=0)
    try:
        async with _alembic_lock, engine.begin() as conn:
            revision = await conn.run_sync(_upgrade, source, "shared", None)
            if runtime_role:
                role = quote_identifier(runtime_role)
                tables = [
                    f"{quote_identifier(table.schema or 'public')}.{quote_identifier(table.name)}"
                    for table in source.metadata("shared").sorted_tables
                ]
                tables += [f"public.{quote_identifier(name)}" for name in source.unmodelled_tables]
                for name in tables:
                    await conn.execute(
                        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {role}")
                    )
                for name in source.unmodelled_sequences:
                    sequence = f"public.{quote_identifier(name)}"
                    await conn.execute(
                        text(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO {role}")
                    )
        return revision
    finally:
        await engine.dispose()


async def upgrade_namespace(
    source: MigrationSource,
    owner_url: str,
    namespace: Namespace,
    runtime_role: str | None,
    *,
    create: bool = False,
    destination: str = "head",
) -> str | None:
    """Upgrade the tenant environment in ``namespace``; grant the runtime role on it.

    With ``create``, a schema namespace is created first, in the same transaction:
    a tenant's schema, tables and grants appear together or not at all. With a
    ``destination`` behind the namespace's revision, it is downgraded to it.
    Returns the revision read back from the namespace's own version table.
    """
    engine = create_engine(namespace_url(owner_url, namespace), pool_size=1, max_overflow=0)
    try:
        return await upgrade_namespace_on(
            source, engine, namespace, runtime_role, create=create, destination=destination
        )
    finally:
        await engine.dispose()


Outcome = tuple[str, str | None, str | None]  # namespace name, revision read back, error


async def upgrade_namespaces(
    source: MigrationSource,
    owner_url: str,
    namespaces: Iterable[Namespace],
    runtime_role: str | None,
    *,
    engine: AsyncEngine | None = None,
) -> list[Outcome]:
    """Upgrade each namespace in its own transaction; one failure does not stop the rest.

    Namespaces in the owner's database (schemas, ``public``) share one connection (of
    ``engine``, an owner engine the caller keeps across batches, else one made here):
    see ``_upgrade_local``.
    """
    outcomes: list[Outcome] = []
    shared = engine or create_engine(owner_url, pool_size=1, max_overflow=0)
    try:
        local = [namespace for namespace in namespaces if namespace.kind != "database"]
        outcomes += await _upgrade_local(source, shared, local, runtime_role)
        for namespace in namespaces:
            if namespace.kind != "database":
                continue
            try:
                revision = await upgrade_namespace(source, owner_url, namespace, runtime_role)
            except Exception as exc:  # report and go on: one broken tenant must not stop the rest
                outcomes.append((namespace.name, None, describe(exc)))
            else:
                outcomes.append((namespace.name, revision, None))
    finally:
        if engine is None:
            await shared.dispose()
    return outcomes


async def _upgrade_local(
    source: MigrationSource,
    engine: AsyncEngine,
    namespaces: list[Namespace],
    runtime_role: str | None,
) -> list[Outcome]:
    """``upgrade_namespaces`` for the namespaces in the owner's own database.

    Each one is upgraded by one statement that checks where it starts and where it ends
    (``rendered.py``): the revision of the first is read, and the others are assumed to be
    there too (a ``migrate`` finds them all at one revision, as a rule); one that is not
    fails that check, changing nothing, and is read and upgraded from where it is.
    """
    if not namespaces:
        return []
    destination = head(source, "tenant")
    outcomes: dict[str, Outcome] = {}
    rendered: list[Namespace] = []
    online: list[Namespace] = []
    assumed: tuple[str, ...] | _Unread | None = _UNREAD
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for namespace in namespaces:
                schema = _schema_of(namespace)
                try:
                    if isinstance(assumed, _Unread):
                        assumed = await _revisions_in(conn, schema)
                    upgraded = await _upgrade_from(source, conn, schema, runtime_role, assumed)
                except Exception as exc:  # report and go on: one broken tenant must not stop
                    outcomes[namespace.name] = (namespace.name, None, describe(exc))
                    continue
                if upgraded:
                    outcomes[namespace.name] = (namespace.name, destination, None)
                    rendered.append(namespace)
                else:
                    online.append(namespace)
            if runtime_role:  # the online upgrades grant for themselves
                for namespace in await _lacking_grants(source, conn, rendered, runtime_role):
                    try:
                        await _grant(conn, namespace, runtime_role)
                    except Exception as exc:  # report and go on
                        outcomes[namespace.name] = (namespace.name, None, describe(exc))
        for namespace in online:
            try:
                revision = await _upgrade_online(
                    source, engine, _schema_of(namespace), runtime_role
                )
            except Exception as exc:  # report and go on
                outcomes[namespace.name] = (namespace.name, None, describe(exc))
            else:
                outcomes[namespace.name] = (namespace.name, revision, None)
    except Exception as exc:  # the database itself: every namespace not yet reported fails
        lost = describe(exc)
        return [outcomes.get(n.name, (n.name, None, lost)) for n in namespaces]
    return [outcomes[namespace.name] for namespace in namespaces]


class _Unread:
    """Not read yet (``None`` is a reading: no version table)."""


_UNREAD = _Unread()


async def _upgrade_from(
    source: MigrationSource,
    conn: AsyncConnection,
    schema: str | None,
    runtime_role: str | None,
    assumed: tuple[str, ...] | None,
) -> bool:
    """``_run_rendered`` from the ``assumed`` revision; if the namespace is elsewhere,
    from where it is, read."""
    try:
        return await _run_rendered(source, conn, schema, runtime_role, assumed, create=False)
    except DBAPIError as exc:
        if sqlstate(exc) not in _ELSEWHERE:
            raise
        current = await _revisions_in(conn, schema)
        if current == assumed:
            raise
    return await _run_rendered(source, conn, schema, runtime_role, current, create=False)


async def upgrade_namespace_on(
    source: MigrationSource,
    engine: AsyncEngine,
    namespace: Namespace,
    runtime_role: str | None,
    *,
    create: bool = False,
    destination: str = "head",
) -> str | None:
    """``upgrade_namespace`` on an engine you keep (connected to the namespace's database).

    ``create`` makes the schema first with a plain ``CREATE SCHEMA``: a schema of that
    name that exists already fails the call (and nothing is created), never adopted.
    """
    schema = _schema_of(namespace)
    if destination == "head":
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            current = None if create else await _revisions_in(conn, schema)
            if await _run_rendered(source, conn, schema, runtime_role, current, create=create):
                if runtime_role and not create:
                    for lacking in await _lacking_grants(source, conn, [namespace], runtime_role):
                        await _grant(conn, lacking, runtime_role)
                return head(source, "tenant")  # the statement checked its version table
    return await _upgrade_online(source, engine, schema, runtime_role, create, destination)


async def _upgrade_online(
    source: MigrationSource,
    engine: AsyncEngine,
    schema: str | None,
    runtime_role: str | None,
    create: bool = False,
    destination: str = "head",
) -> str | None:
    """The upgrade through Alembic, in one transaction."""
    async with _alembic_lock, engine.begin() as conn:
        if create and schema is not None:
            await conn.execute(text(f"CREATE SCHEMA {quote_identifier(schema)}"))
        revision: str | None = await conn.run_sync(_upgrade, source, "tenant", schema, destination)
        if runtime_role:
            for statement in _grants(schema or "public", runtime_role):
                await conn.execute(text(statement))
    return revision


async def _run_rendered(
    source: MigrationSource,
    conn: AsyncConnection,
    schema: str | None,
    runtime_role: str | None,
    current: tuple[str, ...] | None,
    *,
    create: bool,
) -> bool:
    """Take the namespace from its ``current`` version rows (``None``: no version table)
    to head with one statement (``rendered.py``), on an autocommit connection. ``False``,
    having changed nothing, when its revisions must run online: they cannot be
    rendered, or the namespace has several heads or an empty version table."""
    if current is not None and len(current) != 1:
        return False
    start = current[0] if current else None
    destination = head(source, "tenant")
    key = (source, start, destination)
    if key not in _rendered:
        async with _alembic_lock:  # rendering runs Alembic, whose globals are the process's
            _rendered[key] = await conn.run_sync(_render, source, start)
    rendered = _rendered[key]
    if rendered is None or destination is None:
        return False
    # New tables get their grants in the same transaction; missing ones are found after.
    grant = runtime_role is not None and (create or rendered.creates_relations)
    block = upgrade_block(
        rendered.statements,
        version_table=VERSION_TABLES["tenant"],
        start=start,
        destination=destination,
        schema=quote_identifier(schema) if schema is not None else None,
        create_schema=create and schema is not None,
        grants=_grants(schema or "public", runtime_role) if runtime_role and grant else (),
    )
    await execute_script(conn, block)
    return True


def _render(
    connection: Connection, source: MigrationSource, start: str | None
) -> RenderedUpgrade | None:
    return render_upgrade(
        connection,
        alembic_config(source, "tenant"),
        script_directory(source, "tenant"),
        source.metadata("tenant"),
        VERSION_TABLES["tenant"],
        start,
    )


async def _revisions_in(conn: AsyncConnection, schema: str | None) -> tuple[str, ...] | None:
    """The namespace's version rows; ``None``: it has no version table yet."""
    table = VERSION_TABLES["tenant"]
    if schema is not None:
        table = f"{quote_identifier(schema)}.{table}"
    try:
        rows = await conn.scalars(text(f"SELECT version_num FROM {table}"))  # noqa: S608 - quoted
    except ProgrammingError as exc:
        if sqlstate(exc) == UNDEFINED_TABLE:
            return None
        raise
    return tuple(rows)


#: The namespaces (schemas) of a database where the runtime role lacks what ``_grants``
#: gives on the models' tables: usage of the schema, DML on a table; or where it holds
#: anything on the version table. Each schema's tables are looked up by name
#: (``to_regclass``): a scan of the catalog per batch would cost every schema there is.
_LACKING_GRANTS = text(
    "SELECT n.name FROM unnest(CAST(:names AS text[])) AS n(name)"
    " CROSS JOIN LATERAL (SELECT to_regnamespace(quote_ident(n.name)) AS oid) AS s"
    " WHERE s.oid IS NOT NULL AND (NOT has_schema_privilege(:role, s.oid, 'USAGE')"
    " OR EXISTS (SELECT FROM unnest(CAST(:tables AS text[])) AS t(name)"
    " CROSS JOIN LATERAL"
    " (SELECT to_regclass(quote_ident(n.name) || '.' || quote_ident(t.name)) AS oid) AS r"
    " WHERE r.oid IS NOT NULL AND NOT (has_table_privilege(:role, r.oid, 'SELECT')"
    " AND has_table_privilege(:role, r.oid, 'INSERT')"
    " AND has_table_privilege(:role, r.oid, 'UPDATE')"
    " AND has_table_privilege(:role, r.oid, 'DELETE')))"
    " OR EXISTS (SELECT FROM pg_class c, aclexplode(c.relacl) AS a"
    " WHERE c.oid = to_regclass(quote_ident(n.name) || '.' || quote_ident(:version))"
    " AND a.grantee = CAST(:quoted_role AS regrole)))"
)


async def _lacking_grants(
    source: MigrationSource, conn: AsyncConnection, namespaces: list[Namespace], role: str
) -> list[Namespace]:
    """Which of these namespaces of one database lack a grant ``_grants`` gives (one
    query; after a revision that adds no table, usually none)."""
    if not namespaces:
        return []
    by_schema = {_schema_of(namespace) or "public": namespace for namespace in namespaces}
    lacking = await conn.scalars(
        _LACKING_GRANTS,
        {
            "names": sorted(by_schema),
            "tables": sorted(table.name for table in source.metadata("tenant").tables.values()),
            "role": role,
            "quoted_role": quote_identifier(role),
            "version": VERSION_TABLES["tenant"],
        },
    )
    return [by_schema[schema] for schema in lacking]


async def _grant(conn: AsyncConnection, namespace: Namespace, role: str) -> None:
    await execute_script(conn, atomic_block(_grants(_schema_of(namespace) or "public", role)))


def _grants(schema: str, role: str) -> list[str]:
    """DML on the namespace's tables for the runtime role; nothing on the version table."""
    target, grantee = quote_identifier(schema), quote_identifier(role)
    return [
        f"GRANT USAGE ON SCHEMA {target} TO {grantee}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {target} TO {grantee}",
        f"REVOKE ALL ON {target}.{VERSION_TABLES['tenant']} FROM {grantee}",
    ]
