"""SQLite units of work run their statements on the event loop's thread (storage.sessions):
a write lock held by another process is waited for on the database thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.domain.model import Kind
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.integration.conftest import CHANNEL, make_item


async def test_a_lock_held_by_another_process_is_waited_for_off_the_event_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "writer.db"
    upgrade(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)  # as `raidline migrate` would
    try:
        factory = make_uow_factory(engine)
        async with factory() as uow:  # the file in WAL mode, a connection in the pool
            assert await uow.items.list(CHANNEL) == []
        other.execute("BEGIN IMMEDIATE")
        started = asyncio.Event()

        async def log_one() -> None:
            async with factory() as uow:
                started.set()
                await uow.items.add(make_item(Kind.RISK))
                await uow.commit()

        writer = asyncio.create_task(log_one())
        await started.wait()
        for _ in range(20):  # the loop keeps turning while the writer waits for the lock
            await asyncio.sleep(0)
        assert not writer.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 30)
        async with factory() as uow:
            assert [str(item.ref) for item in await uow.items.list(CHANNEL)] == ["R-1"]
    finally:
        other.close()
        await engine.dispose()


async def test_an_item_and_its_first_event_are_stored_together_or_not_at_all(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'writer.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        factory = make_uow_factory(engine)
        async with factory() as uow:
            await uow.items.allocate_number(CHANNEL, Kind.BLOCKER)
            await uow.items.add(make_item(Kind.BLOCKER))
            # left without commit: rolled back, number and all
        async with factory() as uow:
            assert await uow.items.list(CHANNEL) == []
            assert await uow.items.allocate_number(CHANNEL, Kind.BLOCKER) == 1
    finally:
        await engine.dispose()
