"""Schema migrations (Alembic), configured in code: ``upgrade(url)`` is all start-up needs.

These functions are synchronous (Alembic is); ``upgrade_async`` runs ``upgrade`` in a thread.
URLs are user-style database URLs, as accepted by :func:`storage.db.normalize_url`.

Rolling upgrades (expand/contract). While a new release rolls out, replicas of the previous one
keep running on the schema it migrated. Every migration module therefore says who keeps
working on the schema it leaves behind:

* ``schema_change = "expand"``: it only adds what older code ignores or that fills itself in
  (a table, a nullable column, a column with a server default, an index, a wider type), so
  every release that worked on the previous schema keeps working.
* ``schema_change = "contract"``: it removes or tightens something (drops or renames a column
  or table, makes a column NOT NULL, narrows a type). ``compatible_with = "<revision>"`` names
  the oldest revision whose release keeps working on the result, because that release already
  stopped using what is removed (expand in one release, backfill, contract one release later);
  without ``compatible_with`` only this revision's release works on it.

A module without ``schema_change`` counts as a contract with nothing older compatible. After
every upgrade or downgrade the oldest compatible revision is written to the
``schema_compatibility`` table, because an older replica cannot read a newer release's
migration files: it reads that row (:func:`compatibility`) and starts when the oldest
compatible revision is one it knows, and refuses otherwise.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from storage.db import install_sqlite_transaction_control, is_sqlite, secure_sqlite_file, sync_url
from storage.tables import is_raidline_table, metadata

__all__ = [
    "COMPATIBILITY_TABLE",
    "Compatibility",
    "compatibility",
    "current",
    "downgrade",
    "include_name",
    "known_revisions",
    "oldest_compatible",
    "pending_diff",
    "upgrade",
    "upgrade_async",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant will do: it only has to be the same in every raidline process, so that
# replicas starting together migrate one after the other instead of racing on CREATE TABLE.
_PG_MIGRATION_LOCK = 0x7261_6964  # "raid"

# Alembic's ``context`` and ``op`` are process-wide proxies: two commands running in threads
# of one process would send each other's DDL down the wrong connection.
_ALEMBIC_LOCK = threading.Lock()


@contextmanager
def _transaction(url: str) -> Iterator[sa.Connection]:
    """A connection in a transaction that is committed on success, with migrations serialized."""
    secure_sqlite_file(url)
    engine = sa.create_engine(sync_url(url), poolclass=NullPool)
    if is_sqlite(engine):
        # BEGIN IMMEDIATE makes each migration run atomic and exclusive. Foreign keys stay
        # off: batch mode re-creates tables, and dropping a parent table with them on
        # would cascade-delete its children's rows.
        install_sqlite_transaction_control(engine, foreign_keys=False)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            yield connection
    finally:
        engine.dispose()


#: Kept by :func:`upgrade` and :func:`downgrade`, like ``alembic_version``: one row, the
#: database's revision and the oldest revision whose release keeps working on it.
COMPATIBILITY_TABLE = "schema_compatibility"
_compatibility = sa.Table(
    COMPATIBILITY_TABLE,
    sa.MetaData(),
    sa.Column("revision", sa.String(64), primary_key=True),
    sa.Column("oldest_compatible", sa.String(64), nullable=False),
)

EXPAND = "expand"
CONTRACT = "contract"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name``: raidline's own tables, without the migrations' bookkeeping."""
    if type_ == "table" and name == COMPATIBILITY_TABLE:
        return False
    return is_raidline_table(name, type_, parent_names)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def _declared(module: ModuleType) -> tuple[str, str | None]:
    change = getattr(module, "schema_change", CONTRACT)
    if change not in (EXPAND, CONTRACT):
        raise ValueError(f"{module.__name__}: schema_change must be 'expand' or 'contract'")
    return change, getattr(module, "compatible_with", None)


def oldest_compatible(revision: str, scripts: ScriptDirectory | None = None) -> str:
    """The oldest revision whose release keeps working on the schema at ``revision``."""
    scripts = scripts if scripts is not None else _scripts()
    newest_first = list(scripts.iterate_revisions(revision, "base"))
    chain = [script.revision for script in reversed(newest_first)]
    floor = chain[0]
    for position, script in enumerate(reversed(newest_first)):
        name = script.revision
        change, compatible_with = _declared(script.module)
        if change == EXPAND and position > 0:
            continue  # whatever worked before keeps working
        wanted = compatible_with or name
        if wanted not in chain[: position + 1]:
            raise ValueError(f"{name}: compatible_with {wanted!r} is not this revision or before")
        # A contract cannot bring back a release an earlier contract left behind.
        floor = max(floor, wanted, key=chain.index)
    return floor


