"""RAIDLINE_SQLITE_SYNCHRONOUS: the level the operator chose is the one every SQLite
connection of ``raidline run`` uses (read back with ``PRAGMA synchronous``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.runtime.config import load_settings
from adapters.runtime.database import open_engine
from storage.db import create_engine

#: SQLite's numbers for the levels (https://sqlite.org/pragma.html#pragma_synchronous)
LEVELS = {"NORMAL": 1, "FULL": 2, "EXTRA": 3}


async def read_synchronous(engine: AsyncEngine) -> object:
    async with engine.connect() as connection:
        return (await connection.exec_driver_sql("PRAGMA synchronous")).scalar()


@pytest.mark.parametrize(
    ("value", "level"),
    [(None, "FULL"), ("", "FULL"), ("NORMAL", "NORMAL"), ("full", "FULL"), (" extra ", "EXTRA")],
    ids=["unset", "empty", "NORMAL", "full", "extra"],
)
async def test_the_chosen_level_reaches_every_connection(
    tmp_path: Path, value: str | None, level: str
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'raidline.db'}"}
    if value is not None:
        env["RAIDLINE_SQLITE_SYNCHRONOUS"] = value
    settings = load_settings(env)
    assert settings.sqlite_synchronous == level
    engine = await open_engine(settings)
    try:
        # Two connections at once: each one of the pool gets the pragma, not only the first.
        async with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                found = (await connection.exec_driver_sql("PRAGMA synchronous")).scalar()
                await connection.rollback()  # BEGIN IMMEDIATE: let the other one in
                assert found == LEVELS[level]
    finally:
        await engine.dispose()


async def test_storage_defaults_to_full_and_refuses_other_levels(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'raidline.db'}")
    try:
        assert await read_synchronous(engine) == LEVELS["FULL"]
    finally:
        await engine.dispose()
    for bad in ("OFF", "0", "NORMAL; DROP TABLE items"):
        with pytest.raises(ValueError, match="not a SQLite synchronous level"):
            create_engine(f"sqlite:///{tmp_path / 'raidline.db'}", sqlite_synchronous=bad)
