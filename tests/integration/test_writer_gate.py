"""SQLite units of work queue in this process in arrival order (storage.uow.WriterGate)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.errors import Unavailable
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import PG_UNITS_AT_ONCE, make_uow_factory
from tests.integration.conftest import CHANNEL, make_item


@pytest.fixture
async def sqlite_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    upgrade(url)
    engine = create_engine(url)
    yield make_uow_factory(engine)
    await engine.dispose()


async def test_units_of_work_are_served_in_the_order_they_asked(sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    first_inside, finish_first = asyncio.Event(), asyncio.Event()
    served: list[int] = []

    async def unit(n: int) -> None:
        async with sqlite_factory() as uow:
            await uow.items.add(make_item(number=n + 1))  # holds SQLite's write lock
            served.append(n)
            if n == 0:
                first_inside.set()
                await finish_first.wait()
            await uow.commit()

    tasks = [asyncio.create_task(unit(0))]
    await first_inside.wait()
    for n in range(1, 6):  # they arrive while the first holds the database
        tasks.append(asyncio.create_task(unit(n)))
        await asyncio.sleep(0.01)
    finish_first.set()
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2, 3, 4, 5]
    async with sqlite_factory() as uow:
        assert len(await uow.items.list(CHANNEL)) == 6


async def test_a_unit_opened_inside_another_does_not_wait_for_itself(sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    async with sqlite_factory() as outer:
        async with asyncio.timeout(5), sqlite_factory() as inner:
            assert await inner.items.list(CHANNEL) == []
        assert await outer.items.list(CHANNEL) == []


async def test_waiting_longer_than_the_busy_timeout_is_unavailable(sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with sqlite_factory():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    waiting = sqlite_factory()
    waiting._gate.timeout = 0.05  # type: ignore[union-attr]  # the same gate, a short wait
    with pytest.raises(Unavailable):
        async with waiting:
            pass
    release.set()
    await holder
    async with sqlite_factory() as uow:  # the gate was not left taken
        assert await uow.items.list(CHANNEL) == []


@pytest.mark.postgres
async def test_postgres_runs_ten_units_of_work_at_once_and_queues_the_rest(
    postgres_url: str,
) -> None:
    """More would only queue inside the server, on the rows they share."""
    upgrade(postgres_url)
    engine = create_engine(postgres_url)
    factory = make_uow_factory(engine)
    inside = most = 0

    async def unit(n: int) -> None:
        nonlocal inside, most
        async with factory() as uow:
            inside += 1
            most = max(most, inside)
            await uow.items.add(make_item(number=n + 1))
            await asyncio.sleep(0.01)
            inside -= 1
            await uow.commit()

    try:
        await asyncio.gather(*(unit(n) for n in range(40)))
        assert most == PG_UNITS_AT_ONCE
        async with factory() as uow:
            assert len(await uow.items.list(CHANNEL)) == 40
    finally:
        await engine.dispose()