def _record_compatibility(connection: sa.Connection) -> None:
    _compatibility.create(connection, checkfirst=True)
    connection.execute(_compatibility.delete())
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None:
        connection.execute(
            _compatibility.insert().values(
                revision=revision, oldest_compatible=oldest_compatible(revision)
            )
        )


@dataclass(frozen=True)
class Compatibility:
    """Where a database stands for this raidline (see the module's docstring)."""

    #: the database's revision; None when it was never migrated
    revision: str | None
    #: this raidline's head revision
    head: str
    #: whether this raidline knows ``revision`` (it is the head or before it)
    known: bool
    #: the oldest revision whose release works on the database, as its migrations recorded
    oldest_compatible: str | None

    @property
    def newer(self) -> bool:
        """A newer raidline migrated the database."""
        return self.revision is not None and not self.known

    @property
    def works_here(self) -> bool:
        """This raidline can run on the database as it is (its head, or a newer expand)."""
        if self.revision == self.head:
            return True
        known = self.oldest_compatible is not None and _is_known(self.oldest_compatible)
        return self.newer and known


def _is_known(revision: str) -> bool:
    return revision in known_revisions()[1]


def _read_compatibility(connection: sa.Connection) -> Compatibility:
    revision: str | None = MigrationContext.configure(connection).get_current_revision()
    head, known = known_revisions()
    recorded = None
    if revision is not None and sa.inspect(connection).has_table(COMPATIBILITY_TABLE):
        row = connection.execute(
            sa.select(_compatibility.c.oldest_compatible).where(
                _compatibility.c.revision == revision
            )
        ).first()
        recorded = row[0] if row is not None else None
    return Compatibility(revision, head or "", revision is None or revision in known, recorded)


def compatibility(url: str) -> Compatibility:
    """The database's revision and whether this raidline can run on it, without migrating."""
    with _transaction(url) as connection:
        return _read_compatibility(connection)


class NewerDatabase(Exception):
    """:func:`upgrade` found a database a newer raidline migrated; nothing was changed."""

    def __init__(self, state: Compatibility) -> None:
        super().__init__(f"the database is at {state.revision}, newer than {state.head}")
        self.state = state


def _config(connection: sa.Connection) -> Config:
    config = Config()
    # ConfigParser interpolation would read a "%" in the install path as a placeholder.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; a no-op when the database is already there.

    Raises :class:`NewerDatabase` (and changes nothing) when a newer raidline migrated the
    database past this one's head; its ``state`` says whether this raidline works on it.
    """
    with _ALEMBIC_LOCK, _transaction(url) as connection:
        state = _read_compatibility(connection)
        if state.newer:
            raise NewerDatabase(state)
        command.upgrade(_config(connection), revision)
        _record_compatibility(connection)


def downgrade(url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision`` (``base``: drop every raidline table)."""
    with _ALEMBIC_LOCK, _transaction(url) as connection:
        command.downgrade(_config(connection), revision)
        _record_compatibility(connection)


def current(url: str) -> str | None:
    """The database's current revision, or None when it has never been migrated."""
    with _transaction(url) as connection:
        revision: str | None = MigrationContext.configure(connection).get_current_revision()
        return revision


def pending_diff(url: str) -> list[Any]:
    """What autogenerate would change to make the database match ``storage.tables``.

    Empty when the schema is up to date; otherwise Alembic's diff tuples, e.g.
    ``("add_table", Table(...))`` — a migration is missing.
    """
    with _transaction(url) as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        diff: list[Any] = compare_metadata(context, metadata)
        return diff


def known_revisions() -> tuple[str | None, set[str]]:
    """This raidline's head revision and every revision it knows."""
    script = _scripts()
    return script.get_current_head(), {rev.revision for rev in script.walk_revisions()}


async def upgrade_async(url: str, revision: str = "head") -> None:
    """:func:`upgrade` without blocking the event loop, for start-up."""
    await asyncio.to_thread(upgrade, url, revision)
