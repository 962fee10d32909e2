"""Alembic environment for raidline; driven by ``storage.migrate`` (no alembic.ini needed).

``storage.migrate`` hands over an open connection in ``config.attributes["connection"]``;
a plain ``sqlalchemy.url`` main option (a user-style URL) works too.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from storage.db import install_sqlite_transaction_control, is_sqlite, sync_url
from storage.migrate import include_name
from storage.tables import metadata

config = context.config

# Batch mode lets SQLite, which cannot ALTER most things, copy-and-move tables instead;
# compare_type makes autogenerate notice changed column types.
OPTIONS: dict[str, Any] = {
    "target_metadata": metadata,
    "render_as_batch": True,
    "compare_type": True,
    "include_name": include_name,
}


def run_migrations_offline() -> None:
    context.configure(
        url=sync_url(config.get_main_option("sqlalchemy.url") or ""),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    engine = create_engine(
        sync_url(config.get_main_option("sqlalchemy.url") or ""), poolclass=NullPool
    )
    if is_sqlite(engine):
        install_sqlite_transaction_control(engine, foreign_keys=False)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
