"""SQLite units of work run their statements on the event loop's thread (storage.sessions):
a write lock held by another process is waited for on the database thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.model import Change, ChannelSettings, Event, Item, Kind
from storage.db import create_engine
from storage.migrate import upgrade
from storage.sessions import sqlite_writer_for
from storage.uow import make_uow_factory
from tests.integration.conftest import BERLIN, CHANNEL, T0, full_item, make_item


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


# The hot statements (storage.sessions.hot) run straight on the sqlite3 cursor. What they
# store and read must be what SQLAlchemy's own execution stores and reads: a statement event
# listener sends every statement SQLAlchemy's way, which gives the reference to compare with.


def _statements_the_usual_way(engine: AsyncEngine) -> Callable[[], None]:
    writer = sqlite_writer_for(engine).engine

    def seen(*_: object) -> None:
        return None

    sa.event.listen(writer, "before_cursor_execute", seen)
    return lambda: sa.event.remove(writer, "before_cursor_execute", seen)


def _stored_rows(path: Path, table: str) -> list[dict[str, object]]:
    """The rows as SQLite holds them, without what each write gives differently (ids and
    the item's number)."""
    connection = sqlite3.connect(path)
    try:
        cursor = connection.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
        names = [d[0] for d in cursor.description]
        return [
            {n: v for n, v in zip(names, row, strict=True) if n not in ("id", "item_id", "number")}
            for row in cursor.fetchall()
        ]
    finally:
        connection.close()


SETTINGS = ChannelSettings(
    channel=CHANNEL,
    timezone="Europe/Berlin",
    leads=("U_LEAD", "U_PM"),
    nudges_enabled=False,
    work_days=("mon", "tue", "wed"),
    work_start="08:30",
    work_end="16:45",
    last_digest_at=datetime(2026, 12, 4, 9, 0, 0, 654321, tzinfo=BERLIN),
    holidays="DE-BY",
    days_off=("2026-12-24", "2026-12-31"),
    stakeholders={"U_CFO": ("weekly", "decisions")},
    escalate_after_days=5,
    link_patterns={"JIRA": "https://acme.atlassian.net/browse/{}"},
    closing_since=datetime(2026, 12, 3, 23, 59, 59, 1, tzinfo=BERLIN),
)


@pytest.mark.parametrize("kind", list(Kind))
async def test_hot_statements_store_and_read_what_sqlalchemy_would(
    tmp_path: Path, kind: Kind
) -> None:
    path = tmp_path / "hot.db"
    upgrade(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        factory = make_uow_factory(engine)
        created = Event(
            at=T0,
            actor="U_REPORTER",
            action="created",
            changes=(Change("status", None, "open"), Change("title", None, "ünïcode ✓")),
            note="first — note",
        )
        read: list[tuple[Item, ChannelSettings]] = []
        for usual in (False, True):
            restore = _statements_the_usual_way(engine) if usual else None
            try:
                async with factory() as uow:
                    await uow.channels.save_settings(SETTINGS)
                    stored = await uow.items.create(full_item(kind, number=0), created)
                    await uow.commit()
                async with factory() as uow:
                    settings = await uow.channels.get_settings(CHANNEL)
                    item = await uow.items.get(CHANNEL, kind, stored.number)
                    assert item is not None
                    await uow.commit()
                read.append((replace(item, id=None, number=0), settings))
            finally:
                if restore is not None:
                    restore()
        hot, usual_way = read
        assert hot == usual_way
        assert hot[1] == SETTINGS
        hot_row, usual_row = _stored_rows(path, "items")
        assert hot_row == usual_row
        hot_event, usual_event = _stored_rows(path, "item_events")
        assert hot_event == usual_event
        prepared = sqlite_writer_for(engine).prepared.values()
        assert sum(p is not None for _, p in prepared) >= 4  # settings, counter, item, event
    finally:
        await engine.dispose()


@pytest.mark.parametrize("usual", [False, True], ids=["hot", "usual way"])
async def test_a_hot_statement_fails_as_sqlalchemy_would(tmp_path: Path, usual: bool) -> None:
    path = tmp_path / "hot.db"
    upgrade(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    restore = _statements_the_usual_way(engine) if usual else None
    try:
        factory = make_uow_factory(engine)
        async with factory() as uow:
            await uow.items.add(make_item(Kind.RISK, 7))
            await uow.commit()
        with pytest.raises(sa.exc.IntegrityError, match="UNIQUE constraint failed"):
            async with factory() as uow:
                await uow.items.add(make_item(Kind.RISK, 7, title="the same ref again"))
        async with factory() as uow:
            titles = [i.title for i in await uow.items.list(CHANNEL)]
            assert titles == [make_item(Kind.RISK, 7).title]
    finally:
        if restore is not None:
            restore()
        await engine.dispose()
