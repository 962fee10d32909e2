"""The SQLite database and its WAL files are readable by raidline's own user only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.domain.model import ChannelKey
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def database_files(folder: Path) -> list[Path]:
    """The database file and its ``-wal``/``-shm`` companions."""
    return sorted(folder.glob("raidline.db*"))


async def write_something(url: str) -> None:
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            await uow.channels.get_settings(ChannelKey("console", "local", "proj"))
            await uow.commit()
    finally:
        await engine.dispose()


async def test_a_new_database_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: files would be world-readable
    try:
        url = f"sqlite:///{tmp_path / 'raidline.db'}"
        upgrade(url)
        await write_something(url)
    finally:
        os.umask(old)
    files = database_files(tmp_path)
    assert tmp_path / "raidline.db" in files
    for path in files:
        assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"


async def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "raidline.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    for companion in database_files(tmp_path):
        companion.chmod(0o644)
    await write_something(url)
    for companion in database_files(tmp_path):
        assert mode(companion) == 0o600, f"{companion.name} is {oct(mode(companion))}"
