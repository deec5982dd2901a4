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
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class RenderedUpgrade:
    """The statements from one revision to head, as every namespace runs them."""

    statements: tuple[str, ...]
    #: They create a table or view: the runtime role needs grants on it.
    creates_relations: bool


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
) -> RenderedUpgrade | None:
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
    return RenderedUpgrade(statements, _creates_relations(statements))


def upgrade_block(
    statements: Sequence[str],
    *,
    version_table: str,
    start: str | None,
    destination: str,
    schema: str | None = None,
    create_schema: bool = False,
    grants: Sequence[str] = (),
) -> str:
    """One ``DO`` statement: (create the schema,) scope ``search_path`` to it, check the
    namespace is at ``start`` (``None``: it has no version table), run ``statements``,
    check the version table now reads ``destination`` alone, then run ``grants``.

    The first check locks the version row: two runs on one namespace take turns, and the
    second, finding it moved on, fails with ``serialization_failure``, as Alembic online
    fails when its version update matches no row; so does a run told the wrong ``start``.
    The second check is the read-back: the statement commits only with the version table
    at ``destination``. ``schema`` and ``version_table`` come quoted.
    """
    table = f"{schema}.{version_table}" if schema is not None else version_table
    lines: list[str] = []
    if create_schema:
        assert schema is not None
        lines.append(f"EXECUTE {_quoted(f'CREATE SCHEMA {schema}')};")
    if schema is not None:
        scope = f"SELECT set_config('search_path', {quote_literal(schema)}, true)"
        lines.append(f"EXECUTE {_quoted(scope)};")
    if start is None:
        lines.append(
            f"IF to_regclass({quote_literal(table)}) IS NOT NULL THEN\n"
            "  RAISE EXCEPTION 'the namespace has a version table already'"
            " USING ERRCODE = 'serialization_failure';\n"
            "END IF;"
        )
    else:
        lines.append(
            f"PERFORM 1 FROM {table} WHERE version_num = {quote_literal(start)} FOR UPDATE;\n"
            "IF NOT FOUND THEN\n"
            f"  RAISE EXCEPTION 'the namespace is not at revision %', {quote_literal(start)}"
            " USING ERRCODE = 'serialization_failure';\n"
            "END IF;"
        )
    lines += [f"EXECUTE {_quoted(statement)};" for statement in statements]
    lines.append(
        f"IF ARRAY(SELECT version_num::text FROM {table})"  # noqa: S608 - quoted names
        f" <> ARRAY[{quote_literal(destination)}] THEN\n"
        f"  RAISE EXCEPTION 'the version table does not read % after the upgrade',"
        f" {quote_literal(destination)};\n"
        "END IF;"
    )
    lines += [f"EXECUTE {_quoted(grant)};" for grant in grants]
    return _do(lines)


def atomic_block(statements: Sequence[str]) -> str:
    """``statements`` as one ``DO`` statement: one round trip, one transaction."""
    return _do([f"EXECUTE {_quoted(statement)};" for statement in statements])


def _do(lines: Sequence[str]) -> str:
    code = "BEGIN\n" + "\n".join(lines) + "\nEND"
    return f"DO {_quoted(code)}"


def _creates_relations(statements: Sequence[str]) -> bool:
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
