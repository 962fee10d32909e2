"""PostgreSQL's statement, lock and idle-in-transaction limits: a request that meets one is
answered "busy, please try again", nothing of it is saved, and the limits are settings."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from adapters.runtime.config import load_settings
from adapters.runtime.database import open_engine
from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from bot.errors import Unavailable
from bot.messages import Request, Tone
from storage.db import BUSY, Timeouts, create_engine, sync_url, translate_errors
from storage.migrate import upgrade
from storage.uow import make_uow_factory

CHANNEL = ChannelKey("slack", "T0001", "C0001")


def say(line: str, user: str = "ana") -> Request:
    command, _, rest = line.lstrip("/").partition(" ")
    return Request(CHANNEL, user, command=command, text=rest)


@pytest.mark.postgres
async def test_a_lock_held_too_long_is_answered_busy_postgres(postgres_url: str) -> None:
    upgrade(postgres_url)
    engine = create_engine(postgres_url, timeouts=Timeouts(lock=0.5))
    other = sa.create_engine(sync_url(postgres_url), poolclass=NullPool)
    try:
        core = Core(make_uow_factory(engine))
        created = await core.handle(say("/blocker Pager rota has a gap"))
        assert created.tone is not Tone.ERROR, created.text
        with other.begin() as holder:  # another session holds the item, e.g. a stuck migration
            holder.execute(text("SELECT id FROM items FOR UPDATE"))
            started = time.perf_counter()
            async with asyncio.timeout(10):
                reply = await core.handle(say("/raid assign B-1 @raj"))
            elapsed = time.perf_counter() - started
        assert (reply.text, reply.tone) == (BUSY, Tone.ERROR)
        assert elapsed < 3
        shown = await core.handle(say("/raid show B-1"))
        assert "raj" not in shown.text  # nothing of the request was saved
        again = await core.handle(say("/raid assign B-1 @raj"))  # and trying again works
        assert again.tone is not Tone.ERROR, again.text
    finally:
        other.dispose()
        await engine.dispose()


@pytest.mark.postgres
async def test_a_statement_that_runs_too_long_is_busy_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url, timeouts=Timeouts(statement=0.2))

    @translate_errors
    async def slow_query() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(3)"))

    try:
        started = time.perf_counter()
        with pytest.raises(Unavailable) as raised:
            await slow_query()
        assert raised.value.message == BUSY
        assert time.perf_counter() - started < 2
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_transaction_left_idle_too_long_is_ended_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url, timeouts=Timeouts(idle_in_transaction=0.3))

    @translate_errors
    async def idle_in_transaction() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await asyncio.sleep(1)  # e.g. a handler awaiting a slow platform call
            await connection.execute(text("SELECT 1"))

    try:
        with pytest.raises(Unavailable):
            await idle_in_transaction()
        async with engine.connect() as connection:  # the pool hands out a live one again
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_the_limits_are_settings_on_every_connection_postgres(postgres_url: str) -> None:
    upgrade(postgres_url)
    settings = load_settings(
        {
            "DATABASE_URL": postgres_url,
            "RAIDLINE_PG_STATEMENT_TIMEOUT": "7",
            "RAIDLINE_PG_LOCK_TIMEOUT": "2.5",
            "RAIDLINE_PG_IDLE_IN_TRANSACTION_TIMEOUT": "0",
        }
    )
    engine = await open_engine(settings)
    try:
        for _ in range(2):  # a rolled-back transaction does not undo them on a pooled connection
            async with engine.connect() as connection:
                shown = [
                    (await connection.execute(text(f"SHOW {name}"))).scalar_one()
                    for name in (
                        "statement_timeout",
                        "lock_timeout",
                        "idle_in_transaction_session_timeout",
                    )
                ]
                await connection.rollback()
            assert shown == ["7s", "2500ms", "0"]
    finally:
        await engine.dispose()


def test_the_limits_have_defaults() -> None:
    settings = load_settings({})
    found = (
        settings.raidline_pg_statement_timeout,
        settings.raidline_pg_lock_timeout,
        settings.raidline_pg_idle_in_transaction_timeout,
    )
    assert found == (15.0, 5.0, 60.0)
    assert Timeouts().settings() == {
        "statement_timeout": 15_000,
        "lock_timeout": 5_000,
        "idle_in_transaction_session_timeout": 60_000,
    }
