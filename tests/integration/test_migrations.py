"""Alembic migrations on SQLite and PostgreSQL: up, down, up again, and no drift."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from adapters.platform import EXIT_CONFIG, StartupError
from adapters.runtime.config import load_settings
from adapters.runtime.database import database_display, migrate_database, open_engine
from storage.db import sync_url
from storage.migrate import (
    MIGRATIONS_DIR,
    Compatibility,
    NewerDatabase,
    compatibility,
    current,
    downgrade,
    oldest_compatible,
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
    "calendar_tokens",
    "lessons",
}
HEAD = "0013"
#: Kept by storage.migrate next to alembic_version: which releases work on the schema.
BOOKKEEPING = {"alembic_version", "schema_compatibility"}


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
    assert table_names(db_url) == RAIDLINE_TABLES | BOOKKEEPING
    assert pending_diff(db_url) == []

    downgrade(db_url)
    assert current(db_url) is None
    assert table_names(db_url) == BOOKKEEPING

    upgrade(db_url)
    assert current(db_url) == HEAD
    assert table_names(db_url) == RAIDLINE_TABLES | BOOKKEEPING
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


# --- rolling upgrades: expand/contract ---------------------------------------------------

#: What each migration declares, and so which releases keep working after it.
OLDEST_COMPATIBLE = {
    "0001": "0001",
    "0002": "0001",
    "0003": "0003",
    "0004": "0003",
    "0005": "0003",
    "0006": "0003",
    "0007": "0003",
    "0008": "0003",
    "0009": "0003",
    "0010": "0003",
    "0011": "0003",
    "0012": "0003",
    "0013": "0003",
}


def test_every_migration_says_whether_the_release_before_keeps_working() -> None:
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    for script in scripts.walk_revisions():
        assert getattr(script.module, "schema_change", None) in ("expand", "contract"), (
            f"{script.path}: declare schema_change = 'expand' or 'contract' (storage/migrate.py)"
        )
    found = {s.revision: oldest_compatible(s.revision) for s in scripts.walk_revisions()}
    assert found == OLDEST_COMPATIBLE


def _write_chain(folder: Path, declarations: dict[str, str]) -> ScriptDirectory:
    """Migrations 0001, 0002, … declaring what ``declarations`` says (module attribute lines)."""
    versions = folder / "versions"
    versions.mkdir(parents=True)
    (folder / "script.py.mako").write_text("")
    down = None
    for revision, declared in declarations.items():
        (versions / f"{revision}_m.py").write_text(
            f"revision = {revision!r}\ndown_revision = {down!r}\n{declared}\n"
            "def upgrade(): pass\ndef downgrade(): pass\n"
        )
        down = revision
    return ScriptDirectory(str(folder))


def test_oldest_compatible_follows_expand_and_contract(tmp_path: Path) -> None:
    scripts = _write_chain(
        tmp_path,
        {
            "0001": "schema_change = 'contract'",
            "0002": "schema_change = 'expand'",  # a nullable column, written from now on
            "0003": "schema_change = 'expand'",  # a new table
            "0004": "schema_change = 'contract'\ncompatible_with = '0003'",  # NOT NULL, later
            "0005": "",  # says nothing: counts as a contract nothing older survives
            "0006": "schema_change = 'contract'\ncompatible_with = '0001'",  # cannot reach back
        },
    )
    found = {r: oldest_compatible(r, scripts) for r in ("0001", "0002", "0003", "0004")}
    assert found == {"0001": "0001", "0002": "0001", "0003": "0001", "0004": "0003"}
    assert oldest_compatible("0005", scripts) == "0005"
    assert oldest_compatible("0006", scripts) == "0005"


def test_the_database_records_which_releases_work_on_it(db_url: str) -> None:
    upgrade(db_url, "0002")
    assert compatibility(db_url) == Compatibility("0002", HEAD, True, "0001")
    upgrade(db_url)
    assert compatibility(db_url) == Compatibility(HEAD, HEAD, True, OLDEST_COMPATIBLE[HEAD])
    assert compatibility(db_url).works_here
    downgrade(db_url, "0003")
    assert compatibility(db_url) == Compatibility("0003", HEAD, True, "0003")
    assert not compatibility(db_url).works_here  # behind: it needs migrating


def pretend_a_newer_release_migrated(url: str, revision: str, oldest: str) -> None:
    """What a newer release's ``raidline migrate`` leaves: its revision and who still works."""
    engine = sa.create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
            )
            connection.execute(
                sa.text("UPDATE schema_compatibility SET revision = :r, oldest_compatible = :o"),
                {"r": revision, "o": oldest},
            )
    finally:
        engine.dispose()


def test_upgrade_leaves_a_newer_database_alone(migrated_url: str) -> None:
    pretend_a_newer_release_migrated(migrated_url, "0099", HEAD)
    with pytest.raises(NewerDatabase) as raised:
        upgrade(migrated_url)
    assert raised.value.state == Compatibility("0099", HEAD, False, HEAD)
    assert current(migrated_url) == "0099"


@pytest.mark.parametrize(
    ("oldest", "starts"),
    [
        pytest.param(HEAD, True, id="expand-only"),
        pytest.param("0003", True, id="expand-only-since-0003"),
        pytest.param("0099", False, id="contract"),
        pytest.param("0098", False, id="contract-one-release-later"),
    ],
)
async def test_an_older_replica_runs_on_expand_and_refuses_a_contract(
    migrated_url: str, oldest: str, starts: bool, caplog: pytest.LogCaptureFixture
) -> None:
    pretend_a_newer_release_migrated(migrated_url, "0099", oldest)
    settings = load_settings({"DATABASE_URL": migrated_url})
    shown = database_display(settings)
    if starts:
        engine = await open_engine(settings)
        await engine.dispose()
        assert f"database revision 0099 is newer than this raidline's {HEAD}" in caplog.text
        assert await migrate_database(settings) == "0099"  # `raidline migrate`: nothing to do
    else:
        expected = (
            f"the database at {shown} is at revision 0099, which a newer raidline migrated to "
            f"and this one (revision {HEAD}) cannot run on (it needs {oldest} or later); "
            "upgrade this replica to the newer release."
        )
        for attempt in (open_engine(settings), migrate_database(settings)):
            with pytest.raises(StartupError) as raised:
                await attempt
            assert (raised.value.message, raised.value.status) == (expected, EXIT_CONFIG)
    assert current(migrated_url) == "0099"  # never migrated by the older replica
