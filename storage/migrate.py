"""Schema migrations (Alembic), configured in code: ``upgrade(url)`` is all start-up needs.

These functions are synchronous (Alembic is); ``upgrade_async`` runs ``upgrade`` in a thread.
URLs are user-style database URLs, as accepted by :func:`storage.db.normalize_url`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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

__all__ = ["current", "downgrade", "known_revisions", "pending_diff", "upgrade", "upgrade_async"]

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


def _config(connection: sa.Connection) -> Config:
    config = Config()
    # ConfigParser interpolation would read a "%" in the install path as a placeholder.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; a no-op when the database is already there."""
    with _ALEMBIC_LOCK, _transaction(url) as connection:
        command.upgrade(_config(connection), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision`` (``base``: drop every raidline table)."""
    with _ALEMBIC_LOCK, _transaction(url) as connection:
        command.downgrade(_config(connection), revision)


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
            connection, opts={"compare_type": True, "include_name": is_raidline_table}
        )
        diff: list[Any] = compare_metadata(context, metadata)
        return diff


def known_revisions() -> tuple[str | None, set[str]]:
    """This raidline's head revision and every revision it knows."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return script.get_current_head(), {rev.revision for rev in script.walk_revisions()}


async def upgrade_async(url: str, revision: str = "head") -> None:
    """:func:`upgrade` without blocking the event loop, for start-up."""
    await asyncio.to_thread(upgrade, url, revision)
