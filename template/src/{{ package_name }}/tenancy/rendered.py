"""A tenant namespace's upgrade as one statement: the revisions rendered to SQL once.

Alembic online spends milliseconds of Python per namespace (it builds each
revision's operations, reflects the version table and compiles the DDL again),
while PostgreSQL's own work for a typical revision is well under one: over
thousands of schemas, that Python is the migration's whole time. Yet the SQL from
a given revision to head is the same in every namespace: tenant revisions name no
schema (the transaction-local ``search_path`` places their tables). So it is
rendered once per process with Alembic's offline mode (``render_upgrade``), and
each namespace runs it as one ``DO`` block (``upgrade_block``): one round trip,
and atomic (a statement runs in one transaction, like the online upgrade).

Revisions that cannot be rendered run online, as before (``render_upgrade``
returns ``None``): one that reads the database (offline, ``op.get_bind()`` has
nothing to read, so the revision fails to render) and one with an
``autocommit_block`` (it commits part-way, which one statement cannot). A
revision that branches on ``context.is_offline_mode()`` runs its offline branch.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from .db import quote_literal

#: What offline mode writes around an ``autocommit_block``: not one transaction.
_TRANSACTION_CONTROL = {"BEGIN", "COMMIT"}
_CREATES_RELATION = re.compile(
    r"\s*CREATE\s+(OR\s+REPLACE\s+)?((GLOBAL|LOCAL)\s+)?((TEMP|TEMPORARY|UNLOGGED)\s+)?"
    r"(RECURSIVE\s+)?(TABLE|VIEW|MATERIALIZED\s+VIEW|FOREIGN\s+TABLE)\b",
    re.IGNORECASE,
)


class _Statements(io.StringIO):
    """Alembic's output buffer: offline mode writes each statement with one call."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)


def render_upgrade(
    connection: Connection,
    config: Config,
    script: ScriptDirectory,
    metadata: MetaData,
    version_table: str,
    start: str | None,
) -> tuple[str, ...] | None:
    """The statements taking a namespace at ``start`` (``None``: a new one) to head,
    the version table's included and unqualified; ``None`` if they cannot be rendered.

    ``connection`` only lends its dialect (the server's version): nothing runs on it.
    """
    output = _Statements()

    def steps(revision: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs("head", revision)

    try:
        with EnvironmentContext(
            config, script, fn=steps, as_sql=True, starting_rev=start, destination_rev="head"
        ) as context:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                version_table=version_table,
                output_buffer=output,
                literal_binds=True,
            )
            context.run_migrations()
    except Exception:  # reads the database, or anything else offline mode cannot do
        return None
    statements = tuple(
        text.strip().removesuffix(";").strip()
        for text in output.written
        if text.strip() and not text.lstrip().startswith("--")
    )
    if any(statement.upper() in _TRANSACTION_CONTROL for statement in statements):
        return None
    return statements


def upgrade_block(
    statements: Sequence[str],
    *,
    version_table: str,
    start: str | None,
    schema: str | None = None,
    create_schema: bool = False,
    grants: Sequence[str] = (),
) -> str:
    """One ``DO`` statement: (create the schema,) scope ``search_path`` to it, check the
    namespace is still at ``start``, run ``statements``, then ``grants``.

    ``schema`` and ``version_table`` come quoted. The check locks the version row, so
    two runs on one namespace take turns, and the second finds it moved on and fails
    (as Alembic online fails when its version update matches no row).
    """
    body: list[str] = []
    if create_schema:
        assert schema is not None
        body.append(f"CREATE SCHEMA {schema}")
    if schema is not None:
        body.append(f"SELECT set_config('search_path', {quote_literal(schema)}, true)")
    lines = [f"EXECUTE {_quoted(statement)};" for statement in [*body, *statements, *grants]]
    if start is not None:
        table = f"{schema}.{version_table}" if schema is not None else version_table
        lines.insert(
            len(body),
            f"PERFORM 1 FROM {table} WHERE version_num = {quote_literal(start)} FOR UPDATE;\n"
            "IF NOT FOUND THEN\n"
            f"  RAISE EXCEPTION 'the namespace is no longer at revision %', {quote_literal(start)}"
            " USING ERRCODE = 'serialization_failure';\n"
            "END IF;",
        )
    return _do(lines)


def atomic_block(statements: Sequence[str]) -> str:
    """``statements`` as one ``DO`` statement: one round trip, one transaction."""
    return _do([f"EXECUTE {_quoted(statement)};" for statement in statements])


def _do(lines: Sequence[str]) -> str:
    code = "BEGIN\n" + "\n".join(lines) + "\nEND"
    return f"DO {_quoted(code)}"


def creates_relations(statements: Sequence[str]) -> bool:
    """Whether ``statements`` create a table or view: the runtime role needs grants on it.

    A statement missed here costs a moment, not access: ``migrate`` grants whatever its
    check of the catalog finds missing after the upgrade.
    """
    return any(_CREATES_RELATION.match(statement) for statement in statements)


def _quoted(text: str) -> str:
    """``text`` as a dollar-quoted literal, with a tag it does not contain."""
    index = 0
    while (tag := f"$u{index}$") in text:
        index += 1
    return f"{tag}{text}{tag}"
