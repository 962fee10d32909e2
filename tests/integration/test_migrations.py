"""Alembic migrations on SQLite and PostgreSQL: up, down, up again, and no drift."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from storage.db import sync_url
from storage.migrate import (
    MIGRATIONS_DIR,
    current,
    downgrade,
    pending_diff,
    upgrade,
    upgrade_async,
)
from storage.tables import metadata

ROOT = Path(__file__).resolve().parents[2]
RAIDLINE_TABLES = {
    "channels",
    "ref_counters",
    "items",
    "item_events",
    "schedules",
    "runs",
    "standups",
    "standup_answers",
    "raidline_secrets",
    "seen_requests",
}
HEAD = "0005"


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(sync_url(url), poolclass=NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_there_is_one_head_and_the_models_cover_it() -> None:
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    assert scripts.get_heads() == [HEAD]
    assert set(metadata.tables) == RAIDLINE_TABLES


def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    assert current(db_url) is None

    upgrade(db_url)
    assert current(db_url) == HEAD
    assert table_names(db_url) == RAIDLINE_TABLES | {"alembic_version"}
    assert pending_diff(db_url) == []

    downgrade(db_url)
    assert current(db_url) is None
    assert table_names(db_url) == {"alembic_version"}

    upgrade(db_url)
    assert current(db_url) == HEAD
    assert table_names(db_url) == RAIDLINE_TABLES | {"alembic_version"}
    assert pending_diff(db_url) == []


def test_pending_diff_sees_a_missing_schema(db_url: str) -> None:
    diff = pending_diff(db_url)
    added = {entry[1].name for entry in diff if entry[0] == "add_table"}
    assert added == RAIDLINE_TABLES


def test_pending_diff_sees_a_schema_that_drifted(db_url: str) -> None:
    upgrade(db_url)
    engine = sa.create_engine(sync_url(db_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP INDEX ix_items_channel_id_status"))
            connection.execute(sa.text("ALTER TABLE channels ADD COLUMN stray INTEGER"))
    finally:
        engine.dispose()
    diff = pending_diff(db_url)
    kinds = sorted(entry[0] for entry in diff)
    assert kinds == ["add_index", "remove_column"]


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current(db_url) == HEAD
    assert pending_diff(db_url) == []


def test_replicas_starting_together_migrate_one_after_the_other(db_url: str) -> None:
    # Separate processes, like replicas: each has its own Alembic and must wait for the
    # database-level lock (advisory lock / BEGIN IMMEDIATE) instead of racing CREATE TABLE.
    code = "import os; from storage.migrate import upgrade; upgrade(os.environ['MIGRATE_URL'])"
    env = {**os.environ, "MIGRATE_URL": db_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    try:
        for process in processes:
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, stderr
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert current(db_url) == HEAD
    assert pending_diff(db_url) == []


async def test_upgrade_async_from_several_tasks(db_url: str) -> None:
    await asyncio.gather(*(upgrade_async(db_url) for _ in range(3)))
    assert current(db_url) == HEAD
    assert pending_diff(db_url) == []


def test_tables_of_slack_sdk_stores_are_left_alone(migrated_url: str) -> None:
    """slack_sdk's installation store keeps its tables in the same database."""
    import sqlalchemy as sa

    from storage.db import sync_url
    from storage.migrate import pending_diff

    engine = sa.create_engine(sync_url(migrated_url))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE slack_installations (id INTEGER PRIMARY KEY)")
    engine.dispose()
    assert pending_diff(migrated_url) == []
